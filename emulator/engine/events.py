"""The one event stream: every meaningful step of the emulated world, as structured events.

Activity logs, the timeline, scenario checks and bug bundles all read this stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict


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


class UploadData(TypedDict):
    """The data of ``uploading``, ``retry_scheduled`` and ``rejected``: which queue item."""

    transaction_id: str


class RetryData(UploadData):
    """``retry_scheduled``: the attempts made so far."""

    attempts: int


class AnswerData(UploadData):
    """``uploaded``, ``duplicated``, ``discarded_online``: the server's answer to a queue item.

    ``id_map``: temporary ID -> server ID (AS-14); ``replayed``: the server had answered this
    transaction ID before (a retry) and answered it again without applying it.
    """

    replayed: bool
    id_map: dict[str, str]


def answer_data(event: Event) -> AnswerData | None:
    """The upload answer an event tells, typed; None for an event of another kind."""
    if event.kind not in ANSWER_KINDS:
        return None
    data = event.data
    return AnswerData(
        transaction_id=str(data["transaction_id"]),
        replayed=bool(data.get("replayed", False)),
        id_map={str(k): str(v) for k, v in (data.get("id_map") or {}).items()},
    )


@dataclass(frozen=True)
class Event:
    """One step: who did what, to which record, when, in one plain sentence."""

    seq: int
    time: datetime
    actor: str  # "device:<id>", "server", "feed:<user>", "online", "stage"
    kind: EventKind
    text: str
    record: tuple[str, str] | None = None  # (object, id)
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # an event read back (a bug bundle, a test's hand-made event) may name its kind as text
        object.__setattr__(self, "kind", EventKind(self.kind))

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "actor": self.actor,
            "kind": self.kind.value,
            "text": self.text,
            "record": list(self.record) if self.record else None,
            "data": self.data,
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
        **data: Any,
    ) -> Event:
        if not isinstance(kind, EventKind):  # a caller that mypy does not see (a plain string)
            raise TypeError(f"an event kind is an EventKind member, not {kind!r}")
        event = Event(len(self.events) + 1, self._now(), actor, kind, text, record, data)
        self.events.append(event)
        for callback in list(self._subscribers):
            callback(event)
        return event
