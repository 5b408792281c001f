"""Qt tests: one session-wide qasync loop on the QApplication, failing on asyncio errors.

With ``already_running=True`` the loop is driven by Qt's own event processing, so
``qtbot.waitUntil`` / ``waitSignal`` also run asyncio callbacks. Never stop the loop or quit
the application in a test: every later wait would then return at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from emulator.stage import Stage


@pytest.fixture(scope="session")
def qt_loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    loop.errors = errors  # type: ignore[attr-defined]
    yield loop


@pytest.fixture(autouse=True)
def _fail_on_asyncio_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    if "qt_loop" not in request.fixturenames:
        yield
        return
    loop = request.getfixturevalue("qt_loop")
    loop.errors.clear()
    yield
    assert not loop.errors, f"unhandled asyncio errors: {loop.errors}"


# the stage window ---------------------------------------------------------------------------------


def run(qtbot: QtBot, awaitable: Awaitable[Any], timeout: int = 20_000) -> Any:
    """Run a coroutine on the qasync loop while Qt keeps processing events."""
    future = asyncio.ensure_future(awaitable)
    qtbot.waitUntil(future.done, timeout=timeout)
    return future.result()


SAMPLE = (
    ("Anna's iPad Pro", "anna", "iPad Pro 11-inch", "17.5"),
    ("Anna's iPad Air", "anna", "iPad Air 2", "15.8"),
    ("Chloe's iPad", "chloe", "iPad (9th generation)", "17.5"),
)


@pytest.fixture
def stage(qt_loop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> Iterator[Stage]:
    """A started stage with the three sample iPads; closed after the test."""
    stage = Stage(seed=0, data_dir=tmp_path / "stage")
    run(qtbot, stage.start())
    for name, user, model, ios in SAMPLE:
        run(qtbot, stage.add_device(name, user, model=model, ios_version=ios))
    yield stage
    if stage.admin is not None and not stage.admin.is_closed:
        run(qtbot, stage.close())


@pytest.fixture
def window(stage: Stage, qtbot: QtBot) -> Iterator[Any]:
    """The stage window, clock paused, message boxes recorded instead of shown."""
    from emulator.ui.main_window import MainWindow

    win = MainWindow(stage, settings=None, clock_running=False)
    win.context.messages.boxes = False
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    qtbot.waitUntil(lambda: not win.context.tasks.running, timeout=10_000)
    yield win
    if not win._closed:
        run(qtbot, win.shutdown())
