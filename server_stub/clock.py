"""Clocks the server reads its time from.

The server never calls ``datetime.now()`` itself: every created/modified date, feed-entry age and
seven-day expiry reads a :class:`Clock`. In-process, the stage hands over its emulated clock.
Standalone, the clock lives in the database (:class:`StoredClock`), so that every server process
on that database reads the same time and an admin's jump is seen by all of them; it stands still
until advanced, or runs with real time, as the server was started.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from server_stub.store import Store

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


class StoredClock:
    """The standalone server's clock, kept in the database (one row).

    The row says what the emulated time was at a wall-clock moment and whether it runs from
    there with real time (a training room, where people expect time to pass) or stands still
    until an admin advances it. It only reads wall time (``time.time``, the same in every
    process), it never waits on it.
    """

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall

    def now(self, store: Store) -> datetime:
        row = store.clock()
        if row is None:
            return DEFAULT_START
        base = parse_iso(row.emulated_at)
        return base + timedelta(seconds=self._wall() - row.wall_at) if row.running else base

    def advance(self, store: Store, delta: timedelta) -> datetime:
        """Jump forward by ``delta`` (the caller holds the write lock); returns the new time."""
        if delta < timedelta(0):
            raise ValueError("the clock cannot go backwards")
        row = store.clock()
        moment = self.now(store) + delta
        store.set_clock(precise_iso(moment), self._wall(), bool(row.running) if row else False)
        return moment

    def start(self, store: Store, *, start: datetime | None, running: bool) -> datetime:
        """At server start: a new database's clock starts at ``start``; an existing one goes on
        from where it is (never backwards), running or standing still as asked."""
        row = store.clock()
        moment = (start or DEFAULT_START) if row is None else self.now(store)
        store.set_clock(precise_iso(moment), self._wall(), running)
        return moment


def precise_iso(moment: datetime) -> str:
    """ISO 8601 with microseconds, for the stored clock (the API shows whole seconds)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
