"""The one event stream: every meaningful step of the emulated world, as structured events.

Activity logs, the timeline, scenario checks and bug bundles all read this stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal, NotRequired, TypeAlias, TypedDict, TypeVar, cast


class EventKind(StrEnum):
    """Kinds of event, and what they mean (the ``text`` of an event says it in plain words).

    A ``StrEnum``: a member equals its string (``EventKind.SAVED == "saved"``), so readers may
    compare with either, and the JSON of an event carries the plain string.
    """

    SAVED = "saved"  # a save is durable on the device (its data: the values and children it saved)
    DELETED = "deleted"  # a delete is durable on the device (its data: the record as it was)
    QUEUED = "queued"  # a queue item was added
    UPLOADING = "uploading"  # a queue item is being sent
    UPLOADED = "uploaded"  # the server saved it and the answer was applied
    REJECTED = "rejected"  # the server answered with a sync error
    DISCARDED_ONLINE = "discarded_online"  # the server discarded the edits (submitted elsewhere)
    DUPLICATED = "duplicated"  # the server saved the edits as a duplicate record
    RETRY_SCHEDULED = "retry_scheduled"  # a transport failure; the item stays at the head
    PUT_ON_FEED = "put_on_feed"  # the server put the saved records on the user's feed
    POLLED = "polled"  # the device read its feed
    DOWNLOADED = "downloaded"  # feed data was staged on the device
    MERGE_DEFERRED = "merge_deferred"  # downloaded data waits (open on screen, incomplete)
    MERGED = "merged"  # downloaded data was merged
    DOWNLOAD_DISCARDED = "download_discarded"  # downloaded data dropped: pending upload or sync error
    ACTION_REFUSED = "action_refused"  # AS-24
    FEED_MISSED = "feed_missed"  # AS-18
    SYNC_STARTED = "sync_started"
    SYNC_PROGRESS = "sync_progress"
    SYNC_FINISHED = "sync_finished"
    SYNC_FAILED = "sync_failed"
    NETWORK = "network"
    FOREGROUND = "foreground"
    MODE = "mode"
    SETTING = "setting"  # the user set a device's poll interval or feed page size, or armed a fault
    SCREEN = "screen"
    ERROR_ACTION = "error_action"  # Undo / Undelete requested on the Errors tab (AS-34)
    ERROR_RESOLVED = "error_resolved"  # an error undone, undeleted or cleared
    ALERT = "alert"  # the app showed its user a message (sync error modal, edits discarded, reminder)
    DISMISSED = "dismissed"  # the user read the app's messages (OK), up to ``through``
    REFRESH = "refresh"  # Refresh mode: started, paused, resumed, ready, applied (AS-36)
    DEVICE_ADDED = "device_added"
    DEVICE_REMOVED = "device_removed"
    ONLINE_CHANGE = "online_change"
    XRAY = "xray"  # the emulator's X-ray view switched on or off (a view, not the world)
    CLOCK = "clock"


#: Every kind's name, in the order above (the scenario format offers these).
KINDS: tuple[str, ...] = tuple(kind.value for kind in EventKind)
#: Events that tell an upload's answer; each carries :class:`AnswerData`.
ANSWER_KINDS = frozenset({EventKind.UPLOADED, EventKind.DUPLICATED, EventKind.DISCARDED_ONLINE})


#: A value a record's field holds (what the local store and the server keep).
FieldValue = str | int | float | bool | None
#: A record's fields by name.
Values = dict[str, FieldValue]
#: Any JSON value (the body of an admin call).
Json: TypeAlias = str | int | float | bool | list["Json"] | dict[str, "Json"] | None


class NoData(TypedDict):
    """A kind whose event carries no data (its text says it all)."""


class UploadData(TypedDict):
    """The data of ``uploading`` and ``put_on_feed``: which queue item."""

    transaction_id: str


class RetryData(UploadData):
    """``retry_scheduled``: the attempts made so far."""

    attempts: int


class RejectedData(UploadData):
    """``rejected``: a refusal (no ``error``) or a sync error of the server (its ``error`` kind)."""

    error: NotRequired[str]


class AnswerData(UploadData):
    """``uploaded``, ``duplicated``, ``discarded_online``: the server's answer to a queue item.

    ``id_map``: temporary ID -> server ID (AS-14); ``replayed``: the server had answered this
    transaction ID before (a retry) and answered it again without applying it.
    """

    replayed: bool
    id_map: dict[str, str]


class QueuedData(UploadData):
    """``queued``: the new queue item and its place in the queue."""

    seq: int


class ChildChange(TypedDict):
    """One related record a save added (``fields``), edited (``fields``, ``before``) or removed."""

    op: Literal["add", "edit", "remove"]
    object: str
    id: str
    fields: NotRequired[Values]
    before: NotRequired[Values]


class SavedData(TypedDict):
    """``saved``: the fields the user set to a new value, and each related record changed."""

    submitted: bool
    new: bool
    fields: Values
    children: list[ChildChange]


class DeletedData(TypedDict):
    """``deleted``: the record as it was."""

    values: Values


class PolledData(TypedDict):
    """``polled``: whether the feed could be read, and how many new entries it had."""

    ok: bool
    entries: NotRequired[int]


class FeedMissedData(TypedDict):
    """``feed_missed``: the feed's entries up to this sequence number expired unread (AS-18)."""

    purged_through: int


