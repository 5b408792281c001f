"""Clocks the server reads its time from.

The server never calls ``datetime.now()`` itself: every created/modified date, feed-entry age and
seven-day expiry reads a :class:`Clock`. In-process, the stage hands over its emulated clock;
standalone, the server keeps a :class:`ManualClock` that an admin call can move forward.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

#: The moment every emulated world starts at unless told otherwise (a Thursday morning).
DEFAULT_START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class Clock(Protocol):
    """Anything that can tell the emulated time and be moved forward."""

    def now(self) -> datetime:
        """The current emulated time, timezone-aware UTC."""
        ...

    def advance(self, delta: timedelta) -> None:
        """Jump the clock forward by ``delta`` (never backwards)."""
        ...


class ManualClock:
    """A clock that stands still until it is advanced: deterministic by construction."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start time must be timezone-aware")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the clock cannot go backwards")
        self._now += delta


def iso(moment: datetime) -> str:
    """Render a timezone-aware moment as ISO 8601 with a ``Z`` suffix, to the second."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class RunningClock:
    """A clock that runs with real time from ``start``, plus whatever it was advanced by.

    Used by the standalone server in a training room, where people expect time to pass; it only
    reads time (``time.monotonic``), it never waits on it.
    """

    def __init__(self, start: datetime, monotonic: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start time must be timezone-aware")
        self._start = start.astimezone(UTC)
        self._monotonic = monotonic
        self._origin = monotonic()
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._monotonic() - self._origin) + self._offset

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the clock cannot go backwards")
        self._offset += delta
