"""Clicking through the stage window as a trainer or QA engineer would."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QImage
from PySide6.QtWidgets import QFileDialog, QLabel, QLineEdit, QMessageBox, QPushButton, QTableWidget
from pytestqt.qtbot import QtBot

from emulator.stage import Stage
from emulator.ui.crm_app import CrmApp
from emulator.ui.main_window import DeviceColumn, MainWindow
from tests.ui.conftest import run

HARPER = "V0A000000000001"  # Eleanor Harper, an anna account in T-NE


def click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def to_list(app: CrmApp, object_name: str) -> None:
    """Tap the object's tab (or pick it under More…): its record list shows."""
    if app.page == "view":
        app.back_to_list()
    app.show_object(object_name)
    assert app.page == "list" and app.object_name == object_name


def open_record(qtbot: QtBot, app: CrmApp, record_id: str) -> None:
    """Double-click the record's row in its object's list."""
    found = app.device.store.get(record_id)
    assert found is not None, f"{record_id} is not on {app.device.id}"
    if app.page != "list" or app.object_name != found[0]:
        to_list(app, found[0])
    row = app.model.row_of(record_id)
    assert row is not None, f"{record_id} is not in the list"
    index = app.proxy.mapFromSource(app.model.index(row, 1))
    app.table.scrollTo(index)
    rect = app.table.visualRect(index)
    qtbot.mouseClick(app.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(app.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: app.page == "view")


def type_into(qtbot: QtBot, app: CrmApp, field: str, text: str) -> None:
    form = app.edit_page.form
    assert form is not None
    widget = form.editors[field].widget
    assert isinstance(widget, QLineEdit)
    widget.clear()
    qtbot.keyClicks(widget, text)


def edit_phone(qtbot: QtBot, app: CrmApp, record_id: str, phone: str) -> None:
    """From the list: open the record, Edit, type a phone number, Save, back to the list."""
    open_record(qtbot, app, record_id)
    click(qtbot, app.view_page.edit)
    assert app.page == "edit"
    type_into(qtbot, app, "phone__v", phone)
    click(qtbot, app.edit_page.save)
    assert app.page == "view"
    click(qtbot, app.view_page.back)
    assert app.page == "list"


def tap_ok(qtbot: QtBot, app: CrmApp) -> str:
    """Tap OK on the app's alert; returns its title."""
    qtbot.waitUntil(app.alert.isVisible)
    title = app.alert.title.text()
    click(qtbot, app.alert.ok)
    return title


def state_in_list(app: CrmApp, record_id: str) -> str:
    row = app.model.row_of(record_id)
    assert row is not None
    return str(app.model.index(row, 0).data(Qt.ItemDataRole.UserRole + 1))


def columns(window: MainWindow) -> tuple[DeviceColumn, DeviceColumn, DeviceColumn]:
    pro, air, chloe = (window.column(i) for i in range(3))
    return pro, air, chloe


def edit_online(
    qtbot: QtBot, window: MainWindow, record_id: str, phone: str, actor: str | None = None
) -> None:
    """Change an account's phone from the server console's online operations."""
    console = window.console
    qtbot.waitUntil(lambda: console.op_object.count() > 0)
    console.op_object.setCurrentIndex(console.op_object.findData("account__v"))
    console._fill_fields()
    console.op_record.setText(record_id)
    console.op_field.setCurrentIndex(console.op_field.findData("phone__v"))
    console.op_value.setText(phone)
    if actor is not None:
        console.op_actor.setCurrentIndex(console.op_actor.findData(actor))
    click(qtbot, console.findChild(QPushButton, "op-save"))


def order_with_a_line(qtbot: QtBot, app: CrmApp) -> None:
    """New order for Dr. Harper with one line, typed on the edit screen (not saved yet)."""
    to_list(app, "order__v")
    click(qtbot, app.new_button)
    form = app.edit_page.form
    assert form is not None
    form.set("account__v", HARPER)
    form.set("order_date__v", "2026-11-26")
    click(qtbot, app.edit_page.findChild(QPushButton, "add-order_line__v"))
    line = app.edit_page.child_form
    assert line is not None and "order__v" not in line.editors  # the master is implied
    line.set("product__v", "labrinone__c")
    line.set("quantity__v", 3)
    line.set("list_price__v", 12.5)
    click(qtbot, app.edit_page.findChild(QPushButton, "apply-child"))


def settle(qtbot: QtBot, stage: Stage) -> None:
    run(qtbot, stage.settle())


def air_loses_a_conflict(window: MainWindow, qtbot: QtBot) -> tuple[DeviceColumn, DeviceColumn]:
    """AS-07: the offline Air and the Pro edit Dr. Harper's phone; the Air, back online, gets a
    sync error (its alert up, not yet dismissed). Returns the Pro's and the Air's columns."""
    pro, air, _ = columns(window)
    air.panel.set_network("offline")
    edit_phone(qtbot, air.frame.app, HARPER, "+1 222 222 2222")
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 111 111 1111")
    settle(qtbot, window.stage)
    air.panel.set_network("online")
    settle(qtbot, window.stage)
    return pro, air


def test_the_stage_opens_with_three_ipads_and_the_sample_data(window: MainWindow) -> None:
    pro, air, chloe = columns(window)
    assert [c.device.profile.name for c in (pro, air, chloe)] == [
        "Anna's iPad Pro",
        "Anna's iPad Air",
        "Chloe's iPad",
    ]
    assert pro.frame.app.model.rowCount() == 10
    assert chloe.frame.app.model.rowCount() == 8
    assert not pro.frame.status.network.offline
    assert pro.frame.status.time.text() == "09:00:00  Thu 26 Nov"
    assert pro.frame.app.page == "home", "the app opens on its Home page"
    assert pro.frame.app.home_page.widget.title.text() == "Up to date"


@pytest.mark.rule("AS-30")
def test_every_record_shows_its_sync_state_in_colour_and_words_in_the_xray_view(
    window: MainWindow, qtbot: QtBot
) -> None:
    app = window.column(0).frame.app
    to_list(app, "account__v")
    index = app.model.index(0, 0)
    assert index.data() == "Synced"
    assert index.data(Qt.ItemDataRole.ToolTipRole).endswith("Synced")
    assert index.data(Qt.ItemDataRole.AccessibleTextRole) == "Synced"
    assert app.cells.xray, "the list draws each record's X-ray tag"
    window.toggle_xray()
    qtbot.waitUntil(lambda: not app.cells.xray)
    assert index.data(Qt.ItemDataRole.ToolTipRole) is None, "with X-ray off a row tells no sync state"
    assert index.data(Qt.ItemDataRole.AccessibleTextRole) is None


@pytest.mark.rule("AS-28")
@pytest.mark.rule("AS-20")
def test_an_edit_on_one_ipad_shows_on_the_other_after_the_next_poll(window: MainWindow, qtbot: QtBot) -> None:
    pro, air, _ = columns(window)
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 617 555 9999")
    settle(qtbot, window.stage)
    assert air.device.record(HARPER)["phone__v"] != "+1 617 555 9999"  # type: ignore[index]
    click(qtbot, window.clock_bar.plus30)
    qtbot.waitUntil(lambda: not window.clock_bar.busy)
    assert air.device.record(HARPER)["phone__v"] == "+1 617 555 9999"  # type: ignore[index]
    open_record(qtbot, air.frame.app, HARPER)
    value = air.frame.app.view_page.findChild(QLabel, "value-phone__v")
    assert value is not None and value.text() == "+1 617 555 9999"
    qtbot.waitUntil(lambda: "Merged 1 record from the feed." in air.panel.log.toPlainText())


@pytest.mark.rule("AS-06")
@pytest.mark.rule("AS-01")
def test_offline_saves_queue_in_order_and_drain_first_in_first_out(window: MainWindow, qtbot: QtBot) -> None:
    pro, _, _ = columns(window)
    panel, app = pro.panel, pro.frame.app
    click(qtbot, panel.network_buttons["offline"])
    assert pro.device.conditions.mode == "offline"
    edit_phone(qtbot, app, HARPER, "+1 000 000 0001")
    edit_phone(qtbot, app, "V0A000000000003", "+1 000 000 0003")
    qtbot.waitUntil(lambda: panel.drawer.tabText(0) == "Queue (2)")
    assert not panel.queue_view.rows, "a closed drawer is not filled"
    panel.open_drawer()
    assert [row[1] for row in panel.queue_view.rows] == [
        "Save Account Harper, Eleanor",
        "Save Account Okafor, Chinedu",
    ]
    assert all("Waits for connectivity" in row[3] for row in panel.queue_view.rows)
    assert pro.frame.status.network.offline
    qtbot.waitUntil(lambda: state_in_list(app, HARPER) == "saved_locally")
    app.go_home()
    assert app.home_page.widget.title.text() == "2 pending uploads"

    panel.set_network("online")
    settle(qtbot, window.stage)
    qtbot.waitUntil(lambda: panel.drawer.tabText(0) == "Queue (0)")
    uploaded = [
        e.record for e in window.stage.events.events if e.kind == "uploaded" and e.actor == pro.device.actor
    ]
    assert [r[1] for r in uploaded if r] == [HARPER, "V0A000000000003"]
    qtbot.waitUntil(lambda: state_in_list(app, HARPER) == "synced")
    qtbot.waitUntil(lambda: app.home_page.widget.title.text() == "Up to date")


@pytest.mark.rule("AS-07")
@pytest.mark.rule("AS-09")
@pytest.mark.rule("AS-34")
def test_a_conflict_shows_the_sync_error_alert_then_undo_and_sync_take_the_online_version(
    window: MainWindow, qtbot: QtBot
) -> None:
    before = window.column(1).device.record(HARPER)["phone__v"]  # type: ignore[index]
    _pro, air = air_loses_a_conflict(window, qtbot)
    app = air.frame.app
    assert tap_ok(qtbot, app) == "Sync Error", "a sync error shows the app's modal"
    assert app.page == "errors", "after OK, the Errors tab"
    (card,) = app.errors_page.cards
    assert "Harper" in card.findChild(QLabel, "error-title").text()
    assert list(card.buttons) == ["undo"], "no Keep mine: Undo is the only way"
    assert "saved first by Anna's iPad Pro at 09:00:00" in card.details.plain, "X-ray: whose save won, when"
    qtbot.waitUntil(lambda: air.panel.drawer.tabText(1) == "Conflicts (1)")
    air.panel.open_drawer()
    assert air.panel.conflict_values() == [
        {"field": "Phone", "previous": before, "online": "+1 111 111 1111", "new": "+1 222 222 2222"}
    ]
    assert state_in_list(app, HARPER) == "sync_error"

    click(qtbot, card.buttons["undo"])
    qtbot.waitUntil(lambda: "Undo requested" in app.errors_page.cards[0].status.text())
    assert air.device.record(HARPER)["phone__v"] == "+1 222 222 2222", "undone at the next sync, not now"
    click(qtbot, app.errors_page.sync)
    qtbot.waitUntil(lambda: not air.device.sync_errors() and air.device.blocking is None)
    assert air.device.record(HARPER)["phone__v"] == "+1 111 111 1111"  # type: ignore[index]
    qtbot.waitUntil(lambda: not app.errors_page.cards)
    qtbot.waitUntil(lambda: state_in_list(app, HARPER) == "synced")


@pytest.mark.rule("AS-23")
@pytest.mark.rule("AS-25")
def test_an_open_record_shows_update_waiting_and_updates_when_the_user_leaves(
    window: MainWindow, qtbot: QtBot
) -> None:
    pro, air, _ = columns(window)
    open_record(qtbot, air.frame.app, HARPER)
    view = air.frame.app.view_page
    assert "Update waiting" not in view.xray.text()
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 333 333 3333")
    run(qtbot, window.stage.advance(timedelta(seconds=30)))
    # the state and its reason may be drawn a redraw apart
    qtbot.waitUntil(
        lambda: "Update waiting" in view.xray.text() and "the record is open on screen" in view.xray.text()
    )
    assert view.xray.isVisible()
    shown = view.findChild(QLabel, "value-phone__v")
    assert shown.text() != "+1 333 333 3333", "the open screen does not change under the user"
    qtbot.waitUntil(lambda: air.panel.drawer.tabText(2) == "Waiting (1)")
    air.panel.open_drawer()
    waiting = air.panel.waiting
    qtbot.waitUntil(
        lambda: waiting.item(0, 3) is not None and waiting.item(0, 3).text() == "the record is open on screen"
    )

    click(qtbot, view.back)
    assert air.device.record(HARPER)["phone__v"] == "+1 333 333 3333"  # type: ignore[index]
    open_record(qtbot, air.frame.app, HARPER)
    assert view.findChild(QLabel, "value-phone__v").text() == "+1 333 333 3333"
    assert "Update waiting" not in view.xray.text()


def _an_anna_saved_order(stage: Stage) -> str:
    pro = next(iter(stage.devices.values()))
    return next(str(r["id"]) for r in pro.records("order__v") if r.get("status__v") != "submitted__v")


@pytest.mark.rule("AS-24")
def test_an_action_forbidden_by_waiting_data_is_refused_with_a_dialog(
    window: MainWindow, qtbot: QtBot
) -> None:
    pro, air, _ = columns(window)
    order = _an_anna_saved_order(window.stage)
    for column in (pro, air):
        app = column.frame.app
        app.tabs.setCurrentIndex(app._tab_objects.index("order__v"))
        assert app.object_name == "order__v" and app.page == "list"
    open_record(qtbot, air.frame.app, order)
    open_record(qtbot, pro.frame.app, order)
    click(qtbot, pro.frame.app.view_page.edit)
    click(qtbot, pro.frame.app.edit_page.submit)
    settle(qtbot, window.stage)
    run(qtbot, window.stage.advance(timedelta(seconds=30)))

    click(qtbot, air.frame.app.view_page.edit)
    assert air.frame.app.page == "view", "the edit screen did not open"
    shown = window.context.messages.history[-1]
    assert shown.kind == "refused" and shown.title == "Cannot edit"
    assert "submitted on another device" in shown.text
    alert = air.frame.app.alert
    assert alert.isVisible() and "submitted on another device" in alert.text.text(), "told inside the iPad"
    assert window.findChild(QMessageBox) is None
    assert tap_ok(qtbot, air.frame.app) == "Cannot edit"


@pytest.mark.rule("AS-27")
@pytest.mark.rule("AS-35")
def test_the_sync_button_brings_an_online_edit_that_autosync_does_not(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    pro, _, _ = columns(window)
    edit_online(qtbot, window, HARPER, "+1 444 444 4444", actor="integration")
    qtbot.waitUntil(lambda: any(e.kind == "online_change" for e in window.stage.events.events))

    run(qtbot, window.stage.advance(timedelta(seconds=30)))
    assert pro.device.record(HARPER)["phone__v"] != "+1 444 444 4444"  # type: ignore[index]
    app = pro.frame.app
    shown: list[tuple[str, int, int]] = []
    original = app.sync_window.show_progress

    def spy(title: str, phase: str, *counts: int) -> None:
        shown.append((title, counts[2], counts[3]))
        original(title, phase, *counts)

    monkeypatch.setattr(app.sync_window, "show_progress", spy)
    click(qtbot, app.home_page.widget.sync)
    qtbot.waitUntil(lambda: pro.device.blocking is None and not window.context.tasks.running)
    assert pro.device.record(HARPER)["phone__v"] == "+1 444 444 4444"  # type: ignore[index]
    assert shown and all(title == "Syncing" for title, _d, _t in shown), "the sync window blocked the app"
    assert any(done == total > 0 for _t, done, total in shown), "it counted the records downloaded"
    assert app.sync_window.isHidden()
    assert app.home_page.widget.last.text() == "Last sync: Thu 26 Nov 2026 09:00:32 (today)", "it took 2 s"


@pytest.mark.rule("AS-29")
def test_an_ipad_4_is_added_without_autosync_and_says_why(window: MainWindow, qtbot: QtBot) -> None:
    window.open_add_device()
    qtbot.waitUntil(lambda: getattr(window, "add_dialog", None) is not None)
    dialog = window.add_dialog
    dialog.name.setText("Old iPad")
    dialog.model.setCurrentIndex(dialog.model.findData("iPad 4"))
    assert "32-bit" in dialog.verdict.text() and "No Autosync" in dialog.verdict.text()
    assert dialog.verdict.text().endswith("until you tap Sync."), "the app's button is Sync, not Sync now"
    dialog.model.setCurrentIndex(dialog.model.findData("iPad Air 2"))
    dialog.ios.setText("10.3")
    assert "iOS 10.3 is too old" in dialog.verdict.text()
    dialog.model.setCurrentIndex(dialog.model.findData("iPad 4"))
    dialog.accept()
    qtbot.waitUntil(lambda: "old-ipad" in window.columns)
    column = window.columns["old-ipad"]
    panel = column.panel
    assert not panel.traditional.isEnabled() and panel.traditional.isChecked()
    assert "32-bit" in panel.ineligible.text()
    assert "traditional sync" in column.frame.caption.text(), "said beside the iPad, not in the app"

    edit_phone(qtbot, column.frame.app, HARPER, "+1 555 000 0004")
    run(qtbot, window.stage.advance(timedelta(seconds=60)))
    qtbot.waitUntil(lambda: panel.drawer.tabText(0) == "Queue (1)")
    panel.open_drawer()
    assert "Waits for a sync" in panel.queue_view.rows[0][3]
    app = column.frame.app
    app.go_home()
    click(qtbot, app.home_page.widget.sync)
    qtbot.waitUntil(lambda: panel.drawer.tabText(0) == "Queue (0)")
    qtbot.waitUntil(lambda: not window.context.tasks.running)


@pytest.mark.rule("AS-05")
@pytest.mark.rule("AS-02")
def test_an_order_and_its_lines_are_saved_together_from_the_edit_screen(
    window: MainWindow, qtbot: QtBot
) -> None:
    pro, _, _ = columns(window)
    pro.panel.set_network("offline")
    app = pro.frame.app
    order_with_a_line(qtbot, app)
    assert app.page == "edit"
    assert app.edit_page.child_lists["order_line__v"].count() == 1
    assert pro.device.queue() == [], "nothing is queued while the order is open (AS-02)"
    click(qtbot, app.edit_page.save)
    (item,) = pro.device.queue()
    assert [i["object"] for i in item.items] == ["order__v", "order_line__v"]


def test_a_refused_save_keeps_the_edit_screen_open(window: MainWindow, qtbot: QtBot) -> None:
    app = window.column(0).frame.app
    to_list(app, "account__v")
    click(qtbot, app.new_button)
    app.edit_page.session.set = lambda *_a: (_ for _ in ()).throw(  # type: ignore[union-attr]
        __import__("emulator.engine.device", fromlist=["ActionRefused"]).ActionRefused("nope")
    )
    app.edit_page.form.set("first_name__v", "Zed")  # type: ignore[union-attr]
    click(qtbot, app.edit_page.save)
    assert app.page == "edit"
    assert window.context.messages.history[-1].text == "nope"
    assert tap_ok(qtbot, app) == "Cannot save"
    click(qtbot, app.edit_page.cancel)
    assert app.page == "list" and window.column(0).device.edit is None


@pytest.mark.rule("AS-31")
def test_what_if_this_ipad_were_lost_lists_the_queue(window: MainWindow, qtbot: QtBot) -> None:
    pro, _, _ = columns(window)
    pro.panel.set_network("offline")
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 666")
    click(qtbot, pro.panel.lost)
    shown = window.context.messages.history[-1]
    assert "Save Account Harper, Eleanor" in shown.text
    assert "Safe online already:" in shown.text


def loss_action(window: MainWindow, index: int) -> QAction:
    menu = [a.menu() for a in window.device_menu.actions() if a.menu() is not None][index]
    return next(a for a in menu.actions() if a.text().startswith("What if it were lost now?"))


@pytest.mark.rule("AS-31")
@pytest.mark.rule("AS-30")
def test_the_loss_report_is_the_xray_views_and_goes_with_it(window: MainWindow, qtbot: QtBot) -> None:
    pro, air, _ = columns(window)
    assert loss_action(window, 0).isEnabled() and loss_action(window, 1).isEnabled()
    window.toggle_xray()
    qtbot.waitUntil(lambda: not loss_action(window, 0).isEnabled())
    assert not loss_action(window, 1).isEnabled() and pro.panel.lost.isHidden()
    window.toggle_xray(air.device.id)  # back on for the Air alone
    qtbot.waitUntil(lambda: loss_action(window, 1).isEnabled())
    assert not loss_action(window, 0).isEnabled()
    assert not air.panel.lost.isHidden() and pro.panel.lost.isHidden()  # the panel's button too


def test_the_clock_bar_jumps_and_long_jumps_do_not_poll_every_30_seconds(
    window: MainWindow, qtbot: QtBot
) -> None:
    stage = window.stage
    start = stage.clock.now()
    click(qtbot, window.clock_bar.plus30)
    qtbot.waitUntil(lambda: not window.clock_bar.busy)
    assert stage.clock.now() - start == timedelta(seconds=30)
    polls = sum(1 for e in stage.events.events if e.kind == "polled")
    click(qtbot, window.clock_bar.plus_day)
    qtbot.waitUntil(lambda: not window.clock_bar.busy, timeout=20_000)
    assert stage.clock.now() - start == timedelta(days=1, seconds=30)
    assert sum(1 for e in stage.events.events if e.kind == "polled") - polls <= 6
    assert all(d.poll_interval == timedelta(seconds=30) for d in stage.devices.values())
    assert window.clock_bar.time.text().startswith("Fri 27 Nov 2026, 09:00:30")


def test_the_poll_interval_setting_reaches_every_ipad(window: MainWindow) -> None:
    window.clock_bar.poll.setValue(60)
    window.clock_bar.apply_poll_interval()
    assert {d.poll_interval for d in window.stage.devices.values()} == {timedelta(seconds=60)}


def test_f1_opens_the_shortcut_sheet_and_zoom_makes_fonts_larger(window: MainWindow, qtbot: QtBot) -> None:
    sheet = window.show_shortcuts()
    table = sheet.findChild(QTableWidget, "shortcuts")
    keys = {key for r in range(table.rowCount()) for key in table.item(r, 0).text().split(", ")}
    assert {"F1", "Ctrl+N", "Ctrl+=", "Ctrl+-", "Ctrl+T", "Ctrl+D", "Ctrl+Shift+X"} <= keys
    metrics = table.fontMetrics()
    for row in range(table.rowCount()):  # every action's name whole, not cut off
        text = table.item(row, 1).text()
        assert metrics.horizontalAdvance(text) <= table.columnWidth(1), text
    sheet.search.setText("x-ray")
    assert sheet.visible_actions() == ["X-ray view"]
    sheet.search.setText("ctrl+d")
    assert sheet.visible_actions() == ["+1 day"]
    sheet.search.clear()
    assert len(sheet.visible_actions()) == table.rowCount()
    sheet.close()
    before = window.font().pointSizeF()
    window.toggle_presenter()
    assert window.font().pointSizeF() == pytest.approx(before * 1.5)
    window.step_zoom(-1)
    assert window.zoom < 1.5
    window.set_zoom(1.0)


def test_remove_and_reset_to_the_sample_state(window: MainWindow, qtbot: QtBot) -> None:
    pro, _, _ = columns(window)
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 777")
    settle(qtbot, window.stage)
    window.remove_device("chloe-s-ipad")
    qtbot.waitUntil(lambda: "chloe-s-ipad" not in window.stage.devices)
    assert list(window.columns) == ["anna-s-ipad-pro", "anna-s-ipad-air"]
    future = window.reset_stage()
    qtbot.waitUntil(future.done, timeout=20_000)
    assert list(window.columns) == ["anna-s-ipad-pro", "anna-s-ipad-air"]
    new_pro = window.column(0).device
    assert new_pro is not pro.device
    assert new_pro.record(HARPER)["phone__v"] == "+1 617-555-0142"  # type: ignore[index]
    # the removed iPads' widgets are gone from the clock's listeners: a tick reaches only live ones
    window.clock_bar.plus30.click()
    qtbot.waitUntil(lambda: window.column(0).frame.status.time.text().startswith("09:00:30"), timeout=10_000)


def test_closing_the_window_closes_the_stage(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.closed, timeout=10_000):
        window.close()
    assert window.stage.devices == {}
    assert window.stage.admin is not None and window.stage.admin.is_closed


def test_the_ipads_get_the_width_first_and_the_console_what_is_left(window: MainWindow, qtbot: QtBot) -> None:
    window.fit_to(1300, 768, within_screen=False)  # a projector's 1366 x 768, less its frame
    qtbot.waitUntil(lambda: window.width() == 1300)
    assert not window.console_dock.isVisible()  # three iPads need the room
    qtbot.waitUntil(lambda: window.scroller.viewport().width() >= window.row_host.minimumSizeHint().width())
    window.fit_to(1900, 1040, within_screen=False)
    qtbot.waitUntil(lambda: window.width() == 1900 and window.console_dock.isVisible())
    qtbot.waitUntil(lambda: window.scroller.viewport().width() >= window.row_host.minimumSizeHint().width())
    qtbot.waitUntil(lambda: window.console_dock.width() >= 500)  # the console gets what is left


def test_save_a_screenshot_through_a_dialog_that_never_blocks(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    window.save_screenshot_dialog()  # returns at once: the dialog is open(), not exec()
    dialog = window.findChild(QFileDialog)
    assert dialog is not None and dialog.isVisible() and dialog.defaultSuffix() == "png"
    dialog.selectFile(str(tmp_path / "stage"))  # no suffix typed: .png is added
    dialog.accept()
    qtbot.waitUntil((tmp_path / "stage.png").exists)
    assert QImage(str(tmp_path / "stage.png")).width() == window.width()