class StagedData(TypedDict):
    """``download_discarded``: which staged feed entry."""

    seq: int


class DownloadedData(StagedData):
    """``downloaded``: a feed entry staged, and the upload it came from."""

    transaction_id: str


class MergeDeferredData(StagedData):
    """``merge_deferred``: why the staged entry waits (AS-21 to AS-23)."""

    reason: str


class MergedData(StagedData):
    """``merged``: the records merged from the staged entry."""

    ids: list[str]


class ActionRefusedData(TypedDict):
    """``action_refused``: what the user tried (AS-24)."""

    action: Literal["edit", "submit", "delete"]


class SyncStartedData(TypedDict):
    """``sync_started``: a full refresh or an incremental sync."""

    full: bool


#: Why an incremental sync or a full refresh failed (its alert says it in the rep's words).
SyncFailReason = Literal["offline", "background", "upload", "no_answer", "server"]


class SyncFailedData(TypedDict):
    """``sync_failed``: why, and whether it was a full refresh."""

    reason: SyncFailReason
    full: bool


class SyncProgressData(TypedDict):
    """``sync_progress``: what the Sync widget and the progress window show."""

    done: int
    total: int
    phase: str
    uploaded: int
    to_upload: int
    downloaded: int
    to_download: int


class SyncFinishedData(TypedDict):
    """``sync_finished``: records updated and removed, and the sync errors left."""

    updated: int
    removed: int
    full: bool
    errors: int


NetworkMode = Literal["online", "offline", "lie-fi"]


class NetworkState(TypedDict):
    """A device's network conditions."""

    mode: NetworkMode
    latency: float  # seconds
    loss: float  # 0..1


class NetworkData(NetworkState):
    """``network``: the conditions now, and ``before`` the change."""

    before: NetworkState


class ForegroundData(TypedDict):
    """``foreground``: whether the app is in the foreground now."""

    foreground: bool


class ModeData(TypedDict):
    """``mode``: whether the device now behaves as with traditional sync."""

    traditional: bool


class SettingData(TypedDict):
    """``setting``: the poll interval (``seconds``), the feed page size or an armed fault (``value``)."""

    setting: Literal["poll_interval", "feed_page_size", "fault"]
    seconds: NotRequired[float]
    value: NotRequired[int | str]


class ScreenData(TypedDict):
    """``screen``: the screen now shown; ``new`` on opening an edit, ``closed`` on leaving one."""

    mode: Literal["list", "view", "edit"]
    new: NotRequired[bool]
    closed: NotRequired[Literal["save", "submit", "cancel"]]


class ErrorActionData(TypedDict):
    """``error_action``: Undo or Undelete requested, and the records of the error (root first)."""

    how: Literal["undo", "undelete"]
    records: list[str]


class ErrorResolvedData(TypedDict):
    """``error_resolved``: how the error went; ``records`` (root first) when the user cleared it."""

    how: Literal["undo", "undelete", "clear", "admin_clear"]
    records: NotRequired[list[str]]


class AlertData(TypedDict):
    """``alert``: the kind of message and its notice number."""

    alert: str
    notice: int


class DismissedData(TypedDict):
    """``dismissed``: the notices read, up to this number."""

    through: int


class RefreshData(TypedDict):
    """``refresh``: Refresh mode's phase; ``records`` downloaded when ready (AS-36)."""

    phase: Literal["started", "resumed", "restarted", "paused", "ready", "discarded", "applying", "applied"]
    records: NotRequired[int]


class DeviceData(TypedDict):
    """``device_added``, ``device_removed``: which device."""

    device: str


class OnlineChangeData(TypedDict):
    """``online_change``: the admin call (``method``, ``path``, ``body``)."""

    path: str
    method: str
    body: Json


class XrayData(TypedDict):
    """``xray``: the view on or off, on one device or (``None``) on every one."""

    on: bool
    device: str | None


