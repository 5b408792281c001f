"""The stage on a 1366x768 projector first, then a 1920x1080 monitor, normal and in presenter mode.

The tests' offscreen platform has both screens (tests/conftest.py): a window is moved onto one
and sized to it, as a trainer's would be.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFont, QFontMetrics, QFontMetricsF, QGuiApplication, QScreen
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QLabel,
    QTabBar,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from emulator.scenarios.loader import library_dir
from emulator.stage import Stage
from emulator.ui.main_window import BOTTOM_LEAST, MainWindow
from emulator.ui.scenario_player import SAY_POINT_SIZE
from emulator.ui.timeline_paint import legend_height
from tests.ui.conftest import run

SIZES = {"projector": (1366, 768), "monitor": (1920, 1080)}


def screen_named(name: str) -> QScreen:
    return next(s for s in QGuiApplication.screens() if s.name() == name)


def placed(stage: Stage, qtbot: QtBot, name: str) -> Iterator[MainWindow]:
    """The stage window on the screen ``name``, sized to it."""
    screen = screen_named(name)
    win = MainWindow(stage, settings=None, clock_running=False)
    win.context.messages.boxes = False
    qtbot.addWidget(win)
    win.move(screen.geometry().topLeft())
    win.show()
    qtbot.waitUntil(lambda: win.screen() is screen)
    win.fit_to(*SIZES[name])
    qtbot.waitUntil(lambda: not win.context.tasks.running, timeout=10_000)
    yield win
    if not win._closed:
        run(qtbot, win.shutdown())


@pytest.fixture(params=["projector", "monitor"])
def on_screen(request: pytest.FixtureRequest, stage: Stage, qtbot: QtBot) -> Iterator[MainWindow]:
    """The stage window on the projector or the monitor, sized to its screen."""
    yield from placed(stage, qtbot, request.param)


@pytest.fixture
def projector(stage: Stage, qtbot: QtBot) -> Iterator[MainWindow]:
    """The stage window on the 1366x768 projector, in presenter mode."""
    for window in placed(stage, qtbot, "projector"):
        window.toggle_presenter()
        yield window


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
    """In presenter mode the console opens under the iPads, a tab beside the timeline: the iPads
    keep the width their names need, the console its tabs, the timeline its tools; its legend
    is whole or folded away, never cut. The clock bar says as much of the time as it has room for."""
    window = on_screen
    window.toggle_presenter()
    window.console_dock.show()
    settle_layout(qtbot, window)
    screen = window.screen().availableGeometry()
    bottom = Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.width() <= screen.width(), "the window stays on the screen"
    assert window.dockWidgetArea(window.console_dock) == bottom, "under the iPads, not beside them"
    assert window.console_dock.height() >= BOTTOM_LEAST
    assert not window.scroller.horizontalScrollBar().isVisible(), "the iPads keep their width"
    tabs = window.console.tabBar()
    assert tabs.sizeHint().width() <= tabs.width(), "every console tab shows, no scroll arrows"
    window.timeline_dock.show()
    settle_layout(qtbot, window)
    assert window.dockWidgetArea(window.timeline_dock) == bottom
    assert window.console_dock in window.tabifiedDockWidgets(window.timeline_dock), "one area, two tabs"
    timeline = window.timeline
    assert timeline.toolbar.width() >= timeline.toolbar.sizeHint().width(), "every tool shows"
    legend = timeline.legend
    assert legend.isHidden() or legend.height() >= legend_height(legend.width(), legend.font()), "not cut"
    assert legend.isHidden() == (not timeline.legend_action.isChecked()), "the Legend tool says so"
    window.toggle_presenter()
    settle_layout(qtbot, window)
    assert window.dockWidgetArea(window.console_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert not legend.isHidden(), "leaving presenter mode unfolds the legend"
    window.toggle_presenter()
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


# the X-ray drawer on a projector --------------------------------------------------------------------


def shown_whole(widget: QWidget, window: MainWindow) -> bool:
    """``widget`` is on screen whole: inside the stage's viewport and every scroll area it is in."""
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            viewport = parent.viewport()
            if not QRect(viewport.mapTo(window, QPoint(0, 0)), viewport.size()).contains(rect):
                return False
        parent = parent.parentWidget()
    return widget.isVisible() and window.rect().contains(rect)


