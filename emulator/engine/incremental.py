"""Incremental sync and full database refresh, started by the user (AS-27, AS-34, AS-35, AS-37).

An incremental sync first uploads what is queued, then downloads everything new online: other
users' and online changes, territory alignments, metadata, content, data sets, the admin's sync
settings and client commands. It blocks the app while it runs and reports its progress (records
uploaded and downloaded) as ``sync_progress`` events; it takes emulated time that grows with the
records moved, so a trainer sees it run.

It also carries out what the user asked for on the Errors tab (AS-34): Undo refreshes the
error's tables from online; Undelete, like an admin's "force full refresh" (AS-37), turns the
sync into a full database refresh, which re-downloads all of the user's data. An admin's "clear
client sync errors" removes every error. Errors left over end the sync in the error state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import httpx
from pydantic import TypeAdapter

from autosync_wire import ClientCommandOut, FeedRecordOut, SyncPageOut, SyncResponse
from emulator.engine.clock import EmulatedClock
from emulator.engine.events import EventKind, SyncFailedData, SyncFailReason
from emulator.engine.localstore import LocalStore
from emulator.engine.network import NetworkConditions
from emulator.engine.sync_widget import SyncProgress
from emulator.errors import ActionRefused, MalformedAnswer, read_answer, read_answer_as

#: Records the progress count moves by at least (and the emulated time Refresh mode counts in).
CHUNK = 50
#: Records written (or removed) in one transaction between two turns of the event loop.
BATCH = 25
#: The most records asked for in one fetch of records the device lacks.
FETCH_PAGE = 200
#: Emulated time a sync spends before moving records (sign-in, metadata check).
HANDSHAKE = timedelta(seconds=2)
#: Emulated time per record moved (uploaded or downloaded).
PER_RECORD = timedelta(milliseconds=40)
#: What the app's "Sync Failed" alert tells the rep, for each reason a sync fails.
FAILURE_ALERTS: dict[SyncFailReason, str] = {
    "offline": "No network connection. Connect to the internet and try again.",
    "background": "Sync stopped because the app left the foreground. Open the app and sync again.",
    "upload": "Your changes could not be sent to the server. Check your connection and try again.",
    "no_answer": "The server did not answer. Check your connection and try again.",
    "server": "The server could not complete the sync. Try again later.",
}


class DownloadingDevice(Protocol):
    """What :func:`download` uses of a device."""

    @property
    def store(self) -> LocalStore: ...
    @property
    def client(self) -> httpx.AsyncClient: ...


class _Named(Protocol):
    @property
    def name(self) -> str: ...


class _Drains(Protocol):
    @property
    def draining(self) -> bool: ...
    def idle(self) -> Awaitable[None]: ...
    def drain(
        self, *, manual: bool = False, on_sent: Callable[[int], Awaitable[None]] | None = None
    ) -> Awaitable[bool]: ...


class _Refresh(Protocol):
    @property
    def applying(self) -> bool: ...
    def discard(self, why: str) -> None: ...


class _WaitingMerges(Protocol):
    def merge_waiting(self) -> None: ...


class SyncingDevice(DownloadingDevice, Protocol):
    """What an incremental sync uses of its device (:class:`~emulator.engine.device.Device` is one)."""

    @property
    def profile(self) -> _Named: ...
    @property
    def clock(self) -> EmulatedClock: ...
    @property
    def conditions(self) -> NetworkConditions: ...
    @property
    def foreground(self) -> bool: ...
    @property
    def edit(self) -> object:
        """The edit screen open, if any (None: none is)."""

    @property
    def uploader(self) -> _Drains: ...
    @property
    def refresh(self) -> _Refresh: ...
    @property
    def poller(self) -> _WaitingMerges: ...
    def forget_schema(self) -> None: ...
    def now_iso(self) -> str: ...
    def say(
        self, kind: EventKind, text: str, record: tuple[str, str] | None = None, **data: object
    ) -> None: ...
    def alert_sync_errors(self) -> None: ...
    def alert(self, kind: str, text: str) -> object: ...


@dataclass(frozen=True)
class SyncReport:
    ok: bool
    message: str
    updated: int = 0
    removed: int = 0
    full: bool = False
    errors: int = 0


#: The answer to a fetch of records by ID.
FETCHED = TypeAdapter(list[FeedRecordOut])
#: What goes wrong with a download: no answer, a refusal, or an answer that cannot be read.
DownloadError = (httpx.HTTPError, MalformedAnswer)


@dataclass
class Download:
    """One sync answer (all its pages in one) and the records fetched beside it, ready to apply."""

    answer: SyncResponse
    fetched: list[FeedRecordOut] = field(default_factory=list)

    @property
    def records(self) -> list[FeedRecordOut]:
        return list(self.answer.records) + self.fetched

    @property
    def full(self) -> bool:
        return self.answer.full


async def download(
    device: DownloadingDevice,
    cursor: int | None,
    *,
    table_refresh: Iterable[str] = (),
    received: Callable[[int], None] = lambda _count: None,
) -> Download:
    """Ask the server what changed after ``cursor`` and fetch what the device lacks.

    Fetched too: every visible record of the objects in ``table_refresh`` (Undo, AS-34). The
    answer comes page by page (see :mod:`server_stub.sync`); the event loop gets a turn after
    each, and ``received`` is told how many records have come so far.

    Raises what :data:`DownloadError` names: ``httpx.HTTPError`` (no answer, or a refusal) or
    :class:`~emulator.errors.MalformedAnswer` (an answer that is not what the wire says).
    """
    response = await device.client.post("/api/v1/sync", json={"cursor": cursor})
    response.raise_for_status()
    answer = read_answer(SyncResponse, response)
    records = list(answer.records)
    visible = {object_name: list(ids) for object_name, ids in answer.visible_ids.items()}
    following = answer.next
    told = 0

    def tell(count: int) -> None:
        nonlocal told
        if count != told:
            told = count
            received(count)

    while following is not None:
        tell(len(records))
        await asyncio.sleep(0)  # a page at a time: the window stays responsive
        response = await device.client.post("/api/v1/sync/page", json=following.model_dump(mode="json"))
        response.raise_for_status()
        page = read_answer(SyncPageOut, response)
        records += page.records
        for object_name, ids in page.visible_ids.items():
            visible.setdefault(object_name, []).extend(ids)
        following = page.next
    tell(len(records))
    await asyncio.sleep(0)
    local = device.store.versions()
    changed = {r.id for r in records}
    refresh = set(table_refresh)
    missing = [
        rid
        for object_name, ids in visible.items()
        for rid in ids
        if rid not in changed and (rid not in local or object_name in refresh)
    ]
    fetched: list[FeedRecordOut] = []
    for start in range(0, len(missing), FETCH_PAGE):
        await asyncio.sleep(0)
        got = await device.client.post(
            "/api/v1/sync/fetch", json={"ids": missing[start : start + FETCH_PAGE]}
        )
        got.raise_for_status()
        batch = read_answer_as(FETCHED, got)
        fetched += batch
        tell(len(records) + len(fetched))
    whole = answer.model_copy(update={"records": records, "visible_ids": visible, "next": None})
    return Download(whole, fetched)


class IncrementalSync:
    """The device's incremental sync; at most one runs at a time.

    Attributes:
        running: a sync (or full refresh) is under way; the app is blocked meanwhile.
        progress: what the Sync widget and the progress window show while it runs.
    """

    def __init__(self, device: SyncingDevice) -> None:
        self.device = device
        self.running = False
        self.full = False  # the running sync is a full database refresh
        self.progress: SyncProgress | None = None

    async def run(self, *, full: bool = False, timed: bool = True) -> SyncReport:
        """An incremental sync, or a full database refresh when ``full`` (AS-37).

        ``timed`` spends emulated time on the records moved (the first sync of a new device,
        done while it is set up, does not).
        """
        device = self.device
        if device.edit is not None:
            raise ActionRefused("Save or cancel the edit screen before syncing.")
        if self.running or device.refresh.applying:
            raise ActionRefused("A sync is already running.")
        what = "Full database refresh" if full else "Incremental sync"
        self.running = True
        self.full = full
        self.progress = SyncProgress()
        try:
            device.say(EventKind.SYNC_STARTED, f"{what} started on {device.profile.name}.", full=full)
            if not device.conditions.app_thinks_online:
                return self._failed(what, "offline", "the iPad is offline")
            if not device.foreground:
                return self._failed(what, "background", "the app is in the background")
            device.refresh.discard("an incremental sync brings newer data")
            if not await self._upload(timed):
                offline = not device.conditions.app_thinks_online  # it went while the queue waited
                reason: SyncFailReason = "offline" if offline else "upload"
                return self._failed(what, reason, "the upload queue could not be sent")
            if timed:
                await device.clock.sleep(HANDSHAKE)
            if self._left_foreground():  # AS-35: it needs the app in the foreground throughout
                return self._failed(what, "background", "the app left the foreground")
            try:
                got = await self._download(full)
            except DownloadError as exc:
                reason = "no_answer" if isinstance(exc, httpx.TransportError) else "server"
                return self._failed(what, reason, str(exc) or type(exc).__name__)
            if self._left_foreground():  # nothing written yet: the next sync downloads it again
                return self._failed(what, "background", "the app left the foreground")
            return await self.apply(got, timed)
        finally:
            self.running = False
            self.progress = None

    async def _upload(self, timed: bool) -> bool:
        """Send the queue first (AS-35), counting records as they leave it.

        An Autosync upload already on the wire gets its answer first; the sync sends what is
        left after it (and counts only that).
        """
        device = self.device
        if device.uploader.draining:
            self._progress(phase="Uploading", to_upload=device.store.queue_length())
            await device.uploader.idle()
        total = device.store.queue_length()
        self._progress(phase="Uploading", to_upload=total)

        async def sent(count: int) -> None:
            self._progress(phase="Uploading", uploaded=count, to_upload=total)
            if timed:
                await device.clock.sleep(PER_RECORD)

        return await device.uploader.drain(manual=True, on_sent=sent)

    async def _download(self, full: bool) -> Download:
        device = self.device
        store = device.store
        cursor = None if full else store.setting("last_sync_cursor")
        undo = [e for e in store.errors() if e.requested == "undo"]
        self._progress(phase="Downloading")
        got = await download(
            device,
            cursor,
            table_refresh={i["object"] for e in undo for i in e.items},
            received=self._received("Downloading"),
        )
        commands = self._new_commands(got.answer)
        wants_full = any(c.kind == "full_refresh" for c in commands) or any(
            e.requested == "undelete" for e in store.errors()
        )
        if wants_full and not got.full:
            self.full = True  # the progress window says so: a database refresh now
            self._progress(phase="Downloading everything")
            got = await download(device, None, received=self._received("Downloading everything"))
        return got

    def _received(self, phase: str) -> Callable[[int], None]:
        """Shows the records received so far, as the pages of the answer come in."""
        return lambda count: self._progress(phase=f"{phase}: {count:,} records received")

    def _new_commands(self, answer: SyncResponse) -> list[ClientCommandOut]:
        done = int(self.device.store.setting("last_command_id", 0))
        return [c for c in answer.commands if c.id > done]

    async def apply(self, got: Download, timed: bool, *, what: str | None = None) -> SyncReport:
        """Apply a download: records, removals, Undo / Undelete, admin commands, settings.

        ``what`` names it in the words the user reads (Refresh mode's "Update"); by default it is
        an incremental sync or a full database refresh.
        """
        device = self.device
        store = device.store
        answer = got.answer
        commands = self._new_commands(answer)
        if any(c.kind == "clear_sync_errors" for c in commands):
            for error in store.errors():
                store.remove_error(error.id)
                device.say(
                    EventKind.ERROR_RESOLVED,
                    f"An admin cleared the sync error: {error.label}.",
                    (error.object, error.record_id),
                    how="admin_clear",
                )
        errors = store.errors()
        carried = [e for e in errors if e.requested == "undo" or (got.full and e.requested == "undelete")]
        kept = [e for e in errors if e not in carried]
        keep = store.queued_record_ids()
        keep |= {rid for e in kept for rid in e.record_ids()}
        # a version newer than the answer (merged from the feed while the pages came, or since
        # Refresh mode downloaded them) is neither replaced by an older one nor judged by it
        snapshot = answer.cursor
        local = store.versions()
        keep |= {rid for rid, version in local.items() if version is not None and version > snapshot}
        visible = {rid for ids in answer.visible_ids.values() for rid in ids}
        incoming = [r for r in got.records if r.id not in keep]
        undone_local = {rid for e in carried for rid in e.record_ids() if rid not in visible}
        stale = [
            rid
            for rid in local
            if rid not in visible and rid not in keep and (not rid.startswith("tmp-") or rid in undone_local)
        ]
        to_download = len(incoming) + len(stale)
        self._progress(phase="Downloading", to_download=to_download)
        # a batch at a time, the event loop getting a turn after each (the window stays
        # responsive); the count shown moves every CHUNK records, or every 1% of a big sync
        every = max(CHUNK, to_download // 100)
        done = shown = 0
        await asyncio.sleep(0)
        for start in range(0, len(incoming) + len(stale), BATCH):
            batch = incoming[start : start + BATCH]
            gone = stale[max(0, start - len(incoming)) : max(0, start + BATCH - len(incoming))]
            if timed:
                await device.clock.sleep(PER_RECORD * (len(batch) + len(gone)))
            with store.transaction():
                for record in batch:
                    store.put(record.object, record.fields)
                for rid in gone:  # left the where clause
                    store.remove(rid)
            done += len(batch) + len(gone)
            if done - shown >= every or done == to_download:
                shown = done
                self._progress(phase="Downloading", downloaded=done, to_download=to_download)
            await asyncio.sleep(0)
        with store.transaction():
            for error in carried:
                store.remove_error(error.id)
            if got.full:
                for row in store.staged():
                    store.unstage(row.seq)
            self._store_answer(answer, commands)
        device.forget_schema()
        self._progress(phase="Done", downloaded=to_download, to_download=to_download)
        for error in carried:
            how = "undelete" if error.requested == "undelete" else "undo"
            verb = "Undeleted" if how == "undelete" else "Undone"
            device.say(
                EventKind.ERROR_RESOLVED,
                f"{verb}: {error.label}. The record is as it is online.",
                (error.object, error.record_id),
                how=how,
            )
        return self._finished(got, len(incoming), len(stale), what)

    def _store_answer(self, answer: SyncResponse, commands: list[ClientCommandOut]) -> None:
        store = self.device.store
        store.set_setting("schema", answer.schema_)
        datasets = {} if answer.full else dict(store.setting("datasets", {}))
        datasets.update({d.name: d.model_dump(mode="json") for d in answer.datasets})
        store.set_setting("datasets", datasets)
        store.set_setting("last_sync_cursor", answer.cursor)
        store.set_setting("last_sync_at", self.device.now_iso())
        store.set_setting("feed_cursor", max(int(store.setting("feed_cursor", 0)), answer.feed_seq))
        store.set_setting("feed_missed", False)
        store.set_setting("user_settings", answer.settings.model_dump(mode="json"))
        if commands:
            store.set_setting("last_command_id", max(c.id for c in commands))

    def _finished(self, got: Download, updated: int, removed: int, what: str | None) -> SyncReport:
        device = self.device
        errors = len(device.store.errors())
        what = what or ("Full database refresh" if got.full else "Incremental sync")
        message = (
            f"{what} finished: {updated} records updated, {removed} removed, "
            f"{len(got.answer.datasets)} data sets."
        )
        if errors:
            message += f" {errors} sync error{'s' if errors != 1 else ''} still to deal with."
            device.alert_sync_errors()
        device.say(
            EventKind.SYNC_FINISHED, message, updated=updated, removed=removed, full=got.full, errors=errors
        )
        device.poller.merge_waiting()
        return SyncReport(errors == 0, message, updated, removed, got.full, errors)

    def _left_foreground(self) -> bool:
        """Whether the rep has switched to another app since the sync started (it stops)."""
        return not self.device.foreground

    def _failed(self, what: str, reason: SyncFailReason, why: str) -> SyncReport:
        """The sync stops; the app tells the rep in an alert (``why`` is the event's detail)."""
        device = self.device
        device.say(
            EventKind.SYNC_FAILED, f"{what} failed: {why}.", **SyncFailedData(reason=reason, full=self.full)
        )
        device.alert("sync_failed", FAILURE_ALERTS[reason])
        return SyncReport(False, why)

    def _progress(self, **values: Any) -> None:
        if not self.running:
            return  # applying Refresh mode's update: its own window shows it
        base = self.progress or SyncProgress()
        self.progress = SyncProgress(**{**base.__dict__, **values})
        p = self.progress
        done, total = p.uploaded + p.downloaded, p.to_upload + p.to_download
        self.device.say(
            EventKind.SYNC_PROGRESS,
            f"{p.phase}: {p.uploaded} of {p.to_upload} uploaded, {p.downloaded} of {p.to_download} "
            "downloaded.",
            done=done,
            total=total,
            phase=p.phase,
            uploaded=p.uploaded,
            to_upload=p.to_upload,
            downloaded=p.downloaded,
            to_download=p.to_download,
        )
