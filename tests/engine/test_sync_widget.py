"""The Sync widget's state as a pure function, table by table (AS-33)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.engine.sync_widget import PendingUpload, SyncProgress, sync_widget

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def pending(*objects_and_ages: tuple[str, timedelta]) -> list[PendingUpload]:
    return [PendingUpload(obj, NOW - age) for obj, age in objects_and_ages]


@pytest.mark.rule("AS-33")
@pytest.mark.parametrize(
    ("queue", "errors", "progress", "state", "count", "colour"),
    [
        ([], 0, None, "up_to_date", 0, "green"),
        (pending(("account__v", HOUR)), 0, None, "pending", 1, "orange"),
        (pending(("account__v", HOUR), ("call2__v", HOUR)), 0, None, "pending", 2, "orange"),
        (pending(("order__v", HOUR), ("account__v", HOUR)), 0, None, "pending", 1, "orange"),
        (pending(("order__v", HOUR)), 0, None, "pending", 0, "orange"),
        (pending(("account__v", timedelta(days=3, seconds=1))), 0, None, "pending", 1, "red"),
        (pending(("order__v", timedelta(days=4))), 0, None, "pending", 0, "red"),
        (pending(("account__v", HOUR)), 2, None, "errors", 1, "red"),
        ([], 1, None, "errors", 0, "red"),
        (pending(("account__v", HOUR)), 1, SyncProgress(), "syncing", 1, "orange"),
    ],
    ids=[
        "nothing",
        "one pending",
        "two pending",
        "orders not counted",
        "only orders pending",
        "pending past the interval",
        "an old order turns it red too",
        "errors over pending",
        "errors",
        "syncing over everything",
    ],
)
def test_the_widget_state_count_and_colour(
    queue: list[PendingUpload],
    errors: int,
    progress: SyncProgress | None,
    state: str,
    count: int,
    colour: str,
) -> None:
    widget = sync_widget(now=NOW, pending=queue, errors=errors, progress=progress, last_sync=NOW - HOUR)
    assert (widget.state, widget.pending, widget.colour) == (state, count, colour)


@pytest.mark.rule("AS-33")
@pytest.mark.parametrize(
    ("warn_days", "age", "red"),
    [
        (3, timedelta(days=3), False),
        (3, timedelta(days=3, seconds=1), True),
        (1, timedelta(days=1, hours=1), True),
    ],
)
def test_pending_turns_red_after_the_warn_interval(warn_days: int, age: timedelta, red: bool) -> None:
    widget = sync_widget(
        now=NOW,
        pending=pending(("account__v", age)),
        errors=0,
        progress=None,
        last_sync=NOW,
        warn_days=warn_days,
    )
    assert widget.overdue is red


@pytest.mark.rule("AS-33")
@pytest.mark.parametrize(
    ("last_sync", "days_since", "remind"),
    [
        (NOW - HOUR, 0, False),
        (NOW - timedelta(hours=13), 1, False),
        (NOW - timedelta(days=1, seconds=1), 1, True),
        (NOW - timedelta(days=6), 6, True),
        (None, None, True),
    ],
)
def test_last_sync_days_since_and_the_reminder(
    last_sync: datetime | None, days_since: int | None, remind: bool
) -> None:
    widget = sync_widget(now=NOW, pending=[], errors=0, progress=None, last_sync=last_sync)
    assert (widget.days_since, widget.remind) == (days_since, remind)
