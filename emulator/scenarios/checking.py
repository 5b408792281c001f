"""Checking a step's ``expect:`` lines against the stage: what the check wanted, what was there.

A :class:`Checker` answers each check with None (it holds) or what it saw instead, in words.
A ``never:`` check watches the steps after its own: a :class:`Watch` is kept open until the
first event it forbids, or until its window closes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import assert_never

from emulator.engine.device import Device
from emulator.engine.events import Event
from emulator.engine.merge import entry_ids
from emulator.engine.uploader import ANSWER_EVENTS
from emulator.scenarios.checks import (
    CheckKind,
    DataCheck,
    DataCheckKind,
    DatasetCheck,
    DeviceCheck,
    EventCheck,
    FeedCheck,
    InOrderCheck,
    LossCheck,
    MatchingCheck,
    NeverCheck,
    NoticeCheck,
    QueueCheck,
    RecordCheck,
    RefreshCheck,
    RefusedCheck,
    StateCheck,
    StateCheckKind,
    StreamCheck,
    StreamCheckKind,
    SyncErrorsCheck,
    SyncWidgetCheck,
    UploadsCheck,
    WaitingCheck,
)
from emulator.scenarios.loader import object_schema
from emulator.scenarios.model import Scenario, Step
from emulator.scenarios.resolving import Resolver
from emulator.scenarios.specs import format_duration
from emulator.scenarios.values import (
    ONLINE,
    ConflictPart,
    EventPattern,
    FieldCheck,
    RecordRef,
    Since,
    describe_ref,
)
from emulator.stage import Stage

#: Events that tell the server's answer to an upload (a sync error or a refusal included).
UPLOAD_ANSWERS = ANSWER_EVENTS | {"rejected"}


def _wrong(pairs: Sequence[tuple[str, object, object]]) -> str | None:
    """``key is ACTUAL`` for each (key, wanted, actual) whose wanted value is given and differs."""
    wrong = [f"{key} is {actual!r}" for key, want, actual in pairs if want is not None and actual != want]
    return "; ".join(wrong) or None


class Checker:
    """Answers checks on ``stage``: None when a check holds, else what was there instead."""

    def __init__(self, scenario: Scenario, stage: Stage, resolver: Resolver) -> None:
        self.scenario = scenario
        self.stage = stage
        self.records = resolver

    async def seen(
        self, step: Step, check: CheckKind, refused: str | None, events: list[Event]
    ) -> str | None:
        match check:
            case StateCheck():
                return await self._state(check)
            case DataCheck():
                return await self._data(check)
            case StreamCheck():
                return await self._stream(step, check, events)
            case RefusedCheck():
                if refused is None:
                    return "the action was not refused"
                if check.reason is not None and check.reason.casefold() not in refused.casefold():
                    return f"the reason was {refused!r}"
                return None
            case _:
                assert_never(check)

    # what an iPad shows -------------------------------------------------------------------------
    async def _state(self, check: StateCheckKind) -> str | None:
        match check:
            case QueueCheck():
                return await self._queue(check)
            case SyncErrorsCheck():
                return await self._sync_errors(check)
            case WaitingCheck():
                return await self._waiting(check)
            case LossCheck():
                return self._loss(check)
            case NoticeCheck():
                return self._notice(check)
            case DeviceCheck():
                return self._device(check)
            case SyncWidgetCheck():
                widget = self.records.device(check.device).sync_widget()
                return _wrong(
                    [
                        ("state", check.state, widget.state),
                        ("pending", check.pending, widget.pending),
                        ("colour", check.colour, widget.colour),
                        ("errors", check.errors, widget.errors),
                        ("remind", check.remind, widget.remind),
                        ("days_since", check.days_since, widget.days_since),
                    ]
                )
            case RefreshCheck():
                refresh = self.records.device(check.device).refresh
                return _wrong(
                    [("state", check.state, refresh.state), ("colour", check.colour, refresh.colour())]
                )
            case DatasetCheck():
                return self._dataset(check)
            case _:
                assert_never(check)

    async def _queue(self, check: QueueCheck) -> str | None:
        d = self.records.device(check.device)
        queue = d.queue()
        labels = [i.label for i in queue]
        if check.count is not None and len(queue) != check.count:
            return f"it holds {len(queue)}: {labels}"
        if check.records is not None:
            want = [(await self.records.id(r, d.id))[1] for r in check.records]
            if [i.items[0]["id"] for i in queue] != want:
                return f"it holds {labels}"
        if check.labels is not None and not _parts_of(check.labels, labels):
            return f"it holds {labels}"
        if check.sizes is not None and [len(i.items) for i in queue] != list(check.sizes):
            return f"the items hold {[len(i.items) for i in queue]} records"
        if check.sends is not None:
            root = queue[0].items[0] if queue else {}
            want_changes = {k: {"old": s.old, "new": s.new} for k, s in check.sends.items()}
            if root.get("op") != "update" or root.get("changes") != want_changes:
                return f"the first item sends {root.get('changes', root.get('fields'))}"
        if check.head_state is not None and (not queue or queue[0].state != check.head_state):
            return "the queue is empty" if not queue else f"the first item is {queue[0].state}"
        return None

    async def _sync_errors(self, check: SyncErrorsCheck) -> str | None:
        d = self.records.device(check.device)
        errors = d.sync_errors()
        if check.record is not None:
            _obj, rid = await self.records.id(check.record, d.id)
            errors = [e for e in errors if rid in e.record_ids()]
        if check.count is not None and len(errors) != check.count:
            return f"there are {len(errors)}: {[e.message for e in errors]}"
        if check.record is not None and check.count is None and not errors:
            return "there is no sync error for it"
        if check.actions is not None:
            offered = [list(d.error_actions(e)) for e in errors]
            if not errors:
                return "there is no sync error to act on"
            if offered != [list(check.actions)] * len(errors):
                return f"the Errors tab offers {offered}"
        if check.requested is not None:
            requested = None if check.requested == "nothing" else check.requested
            if not errors or any(e.requested != requested for e in errors):
                return f"requested: {[e.requested or 'nothing' for e in errors]}"
        wanted = [
            e
            for e in errors
            if (check.error is None or e.kind == check.error)
            and (check.message is None or check.message.casefold() in e.message.casefold())
        ]
        if (check.error is not None or check.message is not None) and not wanted:
            return f"the sync errors are {[(e.kind, e.message) for e in errors]}"
        return await self._conflict_values(check, d, [e.conflicts for e in wanted])

    async def _conflict_values(
        self, check: SyncErrorsCheck, d: Device, conflicts: list[list[dict[str, object]]]
    ) -> str | None:
        """A sync error whose conflict has, for each field, the previous, online and new values given."""
        if not check.values:
            return None
        for error in conflicts:
            by_field = {str(c.get("field")): c for c in error}
            if all(
                [
                    await self._conflict_holds(by_field.get(f), parts, d.id)
                    for f, parts in check.values.items()
                ]
            ):
                return None
        shown = [
            {k: c.get(k) for k in ("field", "previous", "online", "new")}
            for error in conflicts
            for c in error
        ]
        return f"the conflicts are {shown}" if shown else "there is no conflict"

    async def _conflict_holds(
        self, conflict: dict[str, object] | None, parts: Mapping[ConflictPart, FieldCheck], at: str
    ) -> bool:
        if conflict is None:
            return False
        return all([await self.records.holds(conflict.get(part), want, at) for part, want in parts.items()])

    async def _waiting(self, check: WaitingCheck) -> str | None:
        d = self.records.device(check.device)
        waiting = d.waiting()
        if check.record is not None:
            _obj, rid = await self.records.id(check.record, d.id)
            waiting = [(e, r) for e, r in waiting if rid in entry_ids(e)]
        reasons = [r for _, r in waiting]
        if check.count is not None and len(waiting) != check.count:
            return f"{len(waiting)} wait: {reasons}"
        if check.record is not None and check.count is None and not waiting:
            return "nothing waits for it"
        if check.reason is not None and not any(check.reason.casefold() in r.casefold() for r in reasons):
            return f"the reasons are {reasons}"
        return None

    def _loss(self, check: LossCheck) -> str | None:
        report = self.records.device(check.device).loss_report()
        if check.at_risk is not None and report.at_risk != check.at_risk:
            return f"{report.at_risk} would be lost: {report.queued + report.sync_errors}"
        if check.queued is not None and not _parts_of(check.queued, report.queued):
            return f"the queue holds {report.queued}"
        return None

    def _notice(self, check: NoticeCheck) -> str | None:
        d = self.records.device(check.device)
        kind = check.notice
        notices = [n.text for n in d.store.notices() if kind is None or n.kind == kind]
        if check.count is not None and len(notices) != check.count:
            return f"there are {len(notices)}: {notices}"
        only_kind = check.count is None and check.text is None and check.unread is None
        if kind is not None and only_kind and not notices:
            return f"there is no {kind} message"
        if check.text is not None and not any(check.text.casefold() in n.casefold() for n in notices):
            return f"the notices are {notices}"
        unread = [n.text for n in d.unread_notices() if kind is None or n.kind == kind]
        if check.unread is not None and len(unread) != check.unread:
            return f"{len(unread)} unread: {unread}"
        return None

    def _device(self, check: DeviceCheck) -> str | None:
        d = self.records.device(check.device)
        return _wrong(
            [
                ("traditional", check.traditional, d.traditional),
                ("eligible", check.eligible, d.profile.autosync_eligible),
                ("autosync_active", check.autosync_active, d.autosync_active),
                ("network", check.network, d.conditions.mode),
                ("foreground", check.foreground, d.foreground),
                ("screen", check.screen, "list" if d.screen is None else d.screen.mode),
                ("metadata_version", check.metadata_version, d.schema.version),
                ("blocked", check.blocked, d.blocking is not None),
                ("xray", check.xray, self.stage.xray.shown(d.id)),
            ]
        )

    def _dataset(self, check: DatasetCheck) -> str | None:
        d = self.records.device(check.at)
        datasets: dict[str, dict[str, object]] = d.store.setting("datasets", {})
        if check.name not in datasets:
            return f"{d.id} has no data set {check.name!r} (it has {sorted(datasets)})"
        dataset = datasets[check.name]
        if check.version is not None and dataset.get("version") != check.version:
            return f"its version is {dataset.get('version')}"
        items = dataset.get("items", [])
        names = [str(i.get("name", "")) for i in items] if isinstance(items, list) else []
        if check.item is not None and not any(check.item.casefold() in n.casefold() for n in names):
            return f"its items are {names}"
        return None

    # records --------------------------------------------------------------------------------------
    async def _data(self, check: DataCheckKind) -> str | None:
        match check:
            case RecordCheck():
                return await self._record(check)
            case MatchingCheck():
                found = await self.records.matching(check.query, check.at)
                if len(found) != check.count:
                    ids = [str(r.get("id")) for r in found]
                    return f"{len(found)} match" + (f": {ids[:10]}" if ids else "")
                return None
            case FeedCheck():
                return await self._feed(check)
            case _:
                assert_never(check)

    async def _record(self, check: RecordCheck) -> str | None:
        at = check.at
        where = "online" if at == ONLINE else f"on {at}"
        found = await self.records.resolve(check.record, at, missing_ok=True)
        row = None if found is None else await self.records.record(found[1], at, found[0])
        if check.exists is False:
            return None if row is None else f"it is there {where}"
        if row is None or found is None:
            return f"it is not there {where}"
        for name, expected in check.fields.items():
            actual = row.get(name)
            if not await self.records.holds(actual, expected, at):
                return f"{name} is {actual!r}"
        if check.state is not None:
            state = self.records.device(at).sync_state(found[1])
            if state != check.state:
                return f"its sync state is {state}"
        return await self._children(check, at, found[1])

    async def _children(self, check: RecordCheck, at: str, record_id: str) -> str | None:
        """The record's child records of each object: exactly as many as the check says."""
        have = {}
        for child, count in check.children.items():
            master_field, _master = object_schema().masters[child]
            rows = await self.records.records(child, at)
            have[child] = sum(1 for r in rows if r.get(master_field) == record_id)
            if have[child] != count:
                return f"it has {have[child]} {child} records"
        return None

    async def _feed(self, check: FeedCheck) -> str | None:
        page = await self.stage.online("GET", f"/feeds/{check.user}")
        entries = page["entries"]
        ids = [{r["id"] for r in e["records"]} for e in entries]
        if check.count is not None and len(entries) != check.count:
            return f"it holds {len(entries)} entries"
        for ref, present in ((check.record, True), (check.not_record, False)):
            if ref is not None:
                found = await self.records.resolve(ref, ONLINE, missing_ok=not present)
                on_feed = found is not None and any(found[1] in i for i in ids)
                if on_feed != present:
                    return f"{describe_ref(ref)} is {'not ' if present else ''}on the feed"
        return None

    # the event stream -----------------------------------------------------------------------------
    def _pool(self, since: Since | None, events: list[Event]) -> list[Event]:
        return self.stage.events.events if since == "start" else events

    async def _stream(self, step: Step, check: StreamCheckKind, events: list[Event]) -> str | None:
        match check:
            case EventCheck():
                return await self._event(step, check, self._pool(check.since, events))
            case InOrderCheck():
                return await self._in_order(step, check, self._pool(check.since, events))
            case UploadsCheck():
                return await self._uploads(step, check, self._pool(check.since, events))
            case NeverCheck():
                return await self.never(step, check.pattern, events)
            case _:
                assert_never(check)

    async def matching_events(self, step: Step, pattern: EventPattern, events: list[Event]) -> list[Event]:
        """The events ``pattern`` describes (its record is looked up where the events are)."""
        matched = [e for e in events if e.kind == pattern.kind]
        if pattern.at is not None:
            actor = (
                f"device:{pattern.at}" if pattern.at in {d.id for d in self.scenario.devices} else pattern.at
            )
            matched = [e for e in matched if e.actor == actor]
        if pattern.text is not None:
            text = pattern.text.casefold()
            matched = [e for e in matched if text in e.text.casefold()]
        if pattern.record is not None:
            found = await self.records.resolve(pattern.record, self._place(step, pattern.at), missing_ok=True)
            matched = [e for e in matched if found is not None and e.record and e.record[1] == found[1]]
        return matched

    def _place(self, step: Step, at: str | None) -> str:
        """Where a record an event check names is looked up: its iPad, the step's, else online."""
        place = at or step.device or ONLINE
        return place if place in self.stage.devices else ONLINE

    async def _event(self, step: Step, check: EventCheck, pool: list[Event]) -> str | None:
        matched = await self.matching_events(step, check.pattern(), pool)
        if check.count is not None:
            return None if len(matched) == check.count else f"there were {len(matched)}"
        if not matched:
            same = [e.text for e in pool if e.kind == check.event][-3:]
            return "there was none" + (f" (of that kind: {same})" if same else "")
        return None

    async def _in_order(self, step: Step, check: InOrderCheck, pool: list[Event]) -> str | None:
        after, previous = 0, None
        for pattern in check.events:
            matched = [e for e in await self.matching_events(step, pattern, pool) if e.seq > after]
            if not matched:
                if previous is None:
                    return f"there was no {pattern.describe()}"
                return f"there was no {pattern.describe()} after the {previous.describe()} (event {after})"
            after, previous = matched[0].seq, pattern
        return None

    async def _uploads(self, step: Step, check: UploadsCheck, pool: list[Event]) -> str | None:
        actor = None if check.at is None else f"device:{check.at}"
        answers = [e for e in pool if e.kind in UPLOAD_ANSWERS and (actor is None or e.actor == actor)]
        place = self._place(step, check.at)
        want = [await self.records.resolve(r, place, missing_ok=True) for r in check.records]
        have = [e.record[1] if e.record else None for e in answers]
        if have != [None if w is None else w[1] for w in want]:
            return f"the server answered {self._names(answers, check.records, want)}"
        return None

    def _names(
        self, answers: list[Event], refs: tuple[RecordRef, ...], found: list[tuple[str, str] | None]
    ) -> list[str]:
        """The records of ``answers`` by the scenario's names where it has one."""
        names = {rid: name for name, (_obj, rid) in self.records.refs.items()}
        names |= {f[1]: describe_ref(r) for r, f in zip(refs, found, strict=True) if f is not None}
        return [
            names.get(e.record[1], f"{e.record[0]} {e.record[1]}") if e.record else e.text for e in answers
        ]

    async def never(self, step: Step, pattern: EventPattern, events: list[Event]) -> str | None:
        """None if none of ``events`` is the one ``pattern`` forbids, else when it happened."""
        matched = await self.matching_events(step, pattern, events)
        if not matched:
            return None
        first = matched[0]
        return f"it happened at {first.time:%d %b %H:%M:%S}: {first.text}"


