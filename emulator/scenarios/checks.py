"""What a step expects: one frozen class per check, in four groups (see :mod:`emulator.scenarios.model`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, ClassVar, get_args

from emulator.engine.error_actions import ErrorAction
from emulator.engine.events import KINDS as EVENT_KINDS
from emulator.scenarios.specs import (
    Boolean,
    ChildCounts,
    Choice,
    Conflicts,
    DeviceId,
    During,
    EventPlace,
    FieldValues,
    Key,
    ListOf,
    Nested,
    Place,
    Ref,
    Refused,
    Sends,
    Subject,
    Switch,
    Text,
    UserId,
    Whole,
)
from emulator.scenarios.values import (
    ERROR_ACTIONS,
    NETWORK_MODES,
    REFRESH_COLOURS,
    REFRESH_STATES,
    SYNC_STATES,
    WIDGET_COLOURS,
    WIDGET_STATES,
    ConflictPart,
    EventPattern,
    FieldCheck,
    HeadState,
    NetworkMode,
    NoticeKind,
    Query,
    RecordRef,
    RefreshColour,
    RefreshState,
    Requested,
    Screen,
    Sent,
    Since,
    WidgetColour,
    WidgetState,
)


# checks ---------------------------------------------------------------------------------------------
class Check:
    """One ``expect`` check. ``kind`` is its YAML key; ``example`` a step showing it."""

    kind: ClassVar[str]
    example: ClassVar[str]
    line: int

    def describe(self) -> str:
        from emulator.scenarios.model import describe_check  # the describer sees every check

        return describe_check(self)  # type: ignore[arg-type]  # every concrete check is a CheckKind


class StateCheck(Check):
    """What one iPad shows or holds: its queue, sync errors, messages, widgets."""


class DataCheck(Check):
    """Records: on an iPad, online, on a user's feed."""


class StreamCheck(Check):
    """The event stream: what happened, in which order, and what never did."""


_COUNT = "how many, exactly"


