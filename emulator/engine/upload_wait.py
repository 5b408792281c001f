"""Why a queue item is not on its way to the server now: one pure decision (AS-03, AS-06, AS-32).

The uploader obeys it, the queued event says it, and the X-ray view shows it; none of them
decides on its own. In order, the first that holds:

========== ========================================================= =======================
reason     when                                                       an incremental sync
========== ========================================================= =======================
in_flight  the item is on the wire now                                 (it is already going)
traditional traditional sync: only a sync uploads (AS-32)             uploads it
offline    the app knows it has no network                             waits too
background the app is not in the foreground (AS-06)                    uploads it
backoff    a transport failure: retried at ``retry_at`` (AS-06)        uploads it now
========== ========================================================= =======================

Lie-fi is not a reason: the app thinks it is online, sends, and learns only from the timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from emulator.engine.localstore import QueueItem
from emulator.engine.timefmt import iso, parse_iso

WaitReason = Literal["in_flight", "traditional", "offline", "background", "backoff"]
#: What each reason waits for, in the words of the queue's events.
WAITS_FOR: dict[WaitReason, str] = {
    "in_flight": "the server's answer",
    "traditional": "a sync (traditional sync)",
    "offline": "connectivity",
    "background": "the foreground",
    "backoff": "its next retry",
}


@dataclass(frozen=True)
class UploadWait:
    """Why an item waits; ``retry_at`` and ``attempts`` for a ``backoff``."""

    reason: WaitReason
    retry_at: datetime | None = None
    attempts: int = 0

    @property
    def waits_for(self) -> str:
        """What it waits for: "connectivity", "the foreground" ..."""
        return WAITS_FOR[self.reason]

    def describe(self) -> str:
        """In words, as the X-ray view shows it: "Uploading", "Waits for connectivity", "Retry at ..."."""
        if self.reason == "in_flight":
            return "Uploading"
        if self.reason == "backoff" and self.retry_at is not None:
            return f"Retry at {self.retry_at:%H:%M:%S} (attempt {self.attempts + 1})"
        return f"Waits for {self.waits_for}"


def upload_wait(
    item: QueueItem,
    *,
    now: datetime,
    traditional: bool,
    foreground: bool,
    app_thinks_online: bool,
    manual: bool = False,
) -> UploadWait | None:
    """Why ``item`` is not sent now, or None if it may go (``manual``: an incremental sync's upload)."""
    if item.state == "uploading":
        return UploadWait("in_flight")
    if traditional and not manual:
        return UploadWait("traditional")
    if not app_thinks_online:
        return UploadWait("offline")
    if not foreground and not manual:
        return UploadWait("background")
    if item.next_attempt_at and str(item.next_attempt_at) > iso(now) and not manual:
        return UploadWait("backoff", parse_iso(str(item.next_attempt_at)), item.attempts)
    return None
