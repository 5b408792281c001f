"""One virtual iPad without a screen: everything Autosync does on the device.

A :class:`Device` owns its local store, its upload queue, its HTTP client (one long-lived
``httpx.AsyncClient`` whose transport applies the device's network conditions), its feed poller
and its screens. Widgets and scenarios call its operations and read its state; every step is
an event on the stage's event stream.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx

from emulator.engine import changes
from emulator.engine.clock import EmulatedClock, Timer
from emulator.engine.error_actions import LABELS, ErrorAction, error_actions
from emulator.engine.events import EventKind, EventLog
from emulator.engine.localstore import LocalStore, Notice, QueueItem, Record, SyncErrorRow
from emulator.engine.merge import Action, check_action
from emulator.engine.network import WIRE_TIMEOUT_SECONDS, ConditionedTransport, NetworkConditions
from emulator.engine.profile import DeviceProfile
from emulator.engine.schema import DeviceSchema
from emulator.engine.sync_widget import DEFAULT_WARN_DAYS, PendingUpload, SyncWidget, sync_widget
from emulator.engine.timefmt import iso, parse_iso
from emulator.engine.upload_wait import UploadWait, upload_wait
from emulator.errors import ActionRefused as ActionRefused  # where callers have always found it

ScreenMode = Literal["view", "edit"]
SyncState = Literal["saved_locally", "queued", "uploading", "synced", "sync_error", "update_waiting"]
SYNC_STATE_TEXT: dict[str, str] = {
    "saved_locally": "Saved on this iPad",
    "queued": "Queued for upload",
    "uploading": "Uploading",
    "synced": "Synced",
    "sync_error": "Sync error",
    "update_waiting": "Update waiting to merge",
}
DEFAULT_POLL_INTERVAL = timedelta(seconds=30)


@dataclass(frozen=True)
class Screen:
    """What the user has open: a record on the view or the edit screen."""

    object: str
    record_id: str
    mode: ScreenMode


@dataclass(frozen=True)
class LossReport:
    """AS-31: what this iPad would take with it if it were lost now."""

    queued: list[str]
    sync_errors: list[str]
    safe_records: int

    @property
    def at_risk(self) -> int:
        return len(self.queued) + len(self.sync_errors)


@dataclass
class ChildDraft:
    object: str
    id: str
    values: Record
    new: bool
    deleted: bool = False


@dataclass
class EditSession:
    """The edit screen: changes collect here and reach the queue only on Save (AS-02)."""

    device: Device
    object: str
    record_id: str
    new: bool
    values: Record
    children: dict[str, ChildDraft] = field(default_factory=dict)
    closed: bool = False
    original: Record = field(default_factory=dict)  # the values when the screen opened

    def changed(self) -> Record:
        """The fields set to a value other than the one the screen opened with."""
        return {k: v for k, v in self.values.items() if k != "id" and v != self.original.get(k)}

    def set(self, name: str, value: Any) -> None:
        self._open()
        fields = self.device.schema.fields(self.object)
        if name not in fields or not fields[name]["writable"]:
            raise ActionRefused(f"{self.device.schema.label(self.object)} has no editable field {name}")
        self.values[name] = value

    def add_child(self, object_name: str, values: Record) -> str:
        """A new related record saved with the parent; returns its temporary ID."""
        self._open()
        master = self.device.schema.master_field(object_name)
        if master is None or master[1] != self.object:
            raise ActionRefused(f"{object_name} is not a child of {self.object}")
        temp = self.device.new_temp_id()
        self.children[temp] = ChildDraft(object_name, temp, {**values, master[0]: self.record_id}, new=True)
        return temp

    def edit_child(self, child_id: str, values: Record) -> None:
        self._open()
        draft = self.children.get(child_id)
        if draft is None:
            found = self.device.store.get(child_id)
            if found is None:
                raise ActionRefused(f"no related record {child_id}")
            draft = ChildDraft(found[0], child_id, dict(found[1]), new=False)
            self.children[child_id] = draft
        draft.values.update(values)

    def remove_child(self, child_id: str) -> None:
        self._open()
        self.edit_child(child_id, {})
        self.children[child_id].deleted = True

    def save(self) -> QueueItem | None:
        """Save everything on this screen; returns the queue item (None if nothing changed)."""
        self._open()
        return self.device._save_session(self, submit=False)

    def submit(self) -> QueueItem | None:
        self._open()
        return self.device._save_session(self, submit=True)

    def cancel(self) -> None:
        """Leave the edit screen; nothing is queued (AS-02)."""
        self._open()
        self.closed = True
        self.device._end_edit(self, "cancel")

    def _open(self) -> None:
        if self.closed:
            raise ActionRefused("this edit screen is closed")


class Device:
    """A virtual iPad. Create it, ``await start()``, use it, ``await close()``.

    Attributes:
        profile: who the device is.
        store: its local SQLite file.
        conditions: its network, as set by the user (per device).
        screen: the record open on screen, if any.
    """

    def __init__(
        self,
        profile: DeviceProfile,
        *,
        clock: EmulatedClock,
        events: EventLog,
        transport: httpx.AsyncBaseTransport,
        base_url: str,
        path: Path | None,
        rng: random.Random,
        poll_interval: timedelta = DEFAULT_POLL_INTERVAL,
    ) -> None:
        from emulator.engine.feedpoller import FeedPoller
        from emulator.engine.incremental import IncrementalSync
        from emulator.engine.refresh import RefreshMode
        from emulator.engine.uploader import Uploader

        self.profile = profile
        self.clock = clock
        self.events = events
        self.store = LocalStore(path)
        self.conditions = NetworkConditions()
        self.client = httpx.AsyncClient(
            transport=ConditionedTransport(transport, self.conditions, clock, rng),
            base_url=base_url,
            headers={
                "Authorization": f"Bearer {profile.token}",
                # who is talking, for the server's list of the room's devices
                "X-Autosync-Device": profile.device_id,
                "X-Autosync-Model": profile.model,
            },
            timeout=httpx.Timeout(WIRE_TIMEOUT_SECONDS),
            event_hooks={"request": [self._report_queue]},
        )
        self.rng = rng
        self.foreground = True
        self.screen: Screen | None = None
        self.edit: EditSession | None = None
        self.poll_interval = poll_interval
        self.uploader = Uploader(self)
        self.poller = FeedPoller(self)
        self.syncer = IncrementalSync(self)
        self.refresh = RefreshMode(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._poll_timer: Timer | None = None
        self._day_timer: Timer | None = None
        self._closed = False
        self._schema: DeviceSchema | None = None
        self._held: list[tuple[tuple[Any, ...], dict[str, Any]]] | None = None
        self._traditional: bool | None = None

    # identity and state -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.profile.device_id

    @property
    def actor(self) -> str:
        return f"device:{self.id}"

    @property
    def schema(self) -> DeviceSchema:
        """The schema from the last incremental sync (cached until the next one)."""
        if self._schema is None:
            self._schema = DeviceSchema(self.store.setting("schema", {"objects": {}, "families": {}}))
        return self._schema

    def forget_schema(self) -> None:
        self._schema = None

    @property
    def traditional(self) -> bool:
        """AS-29 / AS-32: traditional sync (forced on ineligible devices, or chosen)."""
        if self._traditional is None:  # read once from the file, then kept with every change
            self._traditional = bool(self.store.setting("traditional", False))
        return not self.profile.autosync_eligible or self._traditional

    @property
    def autosync_active(self) -> bool:
        """Whether uploads and polls happen by themselves right now."""
        return not self.traditional and self.foreground and self.conditions.app_thinks_online

    @property
    def blocking(self) -> str | None:
        """What blocks the app now (AS-35, AS-36, AS-37), in the words of its progress window."""
        if self.syncer.running:
            return "Syncing"
        if self.refresh.applying:
            return "Applying update"
        return None

    def say(self, kind: EventKind, text: str, record: tuple[str, str] | None = None, **data: Any) -> None:
        if self._held is not None:
            self._held.append(((self.actor, kind, text, record), data))
        else:
            self.events.emit(self.actor, kind, text, record, **data)

    def now_iso(self) -> str:
        return iso(self.clock.now())

    def new_temp_id(self) -> str:
        return f"tmp-{self.id}-{self.store.next_number('temp_counter')}"

    def new_transaction_id(self) -> str:
        instance = self.store.setting("instance")
        return f"{self.id}-{instance}-{self.store.next_number('transaction_counter')}"

    # lifecycle ----------------------------------------------------------------------------------
    async def start(self, instance_id: str) -> None:
        """Open the device: first run syncs everything; a reopened one resumes its queue."""
        if self.store.setting("instance") is None:
            self.store.set_setting("instance", instance_id)
        head = self.store.head()
        if head is not None and head.state == "uploading":  # the app died mid-upload: same ID, retried
            self.store.update_queue_item(head.seq, state="queued")
        self._arm_poll_timer()
        self._arm_day_timer()
        if self.store.setting("last_sync_cursor") is None:
            await self.syncer.run(timed=False)  # set up with all of the user's data
            self.store.set_setting("last_use_day", self.clock.now().date().isoformat())
        else:
            self.uploader.resume()
            self._first_use_check()

    async def _report_queue(self, request: httpx.Request) -> None:
        """Every request tells the server how many uploads wait in the queue as it is sent."""
        request.headers["X-Autosync-Queue"] = str(self.store.queue_length())

    @property
    def is_closed(self) -> bool:
        """Closed: its file is shut, so a view that redraws late must not read it."""
        return self._closed

    async def close(self) -> None:
        """Stop timers and tasks, close the HTTP client and the file. Committed data stays."""
        self._closed = True
        for timer in (self._poll_timer, self._day_timer):
            if timer is not None:
                timer.cancel()
        self.uploader.cancel_retry()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()
        self.store.close()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run background work for this device; the stage can wait for it to settle."""
        if self._closed:
            coro.close()
            return None
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def busy_tasks(self) -> list[asyncio.Task[Any]]:
        """Tasks still working (not waiting for the emulated clock)."""
        return [t for t in self._tasks if not t.done() and not self.clock.is_parked(t)]

    def _arm_poll_timer(self) -> None:
        if self._poll_timer is not None:
            self._poll_timer.cancel()
        self._poll_timer = self.clock.call_later(self.poll_interval, self._on_poll_timer, "poll")

    def _on_poll_timer(self) -> None:
        self._arm_poll_timer()
        if self.autosync_active:
            self.spawn(self.poller.poll())

    def _arm_day_timer(self) -> None:
        now = self.clock.now()
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
        self._day_timer = self.clock.call_at(midnight, self._on_new_day, "day")

    def _on_new_day(self) -> None:
        self._arm_day_timer()
        self._first_use_check()

    def _first_use_check(self) -> None:
        """The first moment of a new emulated day with the app in use (AS-33, AS-36).

        The app reminds the user to sync when the last incremental sync is over a day old, and
        Refresh mode starts its download (online only).
        """
        if not self.foreground or self._closed:
            return
        today = self.clock.now().date().isoformat()
        if self.store.setting("last_use_day") != today:
            self.store.set_setting("last_use_day", today)
            if self.sync_widget().remind:
                self._remind_to_sync()
        self.refresh.first_use_of_day(today)

    def _remind_to_sync(self) -> None:
        widget = self.sync_widget()
        if widget.days_since is None:
            text = "This iPad has never run an incremental sync. Please sync to get the latest data."
        else:
            days = f"{widget.days_since} day{'s' if widget.days_since != 1 else ''}"
            text = f"Your last incremental sync was {days} ago. Please sync to get the latest data."
        self.alert("reminder", text)

    def set_poll_interval(self, interval: timedelta) -> None:
        if interval <= timedelta(0):
            raise ValueError("the poll interval must be positive")
        self.poll_interval = interval
        self._arm_poll_timer()
        self.say(
            EventKind.SETTING,
            f"{self.profile.name} polls its feed every {interval.total_seconds():g} s.",
            setting="poll_interval",
            seconds=interval.total_seconds(),
        )

    def skip_polls_until(self, horizon: datetime) -> None:
        """Move the poll timer to its last beat at or before ``horizon`` (see Stage.advance)."""
        timer = self._poll_timer
        if timer is None or timer.due >= horizon:
            return
        beats = (horizon - timer.due) // self.poll_interval
        if beats > 0:
            timer.cancel()
            due = timer.due + self.poll_interval * beats
            self._poll_timer = self.clock.call_at(due, self._on_poll_timer, "poll")

    def set_feed_page_records(self, records: int) -> None:
        """How many records one feed read may bring (a small page splits transactions, AS-22)."""
        if records < 1:
            raise ValueError("a feed page holds at least one record")
        self.store.set_setting("feed_page_records", records)
        self.say(
            EventKind.SETTING,
            f"{self.profile.name} reads its feed {records} record{'s' if records != 1 else ''} a page.",
            setting="feed_page_size",
            value=records,
        )

    def next_poll(self) -> Any:
        return None if self._poll_timer is None else self._poll_timer.due

    # conditions ---------------------------------------------------------------------------------
    def set_network(self, mode: str, **options: Any) -> None:
        was_online = self.conditions.app_thinks_online
        was_mode = self.conditions.mode
        before = {
            "mode": was_mode,
            "latency": self.conditions.latency.total_seconds(),
            "loss": self.conditions.loss,
        }
        if mode not in ("online", "offline", "lie-fi"):
            raise ValueError(f"unknown network mode {mode!r}")
        self.conditions.mode = mode  # type: ignore[assignment]
        if "latency" in options:
            self.conditions.latency = options["latency"]
        if "loss" in options:
            self.conditions.loss = float(options["loss"])
        self.say(
            EventKind.NETWORK,
            f"{self.profile.name} is now {self.conditions.describe()}.",
            mode=mode,
            latency=self.conditions.latency.total_seconds(),
            loss=self.conditions.loss,
            before=before,
        )
        if not was_online and self.conditions.app_thinks_online:
            self.uploader.connectivity_returned()  # AS-06: upload at once when connectivity returns
            self._first_use_check()
            self.refresh.foreground_changed(self.foreground)
        elif was_mode == "lie-fi" and mode == "online":
            # AS-06 again: lie-fi fooled the app, but the network that comes back is real; the
            # item waiting for its next retry goes now, not up to five minutes later.
            self.uploader.connectivity_returned()

    def inject_fault(self, fault: str) -> None:
        from emulator.engine.network import FAULTS

        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; known: {', '.join(FAULTS)}")
        self.conditions.faults.append(fault)
        self.say(
            EventKind.SETTING,
            f"A fault is armed for the next request of {self.profile.name}: {fault}.",
            setting="fault",
            value=fault,
        )

    def set_foreground(self, foreground: bool) -> None:
        if foreground == self.foreground:
            return
        self.foreground = foreground
        where = "foreground" if foreground else "background"
        self.say(
            EventKind.FOREGROUND,
            f"The app on {self.profile.name} is in the {where}.",
            foreground=foreground,
        )
        if foreground:
            self.uploader.kick(now=True)  # AS-06
            self._first_use_check()
        self.refresh.foreground_changed(foreground)

    def set_traditional(self, traditional: bool) -> None:
        if not traditional and not self.profile.autosync_eligible:
            raise ActionRefused(self.profile.ineligibility or "Autosync is not available")
        self.store.set_setting("traditional", traditional)
        self._traditional = traditional
        mode = "traditional sync" if traditional else "Autosync"
        self.say(
            EventKind.MODE,
            f"Comparison: {self.profile.name} now behaves as with {mode}.",
            traditional=traditional,
        )
        if not traditional:
            self.uploader.kick(now=True)

    # screens ------------------------------------------------------------------------------------
    def open_record(self, object_name: str, record_id: str) -> Record:
        """Open a record on the view screen."""
        if self.edit is not None:
            raise ActionRefused("Save or cancel the edit screen first.")
        self._require_unblocked()
        record = self._require(record_id)
        self.screen = Screen(object_name, record_id, "view")
        self.say(
            EventKind.SCREEN,
            f"Viewing {self._title(object_name, record)}.",
            (object_name, record_id),
            mode="view",
        )
        return record

    def leave_screen(self) -> None:
        """Back to the list; waiting data for the record is merged now (AS-25)."""
        if self.edit is not None:
            raise ActionRefused("Save or cancel the edit screen first.")
        screen, self.screen = self.screen, None
        # said also with nothing open (the record shown was deleted): the user went back all the same
        where = None if screen is None else (screen.object, screen.record_id)
        self.say(EventKind.SCREEN, "Back to the list.", where, mode="list")
        self.poller.merge_waiting()

    def _require_unblocked(self) -> None:
        """AS-35: while a sync blocks the app, nothing can be opened or edited."""
        if self.blocking is not None:
            raise ActionRefused("The iPad is syncing. Wait until the sync has finished.")

    def begin_edit(self, object_name: str, record_id: str | None = None) -> EditSession:
        """Open the edit screen for a record, or for a new one when ``record_id`` is None."""
        self._require_unblocked()
        if self.edit is not None:
            raise ActionRefused("Another edit screen is already open.")
        if record_id is None:
            temp = self.new_temp_id()
            defaults = {
                name: f["default"]
                for name, f in self.schema.fields(object_name).items()
                if f.get("default") is not None
            }
            session = EditSession(self, object_name, temp, True, defaults, original=dict(defaults))
        else:
            record = self._require(record_id)
            self.check_action("edit", object_name, record_id)
            session = EditSession(self, object_name, record_id, False, dict(record), original=dict(record))
        self.edit = session
        self.screen = Screen(object_name, session.record_id, "edit")
        self.say(
            EventKind.SCREEN,
            f"Editing {self.schema.label(object_name).lower()}.",
            (object_name, session.record_id),
            mode="edit",
            new=session.new,
        )
        return session

    def _end_edit(self, session: EditSession, how: str) -> None:
        """The edit screen closed (``how``: save, submit or cancel)."""
        self.edit = None
        self.screen = None if session.new else Screen(session.object, session.record_id, "view")
        self.say(
            EventKind.SCREEN,
            "Left the edit screen.",
            (session.object, session.record_id),
            mode="view",
            closed=how,
        )

    def displayed_ids(self) -> set[str]:
        """Records on screen now: the open record and its related records (AS-23)."""
        if self.screen is None:
            return set()
        ids = {self.screen.record_id}
        for child_object, via in self.schema.children_of(self.screen.object):
            ids |= {
                r["id"] for _, r in self.store.records(child_object) if r.get(via) == self.screen.record_id
            }
        return ids

    # actions ------------------------------------------------------------------------------------
    def check_action(self, action: Action, object_name: str, record_id: str) -> None:
        """AS-24: refuse an action that data waiting to merge forbids."""
        waiting = self.store.staged_carrying(record_id)
        reason = check_action(
            action, record_id, self.store.record(record_id), waiting, self.schema.label(object_name)
        )
        if reason is not None:
            self.say(EventKind.ACTION_REFUSED, reason, (object_name, record_id), action=action)
            raise ActionRefused(reason)

    def save(
        self,
        object_name: str,
        record_id: str | None,
        values: Record,
        *,
        children: list[tuple[str, Record]] = (),  # type: ignore[assignment]
        submit: bool = False,
    ) -> QueueItem | None:
        """Open, fill and save an edit screen in one call (new record when ``record_id`` is None)."""
        was_on_list = self.screen is None
        session = self.begin_edit(object_name, record_id)
        try:
            for name, value in values.items():
                session.set(name, value)
            for child_object, child_values in children:
                if "id" in child_values:
                    session.edit_child(
                        child_values["id"], {k: v for k, v in child_values.items() if k != "id"}
                    )
                else:
                    session.add_child(child_object, child_values)
            return session.submit() if submit else session.save()
        except BaseException:
            if not session.closed:
                session.cancel()
            raise
        finally:
            if was_on_list and self.screen is not None and self.edit is None:
                self.leave_screen()

    def delete(self, object_name: str, record_id: str) -> QueueItem:
        self._require_unblocked()
        self.check_action("delete", object_name, record_id)
        record = self._require(record_id)
        if record.get("status__v") == "submitted__v":
            raise ActionRefused(f"A submitted {self.schema.label(object_name).lower()} cannot be deleted.")
        items = [changes.delete_item(object_name, record_id)]
        label = f"Delete {self._title(object_name, record)}"
        with self._events_after_commit(), self.store.transaction():
            self.say(
                EventKind.DELETED,
                f"{self._title(object_name, record)} deleted on {self.profile.name}.",
                (object_name, record_id),
                values=dict(record),
            )
            for child_object, via in self.schema.children_of(object_name):
                for _, child in self.store.records(child_object):
                    if child.get(via) == record_id:
                        self.store.remove(child["id"])
            self.store.remove(record_id)
            item = self._enqueue(items, label, (object_name, record_id))
        if self.screen is not None and self.screen.record_id == record_id:
            self.screen = None
        self.uploader.kick()
        return item

    def _save_session(self, session: EditSession, *, submit: bool) -> QueueItem | None:
        schema = self.schema
        obj = session.object
        if submit:
            if not session.new:
                self.check_action("submit", obj, session.record_id)
        elif not session.new:
            self.check_action("edit", obj, session.record_id)
        saved = self._saved_data(session, submit=submit)
        if submit:
            session.values["status__v"] = "submitted__v"
        records: list[tuple[str, Record]] = []
        items: list[Record] = []
        now = self.now_iso()
        root_before = None if session.new else self.store.record(session.record_id)
        root_after = {**(root_before or {}), **session.values, "id": session.record_id}
        if session.new:
            items.append(changes.create_item(obj, session.record_id, session.values))
            root_after.update({"ownerid__v": self.profile.user_id, "created_date__v": now})
        else:
            item = changes.update_item(obj, root_before or {}, {**session.values, "id": session.record_id})
            if item is not None:
                items.append(item)
        records.append((obj, root_after))
        removed: list[str] = []
        for draft in session.children.values():
            if draft.deleted:
                if not draft.new:
                    items.append(changes.delete_item(draft.object, draft.id))
                    removed.append(draft.id)
                continue
            if draft.new:
                items.append(changes.create_item(draft.object, draft.id, draft.values))
                records.append((draft.object, {**draft.values, "id": draft.id, "created_date__v": now}))
            else:
                before = self.store.record(draft.id) or {}
                item = changes.update_item(draft.object, before, draft.values)
                if item is not None:
                    items.append(item)
                records.append((draft.object, {**before, **draft.values}))
        session.closed = True
        self._end_edit(session, "submit" if submit else "save")
        if not items:
            self.say(
                EventKind.SAVED,
                f"Nothing changed on {self._title(obj, root_after)}.",
                (obj, session.record_id),
                **saved,
            )
            return None
        label = ("Submit " if submit else "Save ") + self._title(obj, root_after)
        family = schema.family_of(obj)
        with self._events_after_commit(), self.store.transaction():
            self.say(
                EventKind.SAVED,
                f"{self._title(obj, root_after)} saved on {self.profile.name}.",
                (obj, session.record_id),
                **saved,
            )
            for object_name, record in records:
                self.store.put(object_name, record)
            for rid in removed:
                self.store.remove(rid)
            if family is not None:  # AS-05: one transaction for the whole family
                queued = self._enqueue(items, label, (obj, session.record_id))
            else:  # AS-04: one queue item per record
                queued_items = [
                    self._enqueue(
                        [item],
                        label
                        if item["id"] == session.record_id
                        else f"Save {self.schema.label(item['object'])}",
                        (item["object"], item["id"]),
                    )
                    for item in items
                ]
                queued = queued_items[0]
        self.uploader.kick()
        return queued

    def _saved_data(self, session: EditSession, *, submit: bool) -> dict[str, Any]:
        """What a save does, for its ``saved`` event: the values the user set, the children.

        ``fields``: the record's fields set to a new value (not the status a submit sets);
        ``children``: each related record added (``op: add`` and its values), edited (``op:
        edit``, the values changed and the record ``before``) or removed (``op: remove``, the
        record ``before``). Read before the save, while a removed record is still there.
        """
        children: list[dict[str, Any]] = []
        for draft in session.children.values():
            told: dict[str, Any] = {"object": draft.object, "id": draft.id}
            before = None if draft.new else self.store.record(draft.id)
            if draft.deleted:
                if draft.new:
                    continue
                children.append({"op": "remove", **told, "before": dict(before or {})})
            elif draft.new:
                children.append({"op": "add", **told, "fields": dict(draft.values)})
            else:
                edits = {k: v for k, v in draft.values.items() if (before or {}).get(k) != v}
                if edits:
                    children.append({"op": "edit", **told, "fields": edits, "before": dict(before or {})})
        return {"submitted": submit, "new": session.new, "fields": session.changed(), "children": children}

    @contextmanager
    def _events_after_commit(self) -> Iterator[None]:
        """Hold events said inside a local transaction; emit them only once it committed."""
        held: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self._held = held
        try:
            yield
        finally:
            self._held = None
        for args, kwargs in held:
            self.events.emit(*args, **kwargs)

    def _enqueue(self, items: list[Record], label: str, record: tuple[str, str]) -> QueueItem:
        item = self.store.enqueue(self.new_transaction_id(), items, label, self.now_iso())
        wait = self.upload_wait(item)
        where = "uploading now" if wait is None else f"waiting for {wait.waits_for}"
        self.say(
            EventKind.QUEUED,
            f"{label} queued ({where}).",
            record,
            transaction_id=item.transaction_id,
            seq=item.seq,
        )
        return item

    # sync errors (the Errors tab, AS-34) ------------------------------------------------------------
    def error_actions(self, error: SyncErrorRow) -> tuple[ErrorAction, ...]:
        """What the Errors tab offers for ``error``: Undo, Undelete, or only Clear."""
        pending = self.store.queued_record_ids()
        return error_actions(error.record_ids(), is_delete=error.is_delete, pending_ids=pending)

    def act_on_error(self, error_id: int, action: ErrorAction) -> None:
        """Undo or Undelete (carried out at the next incremental sync), or Clear (at once)."""
        error = self.store.error(error_id)
        if error is None:
            raise ActionRefused("That sync error has already been dealt with.")
        offered = self.error_actions(error)
        if action not in offered:
            raise ActionRefused(
                f"{LABELS[action]} is not possible for this error"
                + (
                    ": the record still has a change waiting to upload, so the error can only be cleared."
                    if offered == ("clear",)
                    else f"; use {LABELS[offered[0]]}."
                )
            )
        record = (error.object, error.record_id)
        records = sorted(error.record_ids(), key=lambda rid: rid != error.record_id)  # the root first
        if action == "clear":
            self.store.remove_error(error_id)
            self.say(
                EventKind.ERROR_RESOLVED,
                f"Sync error cleared: {error.label}.",
                record,
                how="clear",
                records=records,
            )
            return
        self.store.request_on_error(error_id, action)
        what = "a database refresh" if action == "undelete" else "a refresh of the record from online"
        self.say(
            EventKind.ERROR_ACTION,
            f"{LABELS[action]} requested for {error.label}: the next incremental sync does it ({what}).",
            record,
            how=action,
            records=records,
        )

    # messages the app shows ------------------------------------------------------------------------
    def alert(self, kind: str, text: str) -> Notice | None:
        """Show the user a message (a modal in the app), unless the same kind is still unread."""
        if any(n.kind == kind for n in self.unread_notices()):
            return None
        notice = self.store.notify(text, self.now_iso(), kind)
        self.say(EventKind.ALERT, text, alert=kind, notice=notice.id)
        return notice

    def alert_sync_errors(self) -> None:
        """AS-34: the sync error modal (after OK, the Errors tab)."""
        count = len(self.store.errors())
        if count:
            records = f"{count} record{'s' if count != 1 else ''}"
            self.alert(
                "sync_error",
                f"Sync error: {records} could not be saved online. Open the Errors tab to deal with "
                f"{'them' if count != 1 else 'it'}.",
            )

    # what the user sees -------------------------------------------------------------------------
    def sync_widget(self) -> SyncWidget:
        """AS-33: the Home page's Sync widget as the rep sees it now."""
        last = self.store.setting("last_sync_at")
        settings = self.store.setting("user_settings", {})
        return sync_widget(
            now=self.clock.now(),
            pending=[PendingUpload(obj, parse_iso(at)) for obj, at in self.store.queue_summary()],
            errors=len(self.store.errors()),
            progress=self.syncer.progress,
            last_sync=parse_iso(last) if last else None,
            warn_days=int(settings.get("sync_warn_interval_days", DEFAULT_WARN_DAYS)),
        )

    def upload_wait(self, item: QueueItem, *, manual: bool = False) -> UploadWait | None:
        """Why ``item`` is not sent now (None: it goes now); see :mod:`emulator.engine.upload_wait`."""
        return upload_wait(
            item,
            now=self.clock.now(),
            traditional=self.traditional,
            foreground=self.foreground,
            app_thinks_online=self.conditions.app_thinks_online,
            manual=manual,
        )

    def sync_states(self) -> dict[str, SyncState]:
        """AS-30: every record's sync state that is not plain "synced"."""
        states: dict[str, SyncState] = dict.fromkeys(self.store.staged_record_ids(), "update_waiting")
        waiting: SyncState = "queued" if self.autosync_active else "saved_locally"
        for rid in self.store.queued_record_ids():
            states[rid] = waiting
        head = self.store.head()
        if head is not None and head.state == "uploading":  # only the head is ever on the wire
            for rid in head.record_ids():
                states[rid] = "uploading"
        for error in self.store.errors():
            for rid in error.record_ids():
                states[rid] = "sync_error"
        return states

    def sync_state(self, record_id: str) -> SyncState:
        return self.sync_states().get(record_id, "synced")

    def loss_report(self) -> LossReport:
        """AS-31: what a lost or wiped iPad would take with it, and what is safe online."""
        queue = self.store.queue()
        errors = self.store.errors()
        unsafe = {rid for item in queue for rid in item.record_ids()}
        unsafe |= {rid for e in errors for rid in e.record_ids()}
        safe = sum(
            1 for _, r in self.store.records() if r["id"] not in unsafe and not r["id"].startswith("tmp-")
        )
        return LossReport([i.label for i in queue], [e.label for e in errors], safe)

    def waiting(self) -> list[tuple[dict[str, Any], str]]:
        """Downloaded entries not merged yet, each with why it waits (AS-21 to AS-23)."""
        return [(row.entry, self.poller.why_waiting(row.seq)) for row in self.store.staged()]

    def unread_notices(self) -> list[Notice]:
        """What the device told its user and the user has not dismissed yet (AS-12, AS-18)."""
        seen = int(self.store.setting("notices_read_through", 0))
        return [n for n in self.store.notices() if n.id > seen]

    def dismiss_notices(self, through: int | None = None) -> None:
        """The user read the messages (up to ``through``): they stay dismissed after a restart too."""
        notices = self.store.notices()
        if notices:
            last = max(n.id for n in notices) if through is None else through
            seen = int(self.store.setting("notices_read_through", 0))
            self.store.set_setting("notices_read_through", max(seen, last))
            self.say(EventKind.DISMISSED, f"The messages on {self.profile.name} were read.", through=last)

    def queue(self) -> list[QueueItem]:
        return self.store.queue()

    def sync_errors(self) -> list[SyncErrorRow]:
        return self.store.errors()

    def records(self, object_name: str) -> list[Record]:
        return [r for _, r in self.store.records(object_name)]

    async def records_in_turns(self, object_name: str, page: int = 1000) -> list[Record]:
        """The same as :meth:`records`, read a page per turn of the event loop (a long list)."""
        out: list[Record] = []
        after = ""
        while True:
            chunk = self.store.records_after(object_name, after, page)
            out += chunk
            if len(chunk) < page:
                return out
            after = str(chunk[-1]["id"])
            await asyncio.sleep(0)

    def record_count(self, object_name: str) -> int:
        return self.store.count_records(object_name)

    def record(self, record_id: str) -> Record | None:
        return self.store.record(record_id)

    def _require(self, record_id: str) -> Record:
        record = self.store.record(record_id)
        if record is None:
            raise ActionRefused(f"No record {record_id} on {self.profile.name}.")
        return record

    def _title(self, object_name: str, record: Record) -> str:
        try:
            return f"{self.schema.label(object_name)} {self.schema.title(object_name, record)}"
        except KeyError:
            return f"{object_name} {record.get('id')}"
