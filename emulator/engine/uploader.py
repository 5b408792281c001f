"""Draining the upload queue: strict FIFO, idempotent, acknowledged only when applied.

AS-03: with connectivity and the app in the foreground an item is sent at once. AS-06: offline
or in the background it waits; when connectivity (or the foreground) returns the queue is sent
first-in first-out. A sync error does not block the items behind it; a transport failure
(timeout, 5xx, lost reply) keeps the item at the head and retries it with backoff, under the same
transaction ID, so the server never applies it twice. An item leaves the queue in the same local
transaction that applies the server's answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import datetime
from typing import Any, Protocol

import httpx

from autosync_wire import RecordOut, UploadResponse
from emulator.engine.backoff import retry_delay
from emulator.engine.clock import EmulatedClock, Timer
from emulator.engine.events import (
    ANSWER_KINDS,
    AnswerData,
    Event,
    EventKind,
    EventLog,
    RetryData,
    UploadData,
    answer_data,
)
from emulator.engine.localstore import LocalStore, Net, QueueItem, lay_net, rename_nets
from emulator.engine.network import NetworkConditions
from emulator.engine.timefmt import iso, parse_iso
from emulator.engine.upload_wait import UploadWait
from emulator.errors import MalformedAnswer, detail_of, read_answer

TRANSIENT_STATUS = frozenset({401, 408, 425, 429})
#: Events that tell an upload's answer; each carries the server's ``id_map``.
ANSWER_EVENTS = ANSWER_KINDS


class _User(Protocol):
    @property
    def user_id(self) -> str: ...


class _WaitingMerges(Protocol):
    def merge_waiting(self) -> None: ...


class UploadingDevice(Protocol):
    """What the upload loop uses of its device (:class:`~emulator.engine.device.Device` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def profile(self) -> _User: ...
    @property
    def store(self) -> LocalStore: ...
    @property
    def clock(self) -> EmulatedClock: ...
    @property
    def client(self) -> httpx.AsyncClient: ...
    @property
    def conditions(self) -> NetworkConditions: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def poller(self) -> _WaitingMerges: ...
    @property
    def autosync_active(self) -> bool: ...
    def upload_wait(self, item: QueueItem, *, manual: bool = False) -> UploadWait | None: ...
    def spawn(self, coro: Coroutine[object, None, object]) -> object: ...
    def now_iso(self) -> str: ...
    def say(
        self, kind: EventKind, text: str, record: tuple[str, str] | None = None, **data: object
    ) -> None: ...
    def alert(self, kind: str, text: str) -> object: ...
    def alert_sync_errors(self) -> None: ...


class Uploader:
    """The device's upload loop; at most one drain runs at a time."""

    def __init__(self, device: UploadingDevice) -> None:
        self.device = device
        # resolved when the running drain ends (None: none runs)
        self._running: asyncio.Future[None] | None = None
        self._retry_timer: Timer | None = None
        # Set when connectivity returns while an upload is on the wire (lie-fi then online): if
        # that upload then fails, it is sent again at once instead of after its backoff.
        self._network_returned = False

    def kick(self, *, now: bool = False) -> None:
        """Start draining if Autosync may upload now; ``now`` skips a pending backoff wait."""
        if self.device.autosync_active:
            self.device.spawn(self.drain(skip_backoff=now))

    def connectivity_returned(self) -> None:
        """AS-06: connectivity is back (offline or lie-fi to online): send the queue at once.

        A waiting head skips the rest of its backoff. An upload still on the wire (sent under
        lie-fi, waiting for its timeout) is sent again as soon as it fails.
        """
        self._network_returned = self.draining
        self.kick(now=True)

    def resume(self) -> None:
        """After the app (re)starts: send now, or re-arm the head's pending retry."""
        head = self.device.store.head()
        if head is not None and head.next_attempt_at:
            due = parse_iso(head.next_attempt_at)
            if due > self.device.clock.now():
                self._arm_retry(due)
                return
        self.kick()

    @property
    def draining(self) -> bool:
        """A drain is under way (an item may be on the wire)."""
        return self._running is not None

    async def idle(self) -> None:
        """Wait until no drain runs: an Autosync upload on the wire gets its answer first.

        It waits on the emulated clock's terms (see ``EmulatedClock.wait_on``), never on wall time.
        """
        while self._running is not None:
            await self.device.clock.wait_on(self._running)

    def _arm_retry(self, due: datetime) -> None:
        self.cancel_retry()
        self._retry_timer = self.device.clock.call_at(due, lambda: self.kick(now=True), "retry")

    def cancel_retry(self) -> None:
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None

    async def drain(
        self,
        *,
        manual: bool = False,
        skip_backoff: bool = False,
        on_sent: Callable[[int], Awaitable[None]] | None = None,
    ) -> bool:
        """Send queue items head first until the queue is empty or an item must wait.

        ``manual`` is an incremental sync's upload: it uploads even in traditional sync, and
        when Autosync is already draining it waits for that drain to end, then sends what is
        left (an Autosync drain started meanwhile returns at once: one runs at a time).
        ``on_sent(n)`` is awaited after each answered item (n items so far). Returns True when
        the queue ended empty.
        """
        device = self.device
        if manual:
            await self.idle()
        if self._running is not None:
            return False
        running = self._running = asyncio.get_running_loop().create_future()
        sent = 0
        try:
            while True:
                head = device.store.head()
                if head is None:
                    return True
                wait = device.upload_wait(head, manual=manual)
                if wait is not None and not _goes_anyway(wait, skip_backoff):
                    return False
                self.cancel_retry()
                self._network_returned = False
                if not await self._send(head):
                    if self._network_returned and device.conditions.mode == "online":
                        skip_backoff = True  # connectivity came back during the attempt
                        continue
                    return False
                sent += 1
                if on_sent is not None:
                    await on_sent(sent)
                await asyncio.sleep(0)  # the window stays alive while a long queue drains
        finally:
            self._running = None
            running.set_result(None)  # a manual drain waiting in idle() goes on

    async def _send(self, head: QueueItem) -> bool:
        """Upload one item and apply the answer; False if it must wait (transport failure)."""
        device = self.device
        device.store.update_queue_item(head.seq, state="uploading")
        root = head.items[0]
        device.say(
            EventKind.UPLOADING,
            f"Uploading: {head.label}.",
            (root["object"], root["id"]),
            **UploadData(transaction_id=head.transaction_id),
        )
        body = {"transaction_id": head.transaction_id, "device_id": device.id, "items": head.items}
        try:
            response = await device.client.post("/api/v1/transactions", json=body)
        except httpx.TransportError as exc:
            self._transport_failure(head, _describe(exc))
            return False
        if response.status_code >= 500 or response.status_code in TRANSIENT_STATUS:
            self._transport_failure(head, f"the server answered {response.status_code}")
            return False
        if response.status_code >= 400:
            self._refused(head, detail_of(response))
            return True
        try:
            answer = read_answer(UploadResponse, response)
        except MalformedAnswer as exc:  # like a lost reply: sent again, the server replays its answer
            self._transport_failure(head, str(exc))
            return False
        self._apply(head, answer)
        return True

    def _transport_failure(self, head: QueueItem, why: str) -> None:
        device = self.device
        attempts = head.attempts + 1
        delay = retry_delay(attempts)
        due: datetime = device.clock.now() + delay
        device.store.update_queue_item(
            head.seq, state="waiting", attempts=attempts, last_error=why, next_attempt_at=iso(due)
        )
        root = head.items[0]
        when = (
            "sent again now that the network is back"
            if self._network_returned and device.conditions.mode == "online"
            else f"retried in {int(delay.total_seconds())} s"
        )
        device.say(
            EventKind.RETRY_SCHEDULED,
            f"Upload of {head.label} failed ({why}); it stays first in the queue and is {when}.",
            (root["object"], root["id"]),
            **RetryData(attempts=attempts, transaction_id=head.transaction_id),
        )
        self._arm_retry(due)

    def _refused(self, head: QueueItem, detail: str) -> None:
        """A 4xx: the server will never take this item; it becomes a sync error."""
        device = self.device
        root = head.items[0]
        with device.store.transaction():
            device.store.dequeue(head.seq, head.items)
            device.store.add_error(
                transaction_id=head.transaction_id,
                created_at=device.now_iso(),
                kind="rejected",
                message=f"The server refused the upload: {detail}",
                object=root["object"],
                record_id=root["id"],
                rule=None,
                conflicts=[],
                items=head.items,
                label=head.label,
            )
        device.say(
            EventKind.REJECTED,
            f"{head.label} was refused by the server: {detail}",
            (root["object"], root["id"]),
            transaction_id=head.transaction_id,
        )
        device.alert_sync_errors()

    def _apply(self, head: QueueItem, answer: UploadResponse) -> None:
        """Apply the server's answer and remove the item, in one local transaction."""
        device = self.device
        store = device.store
        outcome = answer.outcome
        error = answer.error  # never None for a sync error (the wire model says so)
        root = head.items[0]
        record = (root["object"], root["id"])
        with store.transaction():
            nets = store.dequeue(head.seq, head.items)
            if error is not None and outcome == "sync_error":
                store.add_error(
                    transaction_id=head.transaction_id,
                    created_at=device.now_iso(),
                    kind=error.kind,
                    message=error.message,
                    object=error.object,
                    record_id=error.record_id,
                    rule=error.rule,
                    conflicts=[c.model_dump() for c in error.conflicts],
                    items=head.items,
                    label=head.label,
                )
            elif outcome == "discarded":
                self._forget_unsaved(head.items, keep_created=False)
            else:
                self._apply_records(answer.records, nets, head.items)
                if outcome == "duplicated":
                    self._forget_unsaved(head.items, keep_created=True)
        if error is not None and outcome == "sync_error":
            device.say(
                EventKind.REJECTED,
                f"Sync error: {error.message}",
                record,
                error=error.kind,
                transaction_id=head.transaction_id,
            )
            device.alert_sync_errors()
            device.poller.merge_waiting()
            return
        if outcome == "discarded":
            device.alert("discarded", answer.message)
        server_record = record
        if answer.id_map.get(root["id"]):
            server_record = (root["object"], answer.id_map[root["id"]])
        kind = {
            "saved": EventKind.UPLOADED,
            "duplicated": EventKind.DUPLICATED,
            "discarded": EventKind.DISCARDED_ONLINE,
        }[outcome]
        device.say(
            kind,
            answer.message,
            server_record,
            **AnswerData(
                transaction_id=head.transaction_id,
                replayed=answer.replayed,
                id_map=dict(answer.id_map),
            ),
        )
        if outcome != "discarded":
            user = device.profile.user_id
            device.events.emit(
                f"feed:{user}",
                EventKind.PUT_ON_FEED,
                f"Saved records put on {user}'s feed for their other devices.",
                server_record,
                transaction_id=head.transaction_id,
            )
        device.poller.merge_waiting()  # feed data that waited for this answer (see plan_merge)

    def _forget_unsaved(self, items: list[dict[str, Any]], *, keep_created: bool) -> None:
        """AS-11 / AS-12: the server did not take these edits; the family goes back to online.

        Records the device created are removed (unless they live on in a duplicate); the local
        copies of existing records forget their version, so that the online version the feed
        brings next (the submitted family) replaces them, edits and all.
        """
        store = self.device.store
        for item in items:
            if item["op"] == "create":
                if not keep_created:
                    store.remove(item["id"])
            else:
                store.mark_stale(item["id"])

    def _apply_records(
        self, records: list[RecordOut], nets: dict[str, Net], sent: list[dict[str, Any]]
    ) -> None:
        """AS-14: server IDs replace temporary ones; returned fields are applied.

        Later queued edits of the same records are laid over the answer (the user's newer
        values stay on screen, AS-07/AS-08): one row per record, the net of its queued edits
        (``nets`` holds those of the records the answered item edited, as the dequeue left
        them; others are read).
        """
        store = self.device.store
        for record in records:
            temp = record.temp_id
            if temp and temp.startswith("tmp-"):
                store.rename(temp, record.id)
                nets = rename_nets(nets, temp, record.id)
        answered = {r.id for r in records} | {r.temp_id for r in records if r.temp_id}
        missing = answered - nets.keys()
        if missing:
            nets = {**nets, **store.queued_nets(missing)}
        # The server returns a record it deleted, and a record saved earlier may have been
        # deleted here since: neither may come back to life (a save is written only if held).
        ops = {item["id"]: item["op"] for item in sent}
        for record in records:
            if ops.get(record.id) == "delete":
                continue
            # An AS-11 duplicate arrives under a new ID; the original it was sent as stays
            # here until the feed brings back its submitted version (its queued edits are laid
            # over the duplicate, as sent under the original's ID).
            own = nets.get(record.id, {})
            sent_as = nets.get(record.temp_id, {}) if record.temp_id else {}
            fields = lay_net(dict(record.fields), own, sent_as)
            if ops.get(record.id) == "update":
                store.put_if_here(fields)
            else:
                store.put(record.object, fields)


def _goes_anyway(wait: UploadWait, skip_backoff: bool) -> bool:
    """In flight: only the drain sends, so it is its own item; a backoff is skipped when told."""
    return wait.reason == "in_flight" or (wait.reason == "backoff" and skip_backoff)


def _describe(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer: the request timed out"
    return str(exc) or type(exc).__name__


def server_ids(events: Iterable[Event]) -> dict[str, str]:
    """Temporary ID -> server ID, from the upload answers among ``events`` (AS-14)."""
    found: dict[str, str] = {}
    for event in events:
        answer = answer_data(event)
        if answer is not None:
            found.update(answer["id_map"])
    return found
