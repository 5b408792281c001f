"""The one event stream: every meaningful step of the emulated world, as structured events.

Activity logs, the timeline, scenario checks and bug bundles all read this stream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Kinds of event, and what they mean (the ``text`` of an event says it in plain words).
KINDS = (
    "saved",  # a save is durable on the device
    "queued",  # a queue item was added
    "uploading",  # a queue item is being sent
    "uploaded",  # the server saved it and the answer was applied
    "rejected",  # the server answered with a sync error
    "discarded_online",  # the server discarded the edits (submitted elsewhere)
    "duplicated",  # the server saved the edits as a duplicate record
    "retry_scheduled",  # a transport failure; the item stays at the head
    "put_on_feed",  # the server put the saved records on the user's feed
    "polled",  # the device read its feed
    "downloaded",  # feed data was staged on the device
    "merge_deferred",  # downloaded data waits (open on screen, incomplete)
    "merged",  # downloaded data was merged
    "download_discarded",  # downloaded data dropped: pending upload or sync error
    "action_refused",  # AS-24
    "feed_missed",  # AS-18
    "sync_started",
    "sync_progress",
    "sync_finished",
    "sync_failed",
    "network",
    "foreground",
    "mode",
    "screen",
    "error_action",  # Undo / Undelete requested on the Errors tab (AS-34)
    "error_resolved",  # an error undone, undeleted or cleared
    "alert",  # the app showed its user a message (sync error modal, edits discarded, reminder)
    "refresh",  # Refresh mode: started, paused, resumed, ready, applied (AS-36)
    "device_added",
    "device_removed",
    "online_change",
    "xray",  # the emulator's X-ray view switched on or off (a view, not the world)
    "clock",
)


@dataclass(frozen=True)
class Event:
    """One step: who did what, to which record, when, in one plain sentence."""

    seq: int
    time: datetime
    actor: str  # "device:<id>", "server", "feed:<user>", "online", "stage"
    kind: str
    text: str
    record: tuple[str, str] | None = None  # (object, id)
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time.isoformat().replace("+00:00", "Z"),
            "actor": self.actor,
            "kind": self.kind,
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
        kind: str,
        text: str,
        record: tuple[str, str] | None = None,
        **data: Any,
    ) -> Event:
        if kind not in KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        event = Event(len(self.events) + 1, self._now(), actor, kind, text, record, data)
        self.events.append(event)
        for callback in list(self._subscribers):
            callback(event)
        return event