def no_scroll_arrows(tabs: QTabBar) -> bool:
    """Every tab of ``tabs`` whole, side by side: no scroll arrows, no tab cut."""
    arrows = [b for b in tabs.findChildren(QToolButton) if b.isVisible()]
    right = max(tabs.tabRect(i).right() for i in range(tabs.count()))
    widths = all(tabs.tabRect(i).width() >= tabs.tabSizeHint(i).width() for i in range(tabs.count()))
    return not arrows and right < tabs.width() and widths


def make_conflict(window: MainWindow, qtbot: QtBot) -> None:
    """AS-07: the Air (offline) and the Pro save Harper's phone; the Air's save arrives second."""
    stage = window.stage
    pro, air = window.column(0), window.column(1)
    harper = pro.device.records("account__v")[0]["id"]
    air.panel.set_network("offline")
    run(qtbot, stage.settle())
    pro.device.save("account__v", harper, {"phone__v": "+1 555 0100"})
    run(qtbot, stage.settle())
    air.device.save("account__v", harper, {"phone__v": "+1 555 0199"})
    run(qtbot, stage.settle())
    air.panel.set_network("online")
    run(qtbot, stage.settle())


def test_a_conflict_reads_whole_in_the_drawer_at_1366_presenter(projector: MainWindow, qtbot: QtBot) -> None:
    """The winner line and every row of the conflicts table on screen; the drawer's tabs whole."""
    window = projector
    make_conflict(window, qtbot)
    panel = window.column(1).panel
    panel.open_drawer(True)
    panel.drawer.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.drawer.tabText(1) == "Conflicts (1)")
    settle_layout(qtbot, window)
    qtbot.waitUntil(lambda: panel.conflicts.isVisible())
    for _ in range(3):
        settle_layout(qtbot, window)
    message = panel.error_message
    assert "Saved first by Anna's iPad Pro at 09:00:00." in message.text().replace("&#x27;", "'")
    assert shown_whole(message, window), "the message, its winner line included, is on screen"
    assert message.height() >= message.heightForWidth(message.width()), "the message is not squeezed"
    table = panel.conflicts
    assert not table.verticalScrollBar().isVisible()
    for row in range(table.rowCount()):
        top = table.rowViewportPosition(row)
        assert top >= 0 and top + table.rowHeight(row) <= table.viewport().height(), f"row {row} is in sight"
    assert shown_whole(table, window), "the conflicts table is on screen"
    assert message.geometry().bottom() < table.geometry().top(), "the table does not cover the message"
    assert no_scroll_arrows(panel.drawer.tabBar()), [panel.drawer.tabText(i) for i in range(4)]


@pytest.mark.parametrize("screen", ["projector", "monitor"])
def test_the_drawer_tabs_fit_without_arrows(stage: Stage, qtbot: QtBot, screen: str) -> None:
    for window in placed(stage, qtbot, screen):
        for presenter in (False, True):
            if presenter:
                window.toggle_presenter()
            for column in window.columns.values():
                column.panel.open_drawer(True)
            settle_layout(qtbot, window)
            for column in window.columns.values():
                tabs = column.panel.drawer.tabBar()
                assert no_scroll_arrows(tabs), (screen, presenter, column.device.id)