#: The data each kind of event carries: the one declaration readers and emitters share.
EVENT_DATA: Mapping[EventKind, type] = MappingProxyType(
    {
        EventKind.SAVED: SavedData,
        EventKind.DELETED: DeletedData,
        EventKind.QUEUED: QueuedData,
        EventKind.UPLOADING: UploadData,
        EventKind.UPLOADED: AnswerData,
        EventKind.REJECTED: RejectedData,
        EventKind.DISCARDED_ONLINE: AnswerData,
        EventKind.DUPLICATED: AnswerData,
        EventKind.RETRY_SCHEDULED: RetryData,
        EventKind.PUT_ON_FEED: UploadData,
        EventKind.POLLED: PolledData,
        EventKind.DOWNLOADED: DownloadedData,
        EventKind.MERGE_DEFERRED: MergeDeferredData,
        EventKind.MERGED: MergedData,
        EventKind.DOWNLOAD_DISCARDED: StagedData,
        EventKind.ACTION_REFUSED: ActionRefusedData,
        EventKind.FEED_MISSED: FeedMissedData,
        EventKind.SYNC_STARTED: SyncStartedData,
        EventKind.SYNC_PROGRESS: SyncProgressData,
        EventKind.SYNC_FINISHED: SyncFinishedData,
        EventKind.SYNC_FAILED: SyncFailedData,
        EventKind.NETWORK: NetworkData,
        EventKind.FOREGROUND: ForegroundData,
        EventKind.MODE: ModeData,
        EventKind.SETTING: SettingData,
        EventKind.SCREEN: ScreenData,
        EventKind.ERROR_ACTION: ErrorActionData,
        EventKind.ERROR_RESOLVED: ErrorResolvedData,
        EventKind.ALERT: AlertData,
        EventKind.DISMISSED: DismissedData,
        EventKind.REFRESH: RefreshData,
        EventKind.DEVICE_ADDED: DeviceData,
        EventKind.DEVICE_REMOVED: DeviceData,
        EventKind.ONLINE_CHANGE: OnlineChangeData,
        EventKind.XRAY: XrayData,
        EventKind.CLOCK: NoData,
    }
)


def answer_data(event: Event) -> AnswerData | None:
    """The upload answer an event tells, typed; None for an event of another kind."""
    if event.kind not in ANSWER_KINDS:
        return None
    data = event.data_as(AnswerData)
    return AnswerData(  # a bug bundle from before ``replayed`` was told may lack it
        transaction_id=data["transaction_id"],
        replayed=data.get("replayed", False),
        id_map=dict(data.get("id_map", {})),
    )


D = TypeVar("D")


def _optional(shape: type) -> set[str]:
    """The keys a TypedDict marks ``NotRequired`` (its own and its bases'; read from the annotation
    text, since ``__required_keys__`` misses them under PEP 563)."""
    text = {k: getattr(h, "__forward_arg__", h) for k, h in shape.__annotations__.items()}
    return {key for key, hint in text.items() if str(hint).startswith("NotRequired[")}


def transaction_of(event: Event) -> str | None:
    """The queue item's transaction ID an event names (its kind's data carry one), else None."""
    if "transaction_id" not in EVENT_DATA[event.kind].__annotations__:
        return None
    return event.data_as(UploadData)["transaction_id"]


@dataclass(frozen=True)
class Event:
    """One step: who did what, to which record, when, in one plain sentence."""

    seq: int
    time: datetime
    actor: str  # "device:<id>", "server", "feed:<user>", "online", "stage"
    kind: EventKind
    text: str
    record: tuple[str, str] | None = None  # (object, id)
    data: Mapping[str, object] = field(default_factory=dict)  # its kind's EVENT_DATA: see data_as

    def __post_init__(self) -> None:
        # an event read back (a bug bundle, a test's hand-made event) may name its kind as text
        object.__setattr__(self, "kind", EventKind(self.kind))

    def data_as(self, shape: type[D]) -> D:
        """This event's data, typed as ``shape``: its kind's TypedDict (``EVENT_DATA``) or a part of it.

        ``event.data_as(AnswerData)["id_map"]``. Raises TypeError when this kind's data do not
        have every key ``shape`` requires (a reader asking the wrong kind is a bug, not a miss).
        """
        declared = EVENT_DATA[self.kind]
        wanted = set(getattr(shape, "__annotations__", {})) - _optional(shape)
        if not wanted <= declared.__annotations__.keys() - _optional(declared):
            raise TypeError(f"a {self.kind.value} event carries {declared.__name__}, not {shape.__name__}")
        return cast(D, self.data)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "actor": self.actor,
            "kind": self.kind.value,
            "text": self.text,
            "record": list(self.record) if self.record else None,
            "data": dict(self.data),
        }


class EventLog:
    """Keeps every event in order and tells subscribers about each new one."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self.events: list[Event] = []
        self._subscribers: list[Callable[[Event], None]] = []
        self.names: dict[str, str] = {}  # actor -> what people call it ("Anna's iPad Pro")

    def name_of(self, actor: str) -> str:
        """An actor as people call it: the iPad's name, else its ID in plain words."""
        if actor in self.names:
            return self.names[actor]
        kind, _, ident = actor.partition(":")
        return f"another iPad ({ident})" if kind == "device" else actor

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for each new event; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def emit(
        self,
        actor: str,
        kind: EventKind,
        text: str,
        record: tuple[str, str] | None = None,
        **data: object,
    ) -> Event:
        if not isinstance(kind, EventKind):  # a caller that mypy does not see (a plain string)
            raise TypeError(f"an event kind is an EventKind member, not {kind!r}")
        event = Event(len(self.events) + 1, self._now(), actor, kind, text, record, data)
        self.events.append(event)
        for callback in list(self._subscribers):
            callback(event)
        return event