def _parts_of(wanted: Sequence[str], have: Sequence[str]) -> bool:
    """Each wanted text a part of the label in its place (as many labels as wanted)."""
    return len(wanted) == len(have) and all(
        w.casefold() in h.casefold() for w, h in zip(wanted, have, strict=True)
    )


@dataclass
class Watch:
    """A ``never:`` check open over the steps after its own.

    ``steps_left``: steps still in the window (a window of steps); ``until``: the emulated time
    it ends (a window of time); neither: to the end of the scenario.
    """

    check: NeverCheck
    step: Step  # the step that opened it (its device is where the check's record is looked up)
    began: datetime
    steps_left: int | None
    until: datetime | None

    @classmethod
    def open(cls, check: NeverCheck, step: Step, began: datetime) -> Watch:
        during = check.during
        steps = during if isinstance(during, int) else None
        until = began + during if isinstance(during, timedelta) else None
        return cls(check, step, began, steps, until)

    def in_window(self, events: list[Event]) -> list[Event]:
        return [e for e in events if self.until is None or e.time < self.until]

    def closes(self, now: datetime) -> bool:
        """After one more step played: whether the window is over."""
        if self.steps_left is not None:
            self.steps_left -= 1
            return self.steps_left <= 0
        return self.until is not None and now >= self.until

    def unfinished(self, now: datetime) -> str | None:
        """At the end of the scenario: what was left of the window, or None (it was to the end)."""
        if self.steps_left is not None:
            return f"the scenario ended {self.steps_left} step(s) before the window did"
        if self.until is not None:
            return f"the scenario ended {format_duration(self.until - now)} before the window did"
        return None
