"""How long the window freezes: the longest gap between turns of the Qt event loop.

The real main window (three iPads, their record lists shown, X-ray off) runs offscreen in a
``qasync`` loop. A 1 ms Qt timer notes every turn of the loop; the longest gap between two turns
while heavy work runs is the stall a user would feel as a frozen window:

* the Pro drains a long upload queue (its saves made offline beforehand);
* the Air (the same user) reads the feed those uploads filled and merges every entry;
* Chloe's iPad runs an incremental sync that downloads many records created online for her.

Each is held to the goal of 50 ms (the floor column is the goal, not a measurement).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QTimer

from emulator.bench.figures import Figure

#: The longest the event loop may go without a turn.
GOAL = 0.050
#: An account created online for Chloe (West Coast), to be downloaded by her incremental sync.
NEW_ACCOUNT = {"account_type__v": "hcp__v", "territory__v": "T-WC"}


class StallMeter:
    """Notes each turn of the Qt event loop; the longest gap between two is the worst stall."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setInterval(1)
        self._timer.timeout.connect(self._turn)
        self.worst = 0.0
        self.turns = 0
        self._last = time.perf_counter()

    def _turn(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._last)
        self._last = now
        self.turns += 1

    async def during(self, work: Callable[[], Awaitable[object]]) -> tuple[float, int, float]:
        """Run ``work``; return the worst stall, the loop's turns and the seconds it took."""
        self.worst, self.turns = 0.0, 0
        started = self._last = time.perf_counter()
        self._timer.start()
        try:
            await work()
        finally:
            self._timer.stop()
            self._turn()
        return self.worst, self.turns, time.perf_counter() - started


@dataclass(frozen=True)
class Sizes:
    drain: int
    merge: int
    sync: int


async def measure(sizes: Sizes, progress: Callable[[str], None] = lambda _text: None) -> list[Figure]:
    """Open the main window on a fresh stage and measure the three stalls."""
    from emulator.app import _let_qt_paint, parse_args, start_stage
    from emulator.heap import keep_pauses_short
    from emulator.ui.main_window import MainWindow

    stage = await start_stage(parse_args(["--seed", "1"]))
    window = MainWindow(stage, settings=None, clock_running=False)
    window.fit_to(1366, 768, within_screen=False)
    window.show()
    keep_pauses_short()  # as the app does
    meter = StallMeter()
    figures = []
    try:
        await _let_qt_paint()
        pro, air, chloe = (window.column(i).device for i in range(3))
        for i in range(3):
            window.column(i).frame.app.show_object("account__v")
        air.set_network("offline")  # it reads the feed later, in one go

        progress(f"{sizes.drain:,} saves queued offline on the Pro")
        pro.set_network("offline")
        accounts = [str(r["id"]) for r in pro.records("account__v")]
        for k in range(sizes.drain):
            pro.save("account__v", accounts[k % len(accounts)], {"phone__v": f"+1 555 {k:05d}"})
        await _let_qt_paint()

        async def drain() -> None:
            window.column(0).panel.set_network("online")
            await stage.settle()
            if pro.store.queue_length():
                raise RuntimeError(f"{pro.store.queue_length()} items still queued after the drain")

        progress("the Pro drains its queue")
        worst, turns, took = await meter.during(drain)
        figures.append(_figure(f"longest stall while {sizes.drain:,} queued saves drain", worst, turns, took))

        async def merge() -> None:
            window.column(1).panel.set_network("online")
            air.spawn(air.poller.poll())
            await stage.settle()

        progress(f"the Air reads {sizes.drain:,} feed entries and merges them")
        worst, turns, took = await meter.during(merge)
        figures.append(
            _figure(f"longest stall while {sizes.drain:,} feed entries merge on one iPad", worst, turns, took)
        )

        progress(f"{sizes.sync:,} accounts created online for Chloe")
        admin = stage.admin
        assert admin is not None
        for k in range(sizes.sync):
            response = await admin.post(
                "/api/v1/admin/records/account__v",
                json={
                    "owner": "chloe",
                    "fields": {
                        "account_type__v": "hcp__v",
                        "last_name__v": f"Bench {k}",
                        "territory__v": "T-WC",
                    },
                },
            )
            response.raise_for_status()
        await _let_qt_paint()

        async def sync() -> None:
            report = await chloe.syncer.run(timed=False)
            if not report.ok:
                raise RuntimeError(f"Chloe's sync failed: {report}")
            await _until_redrawn(window)  # the list she is looking at shows the new records

        progress(f"Chloe's iPad syncs {sizes.sync:,} records")
        worst, turns, took = await meter.during(sync)
        figures.append(
            _figure(f"longest stall during a {sizes.sync:,}-record incremental sync", worst, turns, took)
        )
    finally:
        await window.shutdown()
    return figures


async def _until_redrawn(window: Any) -> None:
    """Until the window's pending redraws and background reads are done, and it has painted."""
    from emulator.app import _let_qt_paint
    from emulator.ui.support import REDRAW_MS

    await _let_qt_paint(3)
    await asyncio.sleep(2 * REDRAW_MS / 1000)  # a redraw is at most this far behind (a UI timer)
    while window.context.tasks.running:
        await asyncio.sleep(0.005)
    await _let_qt_paint(3)


def _figure(what: str, worst: float, turns: int, took: float) -> Figure:
    return Figure(what, worst, GOAL, 1.0, "the goal", f"{turns:,} loop turns in {took:.1f} s")


def run(sizes: Sizes, progress: Callable[[str], None] = lambda _text: None) -> list[Figure]:
    """Start Qt offscreen with a ``qasync`` loop and measure (a process runs this once)."""
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["autosync-bench"])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        figures: list[Figure] = loop.run_until_complete(measure(sizes, progress))
    return figures
