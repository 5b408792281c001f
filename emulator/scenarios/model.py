"""The scenario language as typed values: devices, named records, steps and their ``expect`` checks.

Each step's action and each check is a frozen class of a tagged union: the YAML key that names it
is its ``kind`` (``edit:``, ``network:``, ``queue:``, ``record:`` ...), its other keys are its
fields, declared with :mod:`emulator.scenarios.specs` (so the loader, the writer, the JSON
Schema and ``docs/scenarios.md`` all follow the same declaration). The classes come in groups,
and whoever acts on them (the runner, the describer below, the recorder) dispatches with a
``match`` on the group, then on the class:

* actions: :class:`ScreenAction` (what a rep does on the app's screens), :class:`SyncAction`
  (syncing and the Errors tab), :class:`ControlAction` (the emulator's controls under an iPad),
  :class:`OnlineAction` (the online side: online users, integrations, admins) and
  :class:`StageAction` (the clock and the X-ray view);
* checks: :class:`StateCheck` (what one iPad shows), :class:`DataCheck` (records on an iPad or
  online), :class:`StreamCheck` (the event stream) and :class:`RefusedCheck`.

Every step and check keeps the line it came from, so a problem found while running can still
name ``FILE:LINE``.

A record is named symbolically, never by a server ID (IDs differ between runs of the emulator
and between a device's temporary ID and the server's):

* ``harper``: a name from the scenario's ``records:`` section (a lookup, pinned to the record it
  first finds) or bound by ``as: harper`` on the step that created the record;
* ``{object: account__v, where: {last_name__v: Harper}}``: an inline lookup, resolved on the
  step's device (or online) each time it is used.

Inside field values, ``"@harper"`` stands for that record's ID (``"@@"`` starts a literal ``@``)
and ``today``, ``today+3``, ``today-1`` for dates relative to the emulated clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, assert_never

from emulator.engine.profile import MODELS
from emulator.scenarios.actions import (
    ActionKind,
    Advance,
    App,
    ApplyUpdate,
    Cancel,
    ClearSyncErrors,
    ControlAction,
    ControlStep,
    Delete,
    Dismiss,
    Edit,
    Fault,
    FeedPageSize,
    ForceFullRefresh,
    FullRefresh,
    IncrementalSync,
    Join,
    Leave,
    MetadataChange,
    Network,
    New,
    OnlineAction,
    OnlineCreate,
    OnlineEdit,
    OnlineStep,
    Open,
    Poll,
    PollInterval,
    PublishContent,
    RefreshDataset,
    Resolve,
    Restart,
    Save,
    ScreenAction,
    ScreenStep,
    SetFields,
    StageAction,
    StageStep,
    Submit,
    SyncAction,
    SyncMode,
    SyncSettings,
    SyncStep,
    TerritoryAlignment,
    ValidationRule,
    XRay,
)
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
from emulator.scenarios.specs import (
    Boolean,
    Choice,
    DeviceId,
    Expect,
    Key,
    ListOf,
    Moment,
    Nested,
    Records,
    StepList,
    Text,
    UserId,
    Whole,
    declared,
    format_duration,
    parse_duration,
)
from emulator.scenarios.values import (
    ONLINE,
    RULE_IDS,
    AddChild,
    Child,
    EditChild,
    Lookup,
    RecordRef,
    RemoveChild,
    Scalar,
    Then,
    describe_ref,
    values_text,
)

__all__ = [  # the language's vocabulary, from one place
    "RULE_IDS",
    "Lookup",
    "RecordRef",
    "describe_ref",
    "format_duration",
    "parse_duration",
]


# steps and scenarios ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One thing a person does (or nothing, for a step that only narrates or checks)."""

    action: ActionKind | None = None
    line: int = 0
    device: Annotated[
        str | None, Key(DeviceId(), "the iPad it happens on (needed when there are several)")
    ] = None
    say: Annotated[str | None, Key(Text(), "what the narrator says (shown large in the app)")] = None
    expect: Annotated[
        tuple[CheckKind, ...], Key(Expect(), "checks, after the step has been played and has settled")
    ] = ()
    setup: bool = False  # a starting step (from ``setup:``)

    @property
    def kind(self) -> str | None:
        """The action's YAML key (``edit``, ``advance`` ...), None for a step without one."""
        return None if self.action is None else self.action.kind

    def describe(self) -> str:
        return describe_step(self)


_MODEL = "iPad Pro 11-inch"
RULES = f"a rule ID of docs/rules.md, `{RULE_IDS[0]}` to `{RULE_IDS[-1]}`"


@dataclass(frozen=True)
class DeviceSpec:
    """A virtual iPad on the scenario's stage."""

    id: Annotated[str, Key(DeviceId(), "its ID, used by steps and checks")]
    name: Annotated[str, Key(Text(), "what people call it (default: its ID)", optional=True)]
    user: Annotated[str, Key(UserId(), "the user signed in")]
    model: Annotated[str, Key(Choice(tuple(MODELS)), f"the iPad model (default {_MODEL})")] = _MODEL
    ios: Annotated[str, Key(Text(), "the iOS version (default 17.5)")] = "17.5"
    later: Annotated[bool, Key(Boolean(), "it joins only at a `join:` step")] = False
    line: int = 0


