"""Reading the user's feed and merging downloaded data when it is safe (AS-18, AS-20 to AS-26).

Every poll interval of emulated time (30 s by default), with connectivity and in the foreground,
the device reads its feed after its cursor. New entries are staged durably together with the new
cursor; then a merge pass merges what :func:`plan_merge` allows and leaves the rest waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from autosync_wire import FeedEntryOut, FeedPageOut
from emulator.engine.events import EventKind, EventLog
from emulator.engine.localstore import LocalStore
from emulator.engine.merge import entry_ids, plan_merge
from emulator.errors import MalformedAnswer, read_answer

#: Feed entries asked for at a time.
PAGE = 100
#: Entries of a page staged in one local transaction (with the cursor), in one turn of the event
#: loop: a turn staging a whole page would freeze the window for tens of milliseconds.
STAGE_BATCH = 10
DEFAULT_PAGE_RECORDS = 1000
#: Staged entries read from the file at a time by a merge pass.
MERGE_BATCH = 50


@dataclass(frozen=True)
class _Safety:
    """What makes a merge unsafe right now (read once per pass, again after each loop turn)."""

    open_ids: set[str]
    pending: set[str]
    unanswered: set[str]
    errors: set[str]


def is_complete(entry: dict[str, Any]) -> bool:
    """AS-22: whether every record of a (possibly partly downloaded) entry has arrived."""
    return len(entry.get("records", [])) >= int(entry.get("total_records", 0))


class _User(Protocol):
    @property
    def user_id(self) -> str: ...


class PollingDevice(Protocol):
    """What the feed poller uses of its device (:class:`~emulator.engine.device.Device` is one)."""

    @property
    def id(self) -> str: ...
    @property
    def profile(self) -> _User: ...
    @property
    def store(self) -> LocalStore: ...
    @property
    def client(self) -> httpx.AsyncClient: ...
    @property
    def events(self) -> EventLog: ...
    def displayed_ids(self) -> set[str]: ...
    def now_iso(self) -> str: ...
    def say(
        self, kind: EventKind, text: str, record: tuple[str, str] | None = None, **data: object
    ) -> None: ...


class FeedPoller:
    def __init__(self, device: PollingDevice) -> None:
        self.device = device
        self.polling = False
        self.waiting_reasons: dict[int, str] = {}  # staged entry seq -> why it waits
        self._merging = False  # a pass that gives the loop turns is under way
        self._again = False  # someone asked for a pass meanwhile
        self._turned = False  # the loop ran other work since the pass's last entry

    def why_waiting(self, seq: int) -> str:
        """Why a staged entry has not merged yet, as the last merge pass found."""
        return self.waiting_reasons.get(seq, "waiting for the next merge")

    async def poll(self) -> int:
        """Read the feed now; returns how many entries were downloaded."""
        device = self.device
        if self.polling:
            return 0
        self.polling = True
        downloaded = 0
        try:
            store = device.store
            cursor = int(store.setting("feed_cursor", 0))
            skip = int(store.setting("feed_skip", 0))
            page_records = int(store.setting("feed_page_records", DEFAULT_PAGE_RECORDS))
            read: list[FeedEntryOut] = []
            while True:
                try:
                    response = await device.client.get(
                        f"/api/v1/feeds/{device.profile.user_id}",
                        params={
                            "after": cursor,
                            "skip": skip,
                            "limit": PAGE,
                            "max_records": page_records,
                        },
                    )
                    response.raise_for_status()
                    page = read_answer(FeedPageOut, response)
                except (httpx.HTTPError, MalformedAnswer) as exc:
                    device.say(EventKind.POLLED, f"Could not read the feed: {_why(exc)}.", ok=False)
                    for part in read:  # pages read before the failure are staged: told too
                        self._downloaded(part)
                    return downloaded
                if page.missed and not device.store.setting("feed_missed", False):
                    self._missed(page)
                entries = page.entries
                cut_short = False
                for start in range(0, len(entries), STAGE_BATCH):
                    if start:
                        await asyncio.sleep(0)  # a turn of the event loop between batches
                    with store.transaction():  # staged data and cursor move together
                        for part in entries[start : start + STAGE_BATCH]:
                            store.stage(part.seq, part.model_dump(mode="json"), device.now_iso())
                            received = part.first_record + len(part.records)
                            cut_short = received < part.total_records
                            cursor, skip = (cursor, received) if cut_short else (part.seq, 0)
                        store.set_setting("feed_cursor", cursor)
                        store.set_setting("feed_skip", skip)
                        store.set_setting("last_feed_read", page.server_time)
                read += entries
                downloaded += len(entries)
                if cut_short or len(entries) < PAGE:
                    break
                await asyncio.sleep(0)  # an in-process answer comes at once: let the window breathe
            device.say(
                EventKind.POLLED,
                f"Checked the feed: {_count(downloaded, 'new entry', 'new entries')}.",
                ok=True,
                entries=downloaded,
            )
            for part in read:  # told after the check that found them, in the order they came
                self._downloaded(part)
                await asyncio.sleep(0)
            await self.merge_in_turns()
            return downloaded
        finally:
            self.polling = False

    def _missed(self, page: FeedPageOut) -> None:
        """AS-18: entries expired before this device read them.

        The app shows nothing of it (only the Sync widget's last-sync date and the reminder to
        sync, AS-33); the emulator's X-ray view explains it from the ``feed_missed`` setting.
        """
        device = self.device
        device.store.set_setting("feed_missed", True)
        device.say(
            EventKind.FEED_MISSED,
            "Some changes from this user's other iPads expired from the feed before this iPad read "
            "them; only an incremental sync brings them now.",
            purged_through=page.purged_through,
        )

    def _downloaded(self, part: FeedEntryOut) -> None:
        device = self.device
        own = part.origin_device == device.id
        records = part.records
        first = (records[0].object, records[0].id) if records else None
        origin = device.events.name_of(f"device:{part.origin_device}")
        whose = "this iPad's own upload" if own else f"a change from {origin}"
        total = part.total_records
        got = part.first_record + len(records)
        of = "" if got == total and not part.first_record else f", {got} of {total} so far"
        device.say(
            EventKind.DOWNLOADED,
            f"Downloaded {_count(len(records), 'record', 'records')} ({whose}{of}).",
            first,
            seq=part.seq,
            transaction_id=part.transaction_id,
        )

    def merge_waiting(self) -> None:
        """Merge every staged entry that is safe to merge now, oldest first (all at once).

        While a pass that gives the loop turns is under way, it is asked to run once more instead.
        """
        if self._merging:
            self._again = True
            return
        for _ in self._merge_steps():
            pass

    async def merge_in_turns(self) -> None:
        """The same pass, giving the event loop a turn after each entry (a long feed read).

        After a turn, what is safe is read again (the user may have opened a record, saved, or
        synced meanwhile) and the staged entries are read again from the file.
        """
        if self._merging:
            self._again = True
            return
        self._merging = True
        try:
            again = True
            while again:
                self._again = False
                for _ in self._merge_steps():
                    await asyncio.sleep(0)
                    self._turned = True
                again = self._again
        finally:
            self._merging = False

    def _safety(self) -> _Safety:
        store = self.device.store
        return _Safety(
            open_ids=self.device.displayed_ids(),
            pending=store.queued_record_ids(),
            unanswered=store.queued_transactions(),
            errors={rid for e in store.errors() for rid in e.record_ids()},
        )

    def _merge_steps(self) -> Iterator[None]:
        """One merge pass, oldest entry first; yields after each entry."""
        store = self.device.store
        if not store.has_staged():
            return
        self._turned = False
        safety = self._safety()
        blocked: set[str] = set()  # records of entries that wait: later entries wait behind them
        after = -1
        while rows := store.staged_after(after, MERGE_BATCH):
            for row in rows:
                after = row.seq
                self._merge_one(row.seq, row.entry, safety, blocked)
                yield
                if self._turned:  # others ran: read what is safe and what is staged again
                    self._turned = False
                    safety = self._safety()
                    break

    def _merge_one(self, seq: int, entry: dict[str, Any], safety: _Safety, blocked: set[str]) -> None:
        device = self.device
        ids = entry_ids(entry)
        local_versions = {rid: (device.store.record(rid) or {}).get("_version") for rid in ids}
        plan = plan_merge(
            entry,
            complete=is_complete(entry),
            open_ids=safety.open_ids,
            blocked_ids=blocked,
            pending_ids=safety.pending,
            error_ids=safety.errors,
            local_versions=local_versions,
            unanswered_transactions=safety.unanswered,
        )
        if plan.wait is not None:
            blocked |= ids
            if self.waiting_reasons.get(seq) != plan.wait:
                self.waiting_reasons[seq] = plan.wait
                device.say(
                    EventKind.MERGE_DEFERRED,
                    f"Update waits: {plan.wait}.",
                    _first(entry),
                    seq=seq,
                    reason=plan.wait,
                )
            return
        with device.store.transaction():
            for object_name, fields in plan.merge:
                device.store.put(object_name, fields)
            for _object, rid in plan.delete:
                device.store.remove(rid)
            device.store.unstage(seq)
        self.waiting_reasons.pop(seq, None)
        for object_name, rid, why in plan.discard:
            device.say(
                EventKind.DOWNLOAD_DISCARDED,
                f"Downloaded version discarded: {why}.",
                (object_name, rid),
                seq=seq,
            )
        if plan.merge or plan.delete:
            device.say(
                EventKind.MERGED,
                f"Merged {_count(len(plan.merge) + len(plan.delete), 'record', 'records')} from the feed.",
                _first(entry),
                seq=seq,
                ids=[f["id"] for _, f in plan.merge],
            )


def _first(entry: dict[str, Any]) -> tuple[str, str] | None:
    records = entry.get("records", [])
    return (records[0]["object"], records[0]["id"]) if records else None


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _why(exc: httpx.HTTPError | MalformedAnswer) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "the request timed out"
    return str(exc) or type(exc).__name__
