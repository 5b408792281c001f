"""The device panel, the notice banner, presenter mode and remembered layout, clicked through."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QSize, Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from emulator.stage import Stage
from emulator.ui.main_window import MainWindow
from tests.ui.conftest import run
from tests.ui.test_main_window import HARPER, click, columns, edit_online, edit_phone, open_record, tap_ok


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[QSettings]:
    """A settings file of the test's own: the user's settings are never read or written."""
    yield QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat)


def test_the_window_layout_is_remembered(stage: Stage, settings: QSettings, qtbot: QtBot) -> None:
    first = MainWindow(stage, settings=settings, clock_running=False)
    qtbot.addWidget(first)
    first.context.messages.boxes = False
    first.show()
    first.resize(1500, 800)
    qtbot.waitUntil(lambda: first.width() == 1500)
    size = first.size()
    first.console_dock.hide()
    first.toggle_presenter()
    column = first.column(0)
    total = sum(column.sizes())
    column.setSizes([total - column.panel.minimumSizeHint().height(), 1])  # the iPad as tall as it goes
    split = column.sizes()[0] / sum(column.sizes())
    first.save_settings()
    saved = first.saveGeometry()
    first.context.bridge.detach()
    first.hide()

    second = MainWindow(stage, settings=settings, clock_running=False)
    qtbot.addWidget(second)
    second.context.messages.boxes = False
    second.show()
    try:
        # the offscreen test screen is smaller than the window, so Qt fits the restored
        # geometry onto it; what matters is that it came from the settings, not the default
        assert settings.value("window/geometry") == saved
        assert second.size() != QSize(1900, 1040) and second.width() <= size.width()
        assert second.console_dock.isHidden()
        assert second.presenter and second.zoom == pytest.approx(1.5)
        sizes = second.column(0).sizes()
        assert sizes[0] / sum(sizes) == pytest.approx(split, abs=0.05)
    finally:
        run(qtbot, second.shutdown())


@pytest.mark.rule("AS-18")
@pytest.mark.rule("AS-33")
def test_seven_days_offline_the_app_reminds_to_sync_and_xray_explains_the_expired_feed(
    window: MainWindow, qtbot: QtBot
) -> None:
    pro, air, _ = columns(window)
    air.panel.set_network("offline")
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 999 000 0018")
    run(qtbot, window.stage.settle())
    note = air.frame.app.home_xray
    air.frame.app.go_home()
    assert "expired" not in note.text()

    click(qtbot, window.clock_bar.plus_week)
    qtbot.waitUntil(lambda: not window.clock_bar.busy, timeout=20_000)
    click(qtbot, window.clock_bar.plus30)  # past the seven days: the entry has expired
    qtbot.waitUntil(lambda: not window.clock_bar.busy)
    air.panel.set_network("online")
    click(qtbot, window.clock_bar.next_poll)
    qtbot.waitUntil(lambda: not window.clock_bar.busy)

    app = air.frame.app
    assert tap_ok(qtbot, app) == "Sync Reminder", "the app reminds the rep to sync (AS-33)"
    assert "7 days ago" in app.home_page.reminder.text()
    qtbot.waitUntil(lambda: "expired from the feed" in note.text())
    assert note.isVisible(), "the explanation is the X-ray view's"
    assert "expired" not in pro.frame.app.home_xray.text(), "the iPad that kept reading missed nothing"
    assert not any("expired" in w.text() for w in app.findChildren(QLabel) if w.isVisible() and w is not note)

    click(qtbot, app.home_page.widget.sync)
    qtbot.waitUntil(lambda: air.device.blocking is None and not window.context.tasks.running)
    assert air.device.record(HARPER)["phone__v"] == "+1 999 000 0018"  # type: ignore[index]
    qtbot.waitUntil(lambda: "expired" not in note.text())
    assert app.home_page.reminder.isHidden()


@pytest.mark.rule("AS-12")
def test_edits_discarded_online_are_told_in_the_app(window: MainWindow, qtbot: QtBot) -> None:
    pro, air, _ = columns(window)
    order = next(str(r["id"]) for r in pro.device.records("order__v") if r.get("status__v") != "submitted__v")
    air.panel.set_network("offline")
    air.device.save("order__v", order, {"delivery_date__v": "2026-12-24"})
    pro.device.save("order__v", order, {}, submit=True)
    run(qtbot, window.stage.settle())
    air.panel.set_network("online")
    run(qtbot, window.stage.settle())
    app = air.frame.app
    qtbot.waitUntil(app.alert.isVisible)
    assert "discarded" in app.alert.text.text().lower()
    assert tap_ok(qtbot, app) == "Changes Discarded"
    assert air.device.unread_notices() == []


@pytest.mark.rule("AS-06")
@pytest.mark.parametrize("fault", ["server_error", "timeout", "reply_lost"])
def test_an_injected_fault_leads_to_a_retry(window: MainWindow, qtbot: QtBot, fault: str) -> None:
    pro, _, _ = columns(window)
    panel = pro.panel
    action = panel.fault_actions[fault]
    assert action.toolTip(), "the fault says what it shows"
    action.trigger()
    assert pro.device.conditions.faults == [fault]
    assert panel.fault.text() == "⚡ 1" and "next request" in panel.fault.toolTip()

    edit_phone(qtbot, pro.frame.app, HARPER, "+1 503 503 0503")
    run(qtbot, window.stage.advance(timedelta(seconds=45)))
    events = [e for e in window.stage.events.events if e.actor == pro.device.actor]
    kinds = [e.kind for e in events]
    assert "retry_scheduled" in kinds
    assert kinds.index("retry_scheduled") < kinds.index("uploaded")
    assert pro.device.queue() == []
    assert sum(1 for e in window.stage.events.events if e.kind == "put_on_feed") == 1, "applied once"
    qtbot.waitUntil(lambda: panel.fault.text() == "⚡")


def test_loss_is_set_from_the_panel(window: MainWindow, qtbot: QtBot) -> None:
    panel = window.column(0).panel
    assert panel.loss.toolTip()
    panel.loss.setValue(25)
    panel.loss.editingFinished.emit()
    assert window.column(0).device.conditions.loss == pytest.approx(0.25)


@pytest.mark.rule("AS-22")
def test_the_feed_page_size_is_set_from_the_panel(window: MainWindow) -> None:
    panel = window.column(1).panel
    assert "AS-22" in panel.page_size.toolTip()
    panel.page_size.setValue(1)
    panel.page_size.editingFinished.emit()
    assert window.column(1).device.store.setting("feed_page_records") == 1


@pytest.mark.rule("AS-05")
@pytest.mark.rule("AS-08")
def test_a_queue_row_expands_to_the_records_and_changed_fields(window: MainWindow, qtbot: QtBot) -> None:
    pro, _, _ = columns(window)
    pro.panel.set_network("offline")
    order = next(str(r["id"]) for r in pro.device.records("order__v") if r.get("status__v") != "submitted__v")
    line = next(str(r["id"]) for r in pro.device.records("order_line__v") if r.get("order__v") == order)
    before = pro.device.record(line)["quantity__v"]  # type: ignore[index]
    pro.device.save("order__v", order, {}, children=[("order_line__v", {"id": line, "quantity__v": 42})])
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 222 000 0000")
    tree = pro.panel.queue_view
    pro.panel.open_drawer()
    qtbot.waitUntil(lambda: tree.topLevelItemCount() == 2)
    assert pro.panel.drawer.tabText(0) == "Queue (2)"

    top = tree.topLevelItem(0)
    assert top is not None and top.childCount() == 1 and not top.isExpanded()
    tree.setCurrentItem(top)
    tree.expandItem(top)
    record = top.child(0)
    assert record.text(1).startswith("✎ Edit Order Line")
    assert line in record.text(1)
    tree.expandItem(record)
    assert record.child(0).text(1) == f"Quantity: {before} → 42"

    second = tree.topLevelItem(1)
    assert second is not None
    tree.expandItem(second)
    assert second.child(0).text(1).startswith("✎ Edit Account Harper, Eleanor")
    pro.panel.refresh()  # a live refresh keeps what the user opened
    assert tree.topLevelItem(0).isExpanded()  # type: ignore[union-attr]
    assert tree.topLevelItem(1).isExpanded()  # type: ignore[union-attr]


def test_the_online_console_tells_one_change_once(window: MainWindow, qtbot: QtBot) -> None:
    edit_online(qtbot, window, HARPER, "+1 444 000 0000")
    qtbot.waitUntil(lambda: any(e.kind == "online_change" for e in window.stage.events.events))
    run(qtbot, window.stage.settle())
    changes = [e for e in window.stage.events.events if e.kind == "online_change"]
    assert len(changes) == 1
    assert "phone__v" in changes[0].text


def test_presenter_mode_enlarges_the_ipads_panels_and_banner(window: MainWindow, qtbot: QtBot) -> None:
    pro, air, _ = columns(window)
    open_record(qtbot, air.frame.app, HARPER)
    widgets = {
        "status bar": pro.frame.status.time,
        "network icon": pro.frame.status.network,
        "sync widget": pro.frame.app.home_page.widget.last,
        "record list": pro.frame.app.table,
        "queue": pro.panel.queue_view,
        "conflicts": pro.panel.conflicts,
        "activity log": pro.panel.log,
        "clock": window.clock_bar.time,
        "view screen": air.frame.app.view_page.header.title,
        "view screen's X-ray note": air.frame.app.view_page.xray,
        "list's X-ray note": pro.frame.app.list_xray,
    }
    before = {name: w.fontInfo().pointSizeF() for name, w in widgets.items()}
    row_height = pro.frame.app.table.verticalHeader().defaultSectionSize()
    assert window.console_dock.isVisible()
    window.toggle_presenter()
    try:
        for name, widget in widgets.items():
            assert widget.fontInfo().pointSizeF() >= before[name] * 1.4, name
        assert pro.frame.app.table.verticalHeader().defaultSectionSize() > row_height
        assert not window.console_dock.isVisible()  # room for the iPads on a projector
        # made after the zoom: an error card's X-ray note reads as large as the card's text
        click(qtbot, air.frame.app.view_page.back)
        air.panel.set_network("offline")
        edit_phone(qtbot, air.frame.app, HARPER, "+1 222 222 2222")
        edit_phone(qtbot, pro.frame.app, HARPER, "+1 111 111 1111")
        run(qtbot, window.stage.settle())
        air.panel.set_network("online")
        run(qtbot, window.stage.settle())
        assert tap_ok(qtbot, air.frame.app) == "Sync Error"
        (card,) = air.frame.app.errors_page.cards
        assert card.details.isVisible()
        message = card.findChild(QLabel, "error-message")
        assert card.details.fontInfo().pointSizeF() == pytest.approx(message.fontInfo().pointSizeF())
        assert card.details.fontInfo().pointSizeF() >= before["view screen's X-ray note"] * 1.4
    finally:
        window.toggle_presenter()
    assert not window.presenter
    assert window.console_dock.isVisible()
    assert window.font().pointSizeF() == pytest.approx(before["record list"], rel=0.05)


def test_conflict_values_are_shown_in_full(window: MainWindow, qtbot: QtBot) -> None:
    pro, air, _ = columns(window)
    air.panel.set_network("offline")
    long_value = "+1 617-555-2222 extension 4711 (front desk, ask for Dr Harper)"
    edit_phone(qtbot, air.frame.app, HARPER, long_value)
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 617-555-1111")
    run(qtbot, window.stage.settle())
    air.panel.set_network("online")
    run(qtbot, window.stage.settle())
    panel = air.panel
    panel.open_drawer()
    panel.drawer.setCurrentIndex(1)
    qtbot.waitUntil(lambda: panel.drawer.tabText(1) == "Conflicts (1)")
    table = panel.conflicts
    mine = table.item(2, 0)
    assert mine is not None and mine.text() == long_value
    assert table.textElideMode() == Qt.TextElideMode.ElideNone and table.wordWrap()
    metrics = table.fontMetrics()

    def fits() -> bool:
        item = table.item(2, 0)  # read again: a redraw may have replaced the row's items
        if item is None or item.text() != long_value:
            return False
        shown = table.visualItemRect(item)
        needed = metrics.boundingRect(shown.adjusted(4, 0, -4, 0), Qt.TextFlag.TextWordWrap, long_value)
        return shown.height() >= needed.height() > metrics.height()

    qtbot.waitUntil(fits)  # the value wraps and its row grows to show all of it
