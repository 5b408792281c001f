"""The stage on a 1366x768 projector first, then a 1920x1080 monitor, normal and in presenter mode.

The tests' offscreen platform has both screens (tests/conftest.py): a window is moved onto one
and sized to it, as a trainer's would be.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QFont, QFontMetricsF, QGuiApplication, QScreen
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from emulator.scenarios.loader import library_dir
from emulator.stage import Stage
from emulator.ui.main_window import CONSOLE_MIN_WIDTH, MainWindow
from tests.ui.conftest import run

SIZES = {"projector": (1366, 768), "monitor": (1920, 1080)}


def screen_named(name: str) -> QScreen:
    return next(s for s in QGuiApplication.screens() if s.name() == name)


@pytest.fixture(params=["projector", "monitor"])
def on_screen(request: pytest.FixtureRequest, stage: Stage, qtbot: QtBot) -> Iterator[MainWindow]:
    """The stage window on the projector or the monitor, sized to its screen."""
    screen = screen_named(request.param)
    win = MainWindow(stage, settings=None, clock_running=False)
    win.context.messages.boxes = False
    qtbot.addWidget(win)
    win.move(screen.geometry().topLeft())
    win.show()
    qtbot.waitUntil(lambda: win.screen() is screen)
    win.fit_to(*SIZES[request.param])
    qtbot.waitUntil(lambda: not win.context.tasks.running, timeout=10_000)
    yield win
    if not win._closed:
        run(qtbot, win.shutdown())


def within(inner: QRect, outer: QRect) -> bool:
    return outer.contains(inner)


def settle_layout(qtbot: QtBot, window: MainWindow) -> None:
    """Let Qt lay the window out (posted layout requests and resizes), without waiting on time."""
    for _ in range(3):
        QApplication.processEvents()
    window.keep_within_screen()
    QApplication.processEvents()


def check_the_stage(window: MainWindow, qtbot: QtBot) -> None:
    """Within the screen; three whole iPads side by side; every account name shown in full."""
    settle_layout(qtbot, window)
    screen = window.screen().availableGeometry()
    assert within(window.frameGeometry(), screen) or within(window.geometry(), screen), (
        f"the window {window.geometry()} is within the screen {screen}"
    )
    assert not window.scroller.horizontalScrollBar().isVisible(), "no horizontal scroll bar"
    viewport = window.scroller.viewport()
    for column in window.columns.values():
        top_left = column.mapTo(viewport, column.rect().topLeft())
        assert within(QRect(top_left, column.size()), viewport.rect()), f"{column.device.id} is clipped"
        app = column.frame.app
        app.show_object("account__v")
        caption = column.frame.caption
        assert caption.wordWrap() or caption.sizeHint().width() <= caption.width(), "the title is whole"
        bold = QFont(app.table.font())
        bold.setBold(True)
        metrics = QFontMetricsF(bold)
        width = app.table.columnWidth(1) - 14
        for row in range(app.model.rowCount()):
            title = str(app.model.index(row, 1).data())
            assert metrics.horizontalAdvance(title) <= width, f"{title!r} is cut on {column.device.id}"
        assert not app.tabs.usesScrollButtons() or app.tabs.sizeHint().width() <= app.tabs.width()


@pytest.mark.parametrize("presenter", [False, True], ids=["normal", "presenter"])
def test_three_ipads_fit_whole_with_full_names(on_screen: MainWindow, qtbot: QtBot, presenter: bool) -> None:
    if presenter:
        on_screen.toggle_presenter()
    check_the_stage(on_screen, qtbot)


def test_every_dock_open_in_presenter_mode_keeps_the_window_on_the_screen(
    on_screen: MainWindow, qtbot: QtBot
) -> None:
    window = on_screen
    before = window.geometry()
    console = window.console_dock.isVisible()
    window.toggle_presenter()
    opened = window.open_scenario(library_dir() / "as07_first_save_wins.yaml")
    assert opened is not None
    qtbot.waitUntil(lambda: window.scenario_player.runner is not None and not window.scenario_player.busy)
    window.timeline_dock.show()
    window.console_dock.show()
    player = window.scenario_player
    player.step()
    qtbot.waitUntil(lambda: player.runner.position == 1 and not player.busy, timeout=20_000)
    settle_layout(qtbot, window)
    screen = window.screen().availableGeometry()
    assert window.width() <= screen.width() and window.height() <= screen.height()
    assert window.narration.isVisible() and window.narration.width() > 0
    window.console_dock.hide()
    window.timeline_dock.hide()
    check_the_stage(window, qtbot)

    window.toggle_presenter()  # leaving presenter mode puts the layout back
    settle_layout(qtbot, window)
    assert window.geometry().size() == before.size()
    assert not window.timeline_dock.isVisible() and window.console_dock.isVisible() == console


def test_the_console_opened_in_presenter_mode_is_usable_and_the_clock_shortens(
    on_screen: MainWindow, qtbot: QtBot
) -> None:
    """On a projector three iPads fill the width: the console opened over them gets a usable
    width (the iPads scroll), and the clock bar says as much of the time as it has room for."""
    window = on_screen
    window.toggle_presenter()
    window.console_dock.show()
    settle_layout(qtbot, window)
    screen = window.screen().availableGeometry()
    assert window.width() <= screen.width(), "the window stays on the screen"
    assert window.console_dock.minimumWidth() >= CONSOLE_MIN_WIDTH, "never squeezed: the iPads scroll"
    assert window.console_dock.width() >= CONSOLE_MIN_WIDTH
    clock = window.clock_bar.time
    whole = clock.toolTip()
    assert whole == "Thu 26 Nov 2026, 09:00:00  (paused)"
    metrics = clock.fontMetrics()
    for room, shown in (
        (metrics.horizontalAdvance(whole) + 20, whole),
        (metrics.horizontalAdvance("Thu 26 Nov 2026, 09:00:00") + 20, "Thu 26 Nov 2026, 09:00:00"),
        (metrics.horizontalAdvance("09:00:00") + 20, "09:00:00"),
    ):
        clock.resize(room, clock.height())
        assert clock.text() == shown, room


def test_leaving_presenter_mode_restores_the_window_and_its_docks(
    on_screen: MainWindow, qtbot: QtBot
) -> None:
    window = on_screen
    console = window.console_dock.isVisible()
    size = window.size()
    window.toggle_presenter()
    assert not window.console_dock.isVisible()
    window.timeline_dock.show()  # opened while presenting
    window.toggle_presenter()
    settle_layout(qtbot, window)
    assert window.console_dock.isVisible() == console
    assert not window.timeline_dock.isVisible(), "the docks as they were before presenting"
    assert window.size() == size
