"""The README's screenshots, made by the app itself: the stage, one moment in the rep's view and in
the X-ray view, the sync error alert, a sync in progress, a deferred merge, a scenario, the timeline.

    python tools/make_screenshots.py [OUT_DIR] [--only NAME ...]

Each picture is a fresh stage (same seed, same steps, same picture) on a 1366x768 projector in
presenter mode (Qt's offscreen platform, given a screen of that size), driven through the same
widgets and engine calls a user's clicks make, then grabbed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget

from emulator.app import _let_qt_paint, parse_args, start_stage
from emulator.scenarios.loader import library_dir
from emulator.ui.main_window import MainWindow
from emulator.ui.support import Coalescer

HARPER = "V0A000000000001"
Step = Callable[[MainWindow], Awaitable[QWidget | None]]


async def stage_only(_window: MainWindow) -> None:
    return None


async def air_loses_to_pro(window: MainWindow) -> None:
    """The offline Air and the Pro save Dr. Harper's phone; the Air's upload gets a sync error (AS-07)."""
    pro, air = window.column(0), window.column(1)
    air.panel.set_network("offline")
    air.device.save("account__v", HARPER, {"phone__v": "+1 617-555-2222"})
    pro.device.save("account__v", HARPER, {"phone__v": "+1 617-555-1111"})
    await window.stage.settle()
    air.panel.set_network("online")
    await window.stage.settle()


async def a_busy_moment(window: MainWindow) -> None:
    """The Air's save lost to the Pro's (AS-07, AS-34); Chloe's saves wait offline (AS-06, AS-33)."""
    stage = window.stage
    pro, air, chloe = (window.column(i) for i in range(3))
    await air_loses_to_pro(window)
    chloe.panel.set_network("offline")
    for record in chloe.device.records("account__v")[:2]:
        chloe.device.save("account__v", record["id"], {"phone__v": "+1 415-555-0000"})
    await stage.advance(timedelta(seconds=5))
    await _let_qt_paint()
    air.frame.app.alert.ok.click()  # OK on the sync error: the Errors tab
    pro.frame.app.show_object("account__v")
    chloe.panel.open_drawer()  # the X-ray drawer: the queue, first in first out
    chloe.panel.drawer.setCurrentIndex(0)


async def rep_view(window: MainWindow) -> None:
    """The busy moment as a rep sees it: the X-ray view off."""
    await a_busy_moment(window)
    window.toggle_xray()


async def sync_error(window: MainWindow) -> QWidget:
    """The Air's sync error alert, as the app shows it (AS-34)."""
    await air_loses_to_pro(window)
    return window.column(1).frame


async def sync_in_progress(window: MainWindow) -> QWidget:
    """An incremental sync under way on the Pro, tapped on its Home page (AS-35): the save whose
    upload met a server error (its retry not due yet) went up first; the 80 accounts an
    integration created online come down; the app is blocked and counts them."""
    stage = window.stage
    pro = window.column(0)
    for k in range(80):
        fields = {"account_type__v": "hcp__v", "last_name__v": f"Clinic {k}", "territory__v": "T-NE"}
        body = {"owner": "anna", "fields": fields, "actor": "integration"}
        await stage.online("POST", "/records/account__v", json=body, say="The integration adds an account.")
    pro.device.inject_fault("server_error")  # Autosync's upload gets a 503: a retry in 5 s
    pro.device.save("account__v", HARPER, {"phone__v": "+1 617-555-0404"})
    await stage.settle()
    task = pro.device.spawn(pro.device.syncer.run())
    assert task is not None
    await stage.advance(timedelta(seconds=4.5))  # the handshake, the upload, 50 records
    await drawn(window)
    shot = pro.frame.grab()
    await stage.complete(task)
    return _Picture(shot)


class _Picture(QWidget):
    """A picture taken earlier, handed to ``shoot`` as the widget to grab."""

    def __init__(self, pixmap: Any) -> None:
        super().__init__()
        self.pixmap = pixmap

    def grab(self, *_args: Any) -> Any:  # type: ignore[override]
        return self.pixmap