@dataclass(frozen=True)
class Scenario:
    """A whole scenario file.

    Its ``steps`` are the file's ``setup:`` steps (marked ``setup``: the starting state, played
    before the story) and then its ``steps:``.
    """

    title: Annotated[str, Key(Text(), "what the scenario shows, in one line")]
    rules: Annotated[
        tuple[str, ...], Key(ListOf(Choice(RULE_IDS, RULES)), "the rules it shows", optional=True)
    ]
    devices: Annotated[
        tuple[DeviceSpec, ...], Key(ListOf(Nested(DeviceSpec, "device"), minimum=1), "its iPads")
    ]
    steps: Annotated[tuple[Step, ...], Key(StepList(), "what happens, step by step")]
    description: Annotated[str, Key(Text(), "the story in a few sentences")] = ""
    seed: Annotated[int, Key(Whole(), "the random seed (default 0): same seed, same run")] = 0
    start: Annotated[
        datetime | None, Key(Moment(), "the emulated time the stage starts at (default 2026-11-26T09:00:00Z)")
    ] = None
    records: Annotated[Mapping[str, Lookup], Key(Records(), "names for the records the steps use")] = field(
        default_factory=dict
    )
    path: Path | None = None
    source: str = "<scenario>"  # what messages call the file

    def where(self, line: int) -> str:
        return f"{self.source}:{line}"

    def device(self, device_id: str) -> DeviceSpec:
        return next(d for d in self.devices if d.id == device_id)


# plain descriptions -------------------------------------------------------------------------------
def setting_text(value: object) -> str:
    """A setting's value as a person reads it: ``on`` / ``off`` for a switch."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def describe_step(step: Step) -> str:
    """What the step does, in a short line (the ``say:`` text is told separately)."""
    a = step.action
    if a is None:
        return "check" if step.expect else "narration"
    match a:
        case ScreenAction():
            text = _describe_screen(a)
        case SyncAction():
            text = _describe_sync(a)
        case ControlAction():
            text = _describe_control(a)
        case OnlineAction():
            text = _describe_online(a)
        case StageAction():
            text = _describe_stage(a)
        case _:
            assert_never(a)
    return f"[{step.device}] {text}" if step.device else text


def _edits(fields: Mapping[str, Scalar], children: tuple[Child, ...], then: Then | None) -> str:
    text = f"; set {values_text(fields)}" if fields else ""
    for child in children:
        match child:
            case AddChild():
                text += f"; add {child.object} ({values_text(child.fields)})"
            case EditChild():
                text += f"; change {describe_ref(child.record)} ({values_text(child.fields)})"
            case RemoveChild():
                text += f"; remove {describe_ref(child.record)}"
            case _:
                assert_never(child)
    return text + (f"; then {then}" if then else "")


def _describe_screen(a: ScreenStep) -> str:
    match a:
        case Open():
            return f"open {describe_ref(a.record)} on the view screen"
        case Edit():
            return f"edit {describe_ref(a.record)}" + _edits(a.fields, a.children, a.then)
        case New():
            named = f" (as {a.bind})" if a.bind else ""
            return f"new {a.object}{named}" + _edits(a.fields, a.children, a.then)
        case SetFields():
            return "set" + _edits(a.fields, a.children, a.then)
        case Save() | Submit():
            return f"tap {a.kind.capitalize()}"
        case Cancel():
            return "tap Cancel"
        case Leave():
            return "leave the screen"
        case Delete():
            return f"delete {describe_ref(a.record)}"
        case _:
            assert_never(a)


def _describe_sync(a: SyncStep) -> str:
    match a:
        case Poll():
            return "poll the feed now"
        case IncrementalSync():
            return "run an incremental sync"
        case FullRefresh():
            return "Options ▸ Database ▸ Full Database Refresh"
        case ApplyUpdate():
            return "tap Apply Update"
        case Dismiss():
            return "tap OK on the app's message"
        case Resolve():
            return f"Errors tab: {a.how} the sync error on {describe_ref(a.record)}"
        case _:
            assert_never(a)


def _describe_control(a: ControlStep) -> str:
    match a:
        case Network():
            latency = "" if a.latency is None else f", latency {format_duration(a.latency)}"
            return f"network {a.mode}{latency}" + ("" if a.loss is None else f", loss {a.loss:g}")
        case App():
            return f"app to the {a.state}"
        case SyncMode():
            return f"switch to {a.mode} sync"
        case Fault():
            return f"the next request fails: {a.fault}"
        case FeedPageSize():
            return f"feed pages of {a.records} records"
        case PollInterval():
            return f"poll every {format_duration(a.interval)}"
        case Restart():
            return "restart the app"
        case Join():
            return "joins the stage"
        case _:
            assert_never(a)


def _describe_online(a: OnlineStep) -> str:
    match a:
        case OnlineEdit():
            return f"online: edit {describe_ref(a.record)}; set {values_text(a.fields)}"
        case OnlineCreate():
            named = f" (as {a.bind})" if a.bind else ""
            return f"online: create {a.object}{named}; set {values_text(a.fields)}"
        case TerritoryAlignment():
            return "online: territory alignment"
        case MetadataChange():
            return f"online: metadata change ({a.change})"
        case PublishContent():
            return f"online: publish {a.content} content {a.name!r}"
        case RefreshDataset():
            return f"online: new load of {a.name}"
        case ValidationRule():
            return f"online: validation rule {a.name} {setting_text(a.enabled)}"
        case SyncSettings():
            return f"online: sync settings for {a.user}: " + ", ".join(
                f"{k} {setting_text(v)}" for k, v in settings_of(a).items()
            )
        case ClearSyncErrors():
            return f"online: clear {a.user}'s client sync errors"
        case ForceFullRefresh():
            return f"online: force a full refresh on {a.user}'s iPads"
        case _:
            assert_never(a)


def _describe_stage(a: StageStep) -> str:
    match a:
        case Advance():
            return f"advance the clock {format_duration(a.by)}"
        case XRay():
            return f"X-ray view {setting_text(a.on)}"
        case _:
            assert_never(a)


def settings_of(a: SyncSettings) -> dict[str, bool | int]:
    """The settings an admin changes (those given), by the server's names."""
    out: dict[str, bool | int] = {}
    if a.refresh_mode is not None:
        out["refresh_mode"] = a.refresh_mode
    if a.sync_warn_interval_days is not None:
        out["sync_warn_interval_days"] = a.sync_warn_interval_days
    return out