@dataclass(frozen=True, kw_only=True)
class QueueCheck(StateCheck):
    """The iPad's upload queue (X-ray): how many items, which records, their labels and sizes."""

    kind: ClassVar[str] = "queue"
    example: ClassVar[str] = """
    - {device: pro, network: offline}
    - device: pro
      edit: harper
      set: {phone__v: "+1 617-555-0100"}
      then: save
      expect:
        - {queue: pro, count: 1, records: [harper], sizes: [1], head_state: queued}
        - {queue: pro, sends: {phone__v: {old: "+1 617-555-0142", new: "+1 617-555-0100"}}}
    """
    device: Annotated[str, Subject(DeviceId(), "the iPad")]
    count: Annotated[int | None, Key(Whole(), _COUNT)] = None
    records: Annotated[tuple[RecordRef, ...] | None, Key(ListOf(Ref()), "each item's record, in order")] = (
        None
    )
    labels: Annotated[
        tuple[str, ...] | None, Key(ListOf(Text()), "a part of each item's label, in order")
    ] = None
    sizes: Annotated[tuple[int, ...] | None, Key(ListOf(Whole(1)), "how many records each item holds")] = None
    head_state: Annotated[HeadState | None, Key(Choice(get_args(HeadState)), "the first item's state")] = None
    sends: Annotated[
        Mapping[str, Sent] | None, Key(Sends(), "AS-08: what the first item sends for its record")
    ] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class SyncErrorsCheck(StateCheck):
    """The iPad's sync errors (its Errors tab): how many, what kind, the conflict's values, the actions."""

    kind: ClassVar[str] = "sync_errors"
    example: ClassVar[str] = """
    - {device: air, network: offline}
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - {device: air, edit: harper, set: {phone__v: "+1 617-555-0199"}, then: save}
    - device: air
      network: online
      expect:
        - {sync_errors: air, count: 1, kind: conflict, record: harper, actions: [undo]}
        - sync_errors: air
          record: harper
          values:
            phone__v: {previous: "+1 617-555-0142", online: "+1 617-555-0100", new: "+1 617-555-0199"}
    """
    device: Annotated[str, Subject(DeviceId(), "the iPad")]
    count: Annotated[int | None, Key(Whole(), _COUNT)] = None
    error: Annotated[str | None, Key(Text(), "the kind of error (conflict, validation ...)", key="kind")] = (
        None
    )
    message: Annotated[str | None, Key(Text(), "a part of the error's message")] = None
    record: Annotated[RecordRef | None, Key(Ref(), "only the errors on this record")] = None
    actions: Annotated[
        tuple[ErrorAction, ...] | None,
        Key(ListOf(Choice(ERROR_ACTIONS)), "what the Errors tab offers for each"),
    ] = None
    requested: Annotated[
        Requested | None, Key(Choice(get_args(Requested)), "what the rep asked for (done at the next sync)")
    ] = None
    values: Annotated[
        Mapping[str, Mapping[ConflictPart, FieldCheck]],
        Key(Conflicts(), "a conflict's values per field: the previous one sent, the online one, the new one"),
    ] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class WaitingCheck(StateCheck):
    """Updates downloaded but waiting to merge (X-ray), and why they wait (AS-21 to AS-23)."""

    kind: ClassVar[str] = "waiting"
    example: ClassVar[str] = """
    - {device: air, open: harper}
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - advance: 30s
      expect:
        - {waiting: air, count: 1, record: harper, reason: open}
    """
    device: Annotated[str, Subject(DeviceId(), "the iPad")]
    count: Annotated[int | None, Key(Whole(), _COUNT)] = None
    record: Annotated[RecordRef | None, Key(Ref(), "only the updates for this record")] = None
    reason: Annotated[str | None, Key(Text(), "a part of why one of them waits")] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class LossCheck(StateCheck):
    """What losing the iPad now would lose: its queue and sync errors (AS-31)."""

    kind: ClassVar[str] = "loss"
    example: ClassVar[str] = """
    - {device: pro, network: offline}
    - device: pro
      edit: harper
      set: {phone__v: "+1 617-555-0100"}
      then: save
      expect:
        - {loss: pro, at_risk: 1, queued: [Harper]}
    """
    device: Annotated[str, Subject(DeviceId(), "the iPad")]
    at_risk: Annotated[int | None, Key(Whole(), "how many changes would be lost")] = None
    queued: Annotated[tuple[str, ...] | None, Key(ListOf(Text()), "a part of each queued item's label")] = (
        None
    )
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class NoticeCheck(StateCheck):
    """The app's messages to the rep: sync errors, failed syncs, discarded edits, reminders; how many
    are unread."""

    kind: ClassVar[str] = "notice"
    example: ClassVar[str] = """
    - device: pro
      edit: harper
      set: {last_name__v: ""}
      then: save
      expect:
        - {notice: pro, kind: sync_error, unread: 1, text: Sync error}
    """
    device: Annotated[str, Subject(DeviceId(), "the iPad")]
    text: Annotated[str | None, Key(Text(), "a part of one message")] = None
    count: Annotated[int | None, Key(Whole(), _COUNT)] = None
    notice: Annotated[
        NoticeKind | None, Key(Choice(get_args(NoticeKind)), "only messages of this kind", key="kind")
    ] = None
    unread: Annotated[int | None, Key(Whole(), "how many are not dismissed yet")] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class DeviceCheck(StateCheck):
    """The iPad itself: its sync mode, network, app, screen, metadata, whether a sync blocks it."""

    kind: ClassVar[str] = "device"
    example: ClassVar[str] = """
    - say: Anna's Pro at the start.
      expect:
        - {device: pro, network: online, foreground: true, screen: list, blocked: false, xray: on}
        - {device: pro, traditional: false, eligible: true, autosync_active: true}
    """
    device: Annotated[str, Subject(DeviceId(), "the iPad")]
    traditional: Annotated[bool | None, Key(Boolean(), "in traditional sync (AS-32)")] = None
    eligible: Annotated[bool | None, Key(Boolean(), "its model and iOS allow Autosync (AS-29)")] = None
    autosync_active: Annotated[bool | None, Key(Boolean(), "Autosync is running")] = None
    network: Annotated[NetworkMode | None, Key(Choice(NETWORK_MODES), "its network")] = None
    foreground: Annotated[bool | None, Key(Boolean(), "the app is in the foreground")] = None
    screen: Annotated[Screen | None, Key(Choice(get_args(Screen)), "the screen shown")] = None
    metadata_version: Annotated[int | None, Key(Whole(), "the metadata version it has")] = None
    blocked: Annotated[bool | None, Key(Boolean(), "a blocking sync runs")] = None
    xray: Annotated[bool | None, Key(Switch(), "the X-ray view is shown")] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class SyncWidgetCheck(StateCheck):
    """The Home page's Sync widget (AS-33)."""

    kind: ClassVar[str] = "sync_widget"
    example: ClassVar[str] = """
    - say: Everything is synced.
      expect:
        - {sync_widget: pro, state: up_to_date, colour: green, pending: 0, errors: 0, remind: false}
    """
    device: Annotated[str, Subject(DeviceId(), "the iPad")]
    state: Annotated[WidgetState | None, Key(Choice(WIDGET_STATES), "what it shows")] = None
    pending: Annotated[int | None, Key(Whole(), "the pending uploads it counts (Orders not counted)")] = None
    colour: Annotated[WidgetColour | None, Key(Choice(WIDGET_COLOURS), "its colour")] = None
    errors: Annotated[int | None, Key(Whole(), "the sync errors it counts")] = None
    remind: Annotated[bool | None, Key(Boolean(), "it reminds the rep to sync")] = None
    days_since: Annotated[int | None, Key(Whole(), "whole days since the last incremental sync")] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class RefreshCheck(StateCheck):
    """Refresh mode on the iPad, and the colour of its Apply Update button (AS-36)."""

    kind: ClassVar[str] = "refresh"
    example: ClassVar[str] = """
    - say: Refresh mode is off in the sample world.
      expect:
        - {refresh: pro, state: off}
    """
    device: Annotated[str, Subject(DeviceId(), "the iPad")]
    state: Annotated[RefreshState | None, Key(Choice(REFRESH_STATES), "its state")] = None
    colour: Annotated[
        RefreshColour | None, Key(Choice(REFRESH_COLOURS), "the Apply Update button's colour")
    ] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class DatasetCheck(StateCheck):
    """A data set on an iPad (content, formularies ...): its version and items."""

    kind: ClassVar[str] = "dataset"
    example: ClassVar[str] = """
    - publish_content: {kind: clm, name: Verbacept Starter Kit}
    - device: pro
      incremental_sync:
      expect:
        - {dataset: clm_content, item: Verbacept Starter Kit}
    """
    name: Annotated[str, Subject(Text(), "the data set")]
    at: Annotated[str, Key(Place(online=False), "the iPad (default: the step's)", from_step=True)]
    item: Annotated[str | None, Key(Text(), "a part of one item's name")] = None
    version: Annotated[int | None, Key(Whole(), "its version")] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class RecordCheck(DataCheck):
    """A record on an iPad or online: whether it is there, its values, its sync state, its children."""

    kind: ClassVar[str] = "record"
    example: ClassVar[str] = """
    - device: pro
      new: order__v
      as: order
      set: {account__v: "@harper", order_date__v: today}
      children:
        - {add: order_line__v, set: {product__v: labrinone__c, quantity__v: 2, list_price__v: 1.0}}
      then: save
      expect:
        - {record: harper, at: pro, fields: {phone__v: "+1 617-555-0142"}, state: synced}
        - {record: order, at: online, fields: {name__v: {starts_with: ORD-}}, children: {order_line__v: 1}}
        - {record: {object: account__v, where: {last_name__v: Nobody}}, at: online, exists: false}
    """
    record: Annotated[RecordRef, Subject(Ref(), "the record")]
    at: Annotated[str, Key(Place(), "where to look (default: the step's iPad)", from_step=True)]
    fields: Annotated[Mapping[str, FieldCheck], Key(FieldValues(matchers=True), "its field values")] = field(
        default_factory=dict
    )
    state: Annotated[str | None, Key(Choice(SYNC_STATES), "its sync state on the iPad (X-ray)")] = None
    exists: Annotated[bool | None, Key(Boolean(), "whether it is there at all")] = None
    children: Annotated[
        Mapping[str, int], Key(ChildCounts(), "how many child records of each object it has there")
    ] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class MatchingCheck(DataCheck):
    """Exactly how many records of an object match, on an iPad or online (duplicates, lost records)."""

    kind: ClassVar[str] = "matching"
    example: ClassVar[str] = """
    - say: Anna's North-East accounts.
      expect:
        - {matching: {object: account__v, where: {last_name__v: Harper}}, at: online, count: 1}
        - matching: {object: call2__v, where: {account__v: "@harper", status__v: {not: submitted__v}}}
          at: pro
          count: 0
    """
    query: Annotated[Query, Subject(Nested(Query, "query"), "the object and the fields to match")]
    at: Annotated[str, Key(Place(), "where to look (default: the step's iPad)", from_step=True)]
    count: Annotated[int, Key(Whole(), "how many match", needs="count: (how many records match, exactly)")]
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class FeedCheck(DataCheck):
    """A user's feed on the server: how many entries, which records are on it."""

    kind: ClassVar[str] = "feed"
    example: ClassVar[str] = """
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - say: The save is on Anna's feed.
      expect:
        - {feed: anna, count: 1, record: harper}
    """
    user: Annotated[str, Subject(UserId(), "the user", what="feed (a user)")]
    count: Annotated[int | None, Key(Whole(), "how many entries")] = None
    record: Annotated[RecordRef | None, Key(Ref(), "a record that is on it")] = None
    not_record: Annotated[RecordRef | None, Key(Ref(), "a record that is not on it")] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class EventCheck(StreamCheck):
    """An event happened during the step (or since the start): of a kind, by whom, with which words."""

    kind: ClassVar[str] = "event"
    example: ClassVar[str] = """
    - device: pro
      edit: harper
      set: {phone__v: "+1 617-555-0100"}
      then: save
      expect:
        - {event: uploaded, at: pro, record: harper, count: 1}
        - {event: put_on_feed, at: feed:anna, since: start}
    """
    event: Annotated[str, Subject(Choice(EVENT_KINDS), "the kind of event")]
    at: Annotated[str | None, Key(EventPlace(), "who had it")] = None
    text: Annotated[str | None, Key(Text(), "a part of its sentence, in any case")] = None
    record: Annotated[RecordRef | None, Key(Ref(), "the record it is about")] = None
    count: Annotated[int | None, Key(Whole(), "how many such events, exactly (default: at least one)")] = None
    since: Annotated[Since | None, Key(Choice(get_args(Since)), "`step` (the default) or `start`")] = None

    def pattern(self) -> EventPattern:
        return EventPattern(kind=self.event, at=self.at, text=self.text, record=self.record)

    line: int = 0


