"""The one emulated clock: every timer, date and timeout of the emulated world reads it.

Time moves only when someone moves it: ``advance`` (a jump, firing every timer that falls due on
the way, in order, with ``now`` set to each timer's moment) or a driver that calls ``advance``
with real elapsed time times a speed (the GUI's clock bar). Nothing here waits on wall time.

``sleep`` lets a coroutine wait for emulated time (a request's latency or timeout, say); a task
waiting there is *parked*, which is how :meth:`Stage.settle` tells work in progress from work
that waits for the clock. ``wait_on`` parks a task that waits for another device task (an
incremental sync for the Autosync upload on the wire).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

DEFAULT_START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@dataclass(order=True)
class Timer:
    """A callback due at an emulated moment; cancel() before it fires to drop it."""

    due: datetime
    order: int
    callback: Callable[[], None] = field(compare=False)
    label: str = field(default="", compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class EmulatedClock:
    """The stage's clock. Deterministic: same calls, same order of timers, same times."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start time must be timezone-aware")
        self._now = start.astimezone(UTC)
        self._timers: list[Timer] = []
        self._order = itertools.count()
        self._parked: set[asyncio.Task[object]] = set()
        self._park_waiters: list[asyncio.Future[None]] = []
        self._listeners: list[Callable[[datetime], None]] = []

    def now(self) -> datetime:
        return self._now

    def on_change(self, listener: Callable[[datetime], None]) -> Callable[[], None]:
        """Call ``listener(now)`` whenever the time moves; returns an unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def call_at(self, due: datetime, callback: Callable[[], None], label: str = "") -> Timer:
        timer = Timer(max(due, self._now), next(self._order), callback, label)
        heapq.heappush(self._timers, timer)
        return timer

    def call_later(self, delay: timedelta, callback: Callable[[], None], label: str = "") -> Timer:
        return self.call_at(self._now + delay, callback, label)

    def next_due(self) -> datetime | None:
        """When the next live timer fires, if any."""
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        return self._timers[0].due if self._timers else None

    def pending(self) -> list[Timer]:
        """Live timers in firing order (for display)."""
        return sorted(t for t in self._timers if not t.cancelled)

    def advance(self, delta: timedelta) -> None:
        """Move forward by ``delta``, firing due timers in order."""
        if delta < timedelta(0):
            raise ValueError("the clock cannot go backwards")
        self.advance_to(self._now + delta)

    def advance_to(self, target: datetime) -> None:
        while True:
            due = self.next_due()
            if due is None or due > target:
                break
            timer = heapq.heappop(self._timers)
            self._set(timer.due)
            timer.callback()
        self._set(target)

    def _set(self, moment: datetime) -> None:
        if moment != self._now:
            self._now = moment
            for listener in list(self._listeners):
                listener(moment)

    async def sleep(self, delay: timedelta) -> None:
        """Wait for ``delay`` of emulated time (parks the current task meanwhile)."""
        if delay <= timedelta(0):
            return
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        task = asyncio.current_task()

        def wake() -> None:
            if not done.done():
                done.set_result(None)
            if task is not None:  # due: it works again (settle waits for it) before it resumes
                self._parked.discard(task)

        timer = self.call_later(delay, wake, "sleep")
        if task is not None:
            self._parked.add(task)
            self._wake_park_waiters()
        try:
            await done
        finally:
            timer.cancel()
            if task is not None:
                self._parked.discard(task)

    async def wait_on(self, done: asyncio.Future[None]) -> None:
        """Wait for ``done``, resolved by a device task that may itself wait for the clock.

        The waiting task counts as parked meanwhile: it moves only when that other task does,
        and :meth:`Stage.settle` waits for that one while it works (a device's task, see
        ``Device.spawn``). It works again the moment ``done`` resolves: its done callback runs
        before any task woken by the same moment resumes, so ``settle`` sees it busy again.
        Cancelling the waiter leaves ``done`` alone.
        """
        if done.done():
            return
        task = asyncio.current_task()
        if task is not None:
            self._parked.add(task)
            done.add_done_callback(lambda _done: self._parked.discard(task))
            self._wake_park_waiters()
        try:
            await asyncio.wait([done])
        finally:
            if task is not None:
                self._parked.discard(task)

    def _wake_park_waiters(self) -> None:
        waiters, self._park_waiters = self._park_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def is_parked(self, task: asyncio.Task[object]) -> bool:
        return task in self._parked

    def next_park(self) -> asyncio.Future[None]:
        """A future resolved the next time a task starts waiting for the clock."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._park_waiters.append(waiter)
        return waiter