async def deferred_merge(window: MainWindow) -> None:
    """The iPad Air has a record open while the iPad Pro saves it (AS-23, AS-25)."""
    stage = window.stage
    pro, air, _ = (window.column(i) for i in range(3))
    air.frame.app.open_record(HARPER)
    pro.device.save("account__v", HARPER, {"phone__v": "+1 617-555-3333"})
    await stage.settle()
    await stage.advance(timedelta(seconds=30))
    # the X-ray note on the Air's screen says why the update waits; the drawer stays shut


async def scenario(window: MainWindow) -> None:
    """The AS-07 library scenario played to its conflict, its narration over the stage."""
    opened = window.open_scenario(library_dir() / "as07_first_save_wins.yaml")
    assert opened is not None
    await opened
    for _ in range(5):
        stepped = window.scenario_player.step()
        assert stepped is not None
        await stepped
    await _let_qt_paint()
    window.column(1).frame.app.alert.ok.click()  # OK: the Errors tab
    window.column(1).panel.open_drawer()
    window.column(1).panel.drawer.setCurrentIndex(1)


async def timeline(window: MainWindow) -> QWidget:
    """The timeline of the AS-07 scenario played to its end, the sync error clicked open."""
    window.toggle_presenter()  # the timeline is read at a desk: normal size
    window.timeline_dock.show()
    opened = window.open_scenario(library_dir() / "as07_first_save_wins.yaml")
    assert opened is not None
    await opened
    while (stepped := window.scenario_player.step()) is not None:
        await stepped
    await _let_qt_paint()
    window.timeline.fit()
    error = next(m for m in window.timeline.model.marks if m.event.kind == "rejected")
    window.timeline.select(error)
    window.resizeDocks([window.timeline_dock], [560], Qt.Orientation.Vertical)
    await _let_qt_paint()
    return window.timeline_dock


async def travelling(window: MainWindow) -> None:
    """A save on the Pro on its way: the answer back, then the feed entry (AS-03, AS-16)."""
    for n in range(3):
        window.column(n).frame.app.show_object("account__v")
    window.column(0).device.save("account__v", HARPER, {"phone__v": "+1 617-555-0101"})
    await window.stage.settle()
    await _let_qt_paint()
    window.travel.tick(1000)  # the upload has arrived; the server's answer is on its way back
    window.travel.tick(450)


SHOTS: dict[str, Step] = {
    "stage": stage_only,
    "xray-view": a_busy_moment,
    "rep-view": rep_view,
    "sync-error": sync_error,
    "sync-in-progress": sync_in_progress,
    "deferred-merge": deferred_merge,
    "travelling": travelling,
    "scenario": scenario,
    "timeline": timeline,
}


async def drawn(window: MainWindow) -> None:
    """Every view redrawn: the redraws a view coalesces over a few milliseconds are made now."""
    for _ in range(3):
        await _let_qt_paint(5)
        for coalescer in window.findChildren(Coalescer):
            coalescer.flush()
    await _let_qt_paint(5)


async def shoot(name: str, step: Step, out: Path) -> None:
    stage = await start_stage(parse_args(["--seed", "0"]))
    window = MainWindow(stage, settings=None, clock_running=False)
    window.show()
    window.fit_to(*PROJECTOR)
    window.toggle_presenter()
    await _let_qt_paint()
    shown = await step(window) or window  # a step may picture one part of the window
    if step is not travelling:
        window.travel.clear()  # a still picture shows no token left over from the animation
    await stage.settle()
    await drawn(window)
    path = out / f"{name}.png"
    if not shown.grab().save(str(path)):
        raise SystemExit(f"could not write {path}")
    print(path)
    await window.shutdown()


async def main_async(out: Path, names: list[str]) -> None:
    for name in names:
        await shoot(name, SHOTS[name], out)


PROJECTOR = (1366, 768)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("docs/screenshots"))
    parser.add_argument(
        "--only", nargs="+", choices=sorted(SHOTS), metavar="NAME", help="these pictures only"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    screens = Path(tempfile.mkdtemp(prefix="screens-")) / "screens.json"
    width, height = PROJECTOR
    screens.write_text(json.dumps({"screens": [{"name": "projector", "width": width, "height": height}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screens}"
    import qasync

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(main_async(args.out, args.only or list(SHOTS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