@dataclass(frozen=True, kw_only=True)
class InOrderCheck(StreamCheck):
    """These events happened in this order (others may come between them)."""

    kind: ClassVar[str] = "in_order"
    example: ClassVar[str] = """
    - device: pro
      edit: harper
      set: {phone__v: "+1 617-555-0100"}
      then: save
      expect:
        - in_order:
            - {event: saved, at: pro}
            - {event: queued, at: pro}
            - {event: uploaded, at: pro, record: harper}
            - {event: put_on_feed, at: feed:anna}
    """
    events: Annotated[
        tuple[EventPattern, ...],
        Subject(ListOf(Nested(EventPattern, "event_pattern"), minimum=2), "the events, first to last"),
    ]
    since: Annotated[Since | None, Key(Choice(get_args(Since)), "`step` (the default) or `start`")] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class UploadsCheck(StreamCheck):
    """The uploads the server answered, in the order its answers came: exactly these records."""

    kind: ClassVar[str] = "uploads"
    example: ClassVar[str] = """
    - {device: pro, network: offline}
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - device: pro
      new: call2__v
      as: visit
      set: {account__v: "@harper", call_date__v: today}
      then: save
    - device: pro
      network: online
      expect:
        - {uploads: [harper, visit], at: pro}
    """
    records: Annotated[tuple[RecordRef, ...], Subject(ListOf(Ref()), "each upload's record, first to last")]
    at: Annotated[str | None, Key(DeviceId(), "only the uploads of this iPad")] = None
    since: Annotated[Since | None, Key(Choice(get_args(Since)), "`step` (the default) or `start`")] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class NeverCheck(StreamCheck):
    """This never happens from this step on: during some steps, some emulated time, or to the end.

    It holds until the first such event: it fails at the step that has one, or passes when the
    window closes (reported with the step that closes it). A window longer than the scenario fails.
    """

    kind: ClassVar[str] = "never"
    example: ClassVar[str] = """
    - device: air
      network: offline
      expect:
        - {never: {event: downloaded, at: air}, during: 3 steps}
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - {advance: 5m}
    """
    pattern: Annotated[
        EventPattern, Subject(Nested(EventPattern, "event_pattern"), "the event that must not happen")
    ]
    during: Annotated[
        int | timedelta | None, Key(During(), "how long: `N steps` or emulated time (default: to the end)")
    ] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class RefusedCheck(Check):
    """The step's action is refused, as the app refuses it (a message instead of doing it)."""

    kind: ClassVar[str] = "refused"
    example: ClassVar[str] = """
    - {device: pro, edit: harper}
    - device: pro
      open: harper
      expect:
        - {refused: edit screen first}
    """
    reason: Annotated[str | None, Subject(Refused(), "a part of the reason (true: any reason)")] = None
    line: int = 0


StateCheckKind = (
    QueueCheck
    | SyncErrorsCheck
    | WaitingCheck
    | LossCheck
    | NoticeCheck
    | DeviceCheck
    | SyncWidgetCheck
    | RefreshCheck
    | DatasetCheck
)
DataCheckKind = RecordCheck | MatchingCheck | FeedCheck
StreamCheckKind = EventCheck | InOrderCheck | UploadsCheck | NeverCheck
#: Every check.
CheckKind = StateCheckKind | DataCheckKind | StreamCheckKind | RefusedCheck
CHECK_GROUPS: tuple[tuple[type[Check], tuple[type[CheckKind], ...]], ...] = (
    (StateCheck, get_args(StateCheckKind)),
    (DataCheck, get_args(DataCheckKind)),
    (StreamCheck, get_args(StreamCheckKind)),
    (RefusedCheck, (RefusedCheck,)),
)
#: Each check class by its YAML key.
CHECKS: dict[str, type[CheckKind]] = {cls.kind: cls for _, group in CHECK_GROUPS for cls in group}