def test_queue_rows_show_record_names_whole(projector: MainWindow, qtbot: QtBot) -> None:
    """A queued save's label wraps in the narrow drawer instead of eliding ("Save Ac…Marisol")."""
    window = projector
    chloe = window.column(2)
    chloe.panel.set_network("offline")
    run(qtbot, window.stage.settle())
    for record in chloe.device.records("account__v")[:2]:
        chloe.device.save("account__v", record["id"], {"phone__v": "+1 555 0123"})
    run(qtbot, window.stage.settle())
    panel = chloe.panel
    panel.open_drawer(True)
    qtbot.waitUntil(lambda: len(panel.queue_view.rows) == 2)
    tree = panel.queue_view
    settle_layout(qtbot, window)
    qtbot.waitUntil(lambda: tree.visualItemRect(tree.topLevelItem(0)).height() > 0)
    settle_layout(qtbot, window)
    metrics = tree.fontMetrics()
    for index in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(index)
        assert item is not None
        text = item.text(1)
        assert "Save Account" in text
        rect = tree.visualRect(tree.indexFromItem(item, 1))
        room = rect.width() - 8  # the item's text margins
        assert all(metrics.horizontalAdvance(word) <= room for word in text.split()), text
        needed = metrics.boundingRect(QRect(0, 0, room, 10_000), Qt.TextFlag.TextWordWrap, text).height()
        assert rect.height() >= needed, f"{text!r} needs {needed} px, has {rect.height()}"


# the narration and the player around presenter mode -------------------------------------------------


def open_as07(window: MainWindow, qtbot: QtBot) -> None:
    """The AS-07 scenario open and stepped once: its narration is shown."""
    assert window.open_scenario(library_dir() / "as07_first_save_wins.yaml") is not None
    player = window.scenario_player
    qtbot.waitUntil(lambda: player.runner is not None and not player.busy, timeout=20_000)
    player.step()
    qtbot.waitUntil(lambda: player.runner.position == 1 and not player.busy, timeout=20_000)
    qtbot.waitUntil(window.narration.isVisible)


def words_height(label: QLabel) -> int:
    """The height a word-wrapped label's text needs at its width, its padding included."""
    margins = label.contentsMargins()
    inner = label.width() - margins.left() - margins.right()
    flags = Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignCenter
    text = QFontMetrics(label.font()).boundingRect(QRect(0, 0, inner, 10_000), flags, label.text())
    return text.height() + margins.top() + margins.bottom()


def test_leaving_presenter_mode_keeps_the_player_and_shrinks_the_narration(
    projector: MainWindow, qtbot: QtBot
) -> None:
    window = projector
    open_as07(window, qtbot)
    window.toggle_presenter()
    settle_layout(qtbot, window)
    narration = window.narration
    assert window.player_dock.isVisible(), "a scenario open keeps its player after presenter mode"
    assert window.dockWidgetArea(window.player_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert narration.font().pointSizeF() == SAY_POINT_SIZE
    assert abs(narration.height() - words_height(narration)) <= 2, "as tall as its words, no taller"
    narration.resize(narration.width() - 300, narration.height())  # any change of width re-fits it
    assert narration.minimumHeight() == words_height(narration)


def test_open_drawers_and_a_scenario_keep_the_ipads_on_a_projector(
    projector: MainWindow, qtbot: QtBot
) -> None:
    """Presenter mode at 1366x768, a scenario open, every drawer open: no iPad runs off the screen."""
    window = projector
    open_as07(window, qtbot)
    narration = window.narration
    narration.say(" ".join(["A long narration that a trainer wrote for the back of the room."] * 4))
    for column in window.columns.values():
        column.panel.open_drawer(True)
    settle_layout(qtbot, window)
    assert narration.height() <= window.height() // 8, "the narration is capped in presenter mode"
    assert narration.height() >= words_height(narration) - 2, "and its words fit (a smaller font)"
    assert not window.scroller.verticalScrollBar().isVisible(), "the iPads and their drawers fit the height"
    viewport = window.scroller.viewport()
    for column in window.columns.values():
        top_left = column.mapTo(viewport, column.rect().topLeft())
        assert viewport.rect().contains(QRect(top_left, column.size())), f"{column.device.id} is whole"
        assert column.panel.drawer.isVisible()
