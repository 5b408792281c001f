"""What the Home page's Sync widget shows (AS-33), decided by a pure function.

The widget is in one of four states, the first that applies:

==============  =====================================  ============================================
state           looks like                             when
==============  =====================================  ============================================
``syncing``     orange circle, spinning arrows         an incremental sync or a full refresh runs;
                                                       it shows records uploaded and downloaded
``errors``      red circle, exclamation point          there are sync errors (tap: the Errors tab)
``pending``     orange circle with an arrow, a count   uploads wait in the queue; Orders are not
                (red after ``SYNC_WARN_INTERVAL``)     counted; red once the oldest has waited
                                                       longer than the user's warn interval (days)
``up_to_date``  green circle with a check              nothing of the above
==============  =====================================  ============================================

Whatever the state, it shows the date and time of the last successful incremental sync and the
days since, and the app reminds the user to sync once that is more than a day ago.

Decision: the pending count counts uploads (queue items: one per saved record, one per AS-05
family save), leaving out those whose record is an Order; the state is "pending" while anything
waits, even when only Orders do (the count then reads 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

WidgetState = Literal["syncing", "errors", "pending", "up_to_date"]
#: Objects the pending count leaves out (AS-33: "the count does not include Orders").
UNCOUNTED_OBJECTS = frozenset({"order__v"})
DEFAULT_WARN_DAYS = 3
REMIND_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class SyncProgress:
    """Records uploaded and downloaded so far by a running sync, out of how many."""

    uploaded: int = 0
    to_upload: int = 0
    downloaded: int = 0
    to_download: int = 0
    phase: str = "Connecting"


@dataclass(frozen=True)
class PendingUpload:
    """What the widget needs of a queue item: its record's object and when it was queued."""

    object: str
    queued_at: datetime


@dataclass(frozen=True)
class SyncWidget:
    """The Sync widget as the rep sees it."""

    state: WidgetState
    pending: int
    overdue: bool  # the pending count shows red
    errors: int
    progress: SyncProgress | None
    last_sync: datetime | None
    days_since: int | None
    remind: bool

    @property
    def colour(self) -> Literal["green", "orange", "red"]:
        if self.state == "up_to_date":
            return "green"
        if self.state == "errors" or (self.state == "pending" and self.overdue):
            return "red"
        return "orange"


def sync_widget(
    *,
    now: datetime,
    pending: Sequence[PendingUpload],
    errors: int,
    progress: SyncProgress | None,
    last_sync: datetime | None,
    warn_days: int = DEFAULT_WARN_DAYS,
) -> SyncWidget:
    """The widget for a device in this state (see the table above)."""
    counted = [p for p in pending if p.object not in UNCOUNTED_OBJECTS]
    oldest = min((p.queued_at for p in pending), default=None)
    overdue = oldest is not None and now - oldest > timedelta(days=warn_days)
    state: WidgetState
    if progress is not None:
        state = "syncing"
    elif errors:
        state = "errors"
    elif pending:
        state = "pending"
    else:
        state = "up_to_date"
    days_since = None if last_sync is None else (now.date() - last_sync.date()).days
    remind = last_sync is None or now - last_sync > REMIND_AFTER
    return SyncWidget(state, len(counted), overdue, errors, progress, last_sync, days_since, remind)