def _details(check: CheckKind, *, skip: tuple[str, ...] = ()) -> str:
    """The check's options as ``key value`` pairs (the values as the file writes them)."""
    parts = []
    for d in declared(type(check)):
        value = getattr(check, d.name)
        if d.subject or d.name in skip or (not d.required and value == d.default):
            continue
        parts.append(f"{d.key} {d.meta.spec.plain(value)!r}")
    return ", ".join(parts)


def _headed(head: str, details: str) -> str:
    return f"{head}: {details}" if details else head


def describe_check(check: CheckKind) -> str:
    """What the check expects, in a short line."""
    match check:
        case StateCheck():
            return _describe_state(check)
        case DataCheck():
            return _describe_data(check)
        case StreamCheck():
            return _describe_stream(check)
        case RefusedCheck():
            return "the action is refused" + (f" ({check.reason!r})" if check.reason else "")
        case _:
            assert_never(check)


def _describe_state(check: StateCheckKind) -> str:
    match check:
        case QueueCheck():
            head = f"queue on {check.device}"
        case SyncErrorsCheck():
            head = f"sync errors on {check.device}"
        case WaitingCheck():
            head = f"updates waiting to merge on {check.device}"
        case LossCheck():
            head = f"what losing {check.device} would lose"
        case NoticeCheck():
            head = f"notices on {check.device}"
        case DeviceCheck():
            head = check.device
        case SyncWidgetCheck():
            head = f"the Sync widget on {check.device}"
        case RefreshCheck():
            head = f"Refresh mode on {check.device}"
        case DatasetCheck():
            return _headed(f"data set {check.name} on {check.at}", _details(check, skip=("at",)))
        case _:
            assert_never(check)
    return _headed(head, _details(check))


def _describe_data(check: DataCheckKind) -> str:
    match check:
        case RecordCheck():
            where = "online" if check.at == ONLINE else f"on {check.at}"
            parts = [] if check.exists is None else ["exists" if check.exists else "does not exist"]
            parts += [] if check.state is None else [f"sync state {check.state}"]
            parts += [values_text(check.fields)] if check.fields else []
            parts += [f"children {dict(check.children)!r}"] if check.children else []
            return _headed(f"{describe_ref(check.record)} {where}", ", ".join(parts))
        case MatchingCheck():
            where = "online" if check.at == ONLINE else f"on {check.at}"
            return f"{check.query.describe()} {where}: exactly {check.count}"
        case FeedCheck():
            return _headed(f"{check.user}'s feed", _details(check))
        case _:
            assert_never(check)


def _describe_stream(check: StreamCheckKind) -> str:
    match check:
        case EventCheck():
            where = f" on {check.at}" if check.at else ""
            scope = " since the start" if check.since == "start" else ""
            return _headed(f"event {check.event}{where}{scope}", _details(check, skip=("at", "since")))
        case InOrderCheck():
            scope = " since the start" if check.since == "start" else ""
            return f"events in order{scope}: " + " → ".join(p.describe() for p in check.events)
        case UploadsCheck():
            where = f" from {check.at}" if check.at else ""
            scope = " since the start" if check.since == "start" else ""
            names = ", ".join(describe_ref(r) for r in check.records) or "none"
            return f"uploads answered{where}{scope}, in order: {names}"
        case NeverCheck():
            window = "to the end" if check.during is None else f"during {plain_window(check.during)}"
            return f"never {check.pattern.describe()}, {window}"
        case _:
            assert_never(check)


def plain_window(during: int | timedelta) -> str:
    if isinstance(during, int):
        return f"{during} step" + ("" if during == 1 else "s")
    return format_duration(during)
