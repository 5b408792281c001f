"""The real Vault CRM app inside the bezel, and the X-ray view beside it, clicked through.

Rules: AS-30, AS-33 to AS-37 (REAL-APP.md: the Sync widget, the sync error modal and Errors tab,
the blocking incremental sync, Refresh mode, the full database refresh).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from emulator.engine.device import ActionRefused, Device
from emulator.engine.events import Event, SyncFailReason
from emulator.engine.incremental import FAILURE_ALERTS, HANDSHAKE, PER_RECORD
from emulator.stage import Stage
from emulator.ui.crm_app import CrmApp
from emulator.ui.main_window import DeviceColumn, MainWindow
from emulator.ui.xray_style import is_xray
from tests.ui.conftest import run
from tests.ui.rep_view import film_in, what_a_rep_sees, xray_leaks
from tests.ui.test_main_window import (
    HARPER,
    air_loses_a_conflict,
    click,
    columns,
    edit_phone,
    open_record,
    tap_ok,
    to_list,
)

OKAFOR = "V0A000000000003"


def settle(qtbot: QtBot, stage: Stage) -> None:
    run(qtbot, stage.settle())


def jump(qtbot: QtBot, window: MainWindow, delta: timedelta) -> None:
    run(qtbot, window.stage.advance(delta))


def next_morning(window: MainWindow) -> timedelta:
    now = window.stage.clock.now()
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo) - now


def last_sync(window: MainWindow, device: Device) -> Event:
    """The device's last finished sync (its data say whether it was a full database refresh)."""
    return [e for e in window.stage.events.events if e.kind == "sync_finished" and e.actor == device.actor][
        -1
    ]


def widget_title(app: CrmApp) -> str:
    app.refresh()
    return app.home_page.widget.title.text()


def conflict_on_the_air(window: MainWindow, qtbot: QtBot) -> tuple[DeviceColumn, DeviceColumn]:
    pro, air = air_loses_a_conflict(window, qtbot)
    assert tap_ok(qtbot, air.frame.app) == "Sync Error"
    return pro, air


@pytest.mark.rule("AS-33")
def test_each_sync_widget_state_shows_when_the_engine_is_in_it(window: MainWindow, qtbot: QtBot) -> None:
    pro, _, _ = columns(window)
    app, device = pro.frame.app, pro.device
    icon = app.home_page.widget.icon
    assert (widget_title(app), icon.state, icon.colour) == ("Up to date", "up_to_date", "green")
    assert app.home_page.widget.last.text() == "Last sync: Thu 26 Nov 2026 09:00:00 (today)"

    pro.panel.set_network("offline")
    edit_phone(qtbot, app, HARPER, "+1 000 000 0001")
    edit_phone(qtbot, app, OKAFOR, "+1 000 000 0003")
    order = next(str(r["id"]) for r in device.records("order__v") if r.get("status__v") != "submitted__v")
    device.save("order__v", order, {"delivery_date__v": "2026-12-24"})
    app.go_home()
    assert widget_title(app) == "2 pending uploads", "the order is not counted"
    assert (icon.state, icon.colour) == ("pending", "orange")
    only_the_app(
        window, qtbot, "Home with pending uploads", xray_in=(pro,), meets={pro: ("2 pending uploads", "Sync")}
    )

    jump(qtbot, window, timedelta(days=3, seconds=1))
    while app.alert.isVisible():
        tap_ok(qtbot, app)  # the reminder to sync
    assert widget_title(app) == "2 pending uploads"
    assert icon.colour == "red", "pending longer than SYNC_WARN_INTERVAL (3 days) turns red"
    assert "3 days ago" in app.home_page.widget.last.text()
    assert app.home_page.reminder.isVisible()

    pro.panel.set_network("online")  # uploads, then a validation error
    settle(qtbot, window.stage)
    device.save("account__v", HARPER, {"last_name__v": ""})
    settle(qtbot, window.stage)
    assert tap_ok(qtbot, app) == "Sync Error"
    app.go_home()
    assert (widget_title(app), icon.colour) == ("1 sync error", "red")
    qtbot.mouseClick(app.home_page.widget, Qt.MouseButton.LeftButton)
    assert app.page == "errors", "tapping the red widget opens the Errors tab"

    app.go_home()
    task = asyncio.ensure_future(device.syncer.run())  # the clock is paused: the sync waits for it
    qtbot.waitUntil(lambda: device.syncer.progress is not None and window.stage.clock.is_parked(task))
    assert widget_title(app) == "Syncing" and icon.state == "syncing"
    assert app.home_page.widget.detail.text().startswith("Uploaded 0 of 0 · Downloaded")
    run(qtbot, window.stage.complete(task))
    assert widget_title(app) == "1 sync error", "the sync ends in the error state (AS-34)"


@pytest.mark.rule("AS-34")
def test_an_error_whose_record_has_a_pending_upload_offers_only_clear(
    window: MainWindow, qtbot: QtBot
) -> None:
    _pro, air = conflict_on_the_air(window, qtbot)
    app = air.frame.app
    assert list(app.errors_page.cards[0].buttons) == ["undo"]
    air.panel.set_network("offline")
    air.device.save("account__v", HARPER, {"email__v": "again@example.org"})  # a new edit waits
    app.show_errors()
    qtbot.waitUntil(lambda: list(app.errors_page.cards[0].buttons) == ["clear"])
    click(qtbot, app.errors_page.cards[0].buttons["clear"])
    qtbot.waitUntil(lambda: not app.errors_page.cards)
    assert app.errors_page.findChild(QLabel, "no-errors") is not None
    assert air.device.record(HARPER)["phone__v"] == "+1 222 222 2222", "clearing keeps the data"  # type: ignore[index]


@pytest.mark.rule("AS-34")
def test_with_xray_off_the_sync_error_modal_and_the_errors_tab_show_only_the_app(
    window: MainWindow, qtbot: QtBot
) -> None:
    _pro, air = air_loses_a_conflict(window, qtbot)
    app = air.frame.app
    qtbot.waitUntil(app.alert.isVisible)
    only_the_app(window, qtbot, "the sync error modal", xray_in=(air,), meets={air: ("Sync Error", "OK")})
    assert tap_ok(qtbot, app) == "Sync Error" and app.page == "errors"
    (card,) = app.errors_page.cards
    assert "this iPad sent" in card.details.plain, "the conflict's values are the X-ray view's"
    only_the_app(
        window, qtbot, "the Errors tab", xray_in=(air,), meets={air: ("Sync Errors", "Undo", "Harper")}
    )


@pytest.mark.rule("AS-34")
def test_undelete_makes_the_next_sync_a_database_refresh(window: MainWindow, qtbot: QtBot) -> None:
    pro, air, _ = columns(window)
    order = next(str(r["id"]) for r in pro.device.records("order__v") if r.get("status__v") != "submitted__v")
    air.panel.set_network("offline")
    open_record(qtbot, air.frame.app, order)
    click(qtbot, air.frame.app.view_page.delete)  # deleted on the Air ...
    pro.device.save("order__v", order, {}, submit=True)  # ... submitted on the Pro
    settle(qtbot, window.stage)
    air.panel.set_network("online")
    settle(qtbot, window.stage)
    app = air.frame.app
    assert tap_ok(qtbot, app) == "Sync Error" and app.page == "errors"
    (card,) = app.errors_page.cards
    assert list(card.buttons) == ["undelete"]
    click(qtbot, card.buttons["undelete"])
    qtbot.waitUntil(lambda: "database" in app.errors_page.cards[0].status.text())
    click(qtbot, app.errors_page.sync)
    qtbot.waitUntil(lambda: air.device.blocking is None and not window.context.tasks.running)
    assert last_sync(window, air.device).data["full"] is True, "the sync became a database refresh"
    assert air.device.record(order) is not None and air.device.sync_errors() == []


@pytest.mark.rule("AS-35")
def test_during_an_incremental_sync_the_ipad_refuses_input_and_shows_progress(
    window: MainWindow, qtbot: QtBot
) -> None:
    """An incremental sync, not a full refresh: it uploads the queue, then downloads what changed."""
    pro, _, _ = columns(window)
    app, device = pro.frame.app, pro.device
    device.set_traditional(True)  # compare: the edits wait for the sync to upload them
    edit_phone(qtbot, app, HARPER, "+1 555 0301")
    edit_phone(qtbot, app, OKAFOR, "+1 555 0302")
    for k in range(30):  # changes made online reach the iPad only by incremental sync
        fields = {"account_type__v": "hcp__v", "last_name__v": f"Online {k}", "territory__v": "T-NE"}
        run(
            qtbot,
            window.stage.online("POST", "/records/account__v", json={"owner": "anna", "fields": fields}),
        )
    to_list(app, "account__v")
    started = window.stage.clock.now()
    click(qtbot, app.home_page.widget.sync)  # the Sync button; the clock stands still meanwhile
    qtbot.waitUntil(lambda: app.sync_window.isVisible())
    assert app.sync_window.title.text() == "Syncing" and not device.syncer.full
    centre = app.table.mapTo(app, app.table.rect().center())
    hit = app.childAt(centre)
    assert hit is app.sync_window or app.sync_window.isAncestorOf(hit), "the window takes every tap"
    with pytest.raises(ActionRefused, match="syncing"):
        device.open_record("account__v", HARPER)
    with pytest.raises(ActionRefused, match="syncing"):
        device.begin_edit("account__v")
    assert app.run_sync() is None, "a second tap on Sync does nothing while it runs"
    qtbot.waitUntil(lambda: device.blocking is None and not window.context.tasks.running)
    qtbot.waitUntil(lambda: app.sync_window.isHidden())
    finished = last_sync(window, device)
    assert finished.data["full"] is False and device.queue() == []
    counts = app.sync_window.counts.text().split()  # "Uploaded 2 of 2", "Downloaded n of n"
    assert counts[:4] == ["Uploaded", "2", "of", "2"] and int(counts[-1]) >= 30
    moved = 2 + int(counts[-1])
    assert window.stage.clock.now() - started >= HANDSHAKE + PER_RECORD * moved


@pytest.mark.rule("AS-35")
def test_sync_tapped_while_autosync_uploads_waits_for_that_upload_and_succeeds(
    window: MainWindow, qtbot: QtBot
) -> None:
    """The rep saves with a slow network and taps Sync at once: no "Sync Failed", one upload."""
    pro, _, _ = columns(window)
    app, device = pro.frame.app, pro.device
    device.set_network("online", latency=timedelta(seconds=1))
    edit_phone(qtbot, app, HARPER, "+1 555 0401")
    qtbot.waitUntil(lambda: device.uploader.draining)  # on the wire: it waits for the clock
    app.go_home()
    click(qtbot, app.home_page.widget.sync)
    qtbot.waitUntil(lambda: device.blocking is None and not window.context.tasks.running)
    events = [e for e in window.stage.events.events if e.actor == device.actor]
    assert [e.kind for e in events if e.kind in ("sync_finished", "sync_failed")][-1] == "sync_finished"
    assert [e.kind for e in events if e.record and e.record[1] == HARPER].count("uploading") == 1
    assert device.queue() == [] and not app.alert.isVisible()


@pytest.mark.rule("AS-35")
@pytest.mark.rule("AS-37")
def test_during_a_full_refresh_the_ipad_refuses_input_and_shows_progress(
    window: MainWindow, qtbot: QtBot
) -> None:
    pro, _, _ = columns(window)
    app, device = pro.frame.app, pro.device
    to_list(app, "account__v")
    task = asyncio.ensure_future(device.syncer.run(full=True))  # the clock stands still meanwhile
    qtbot.waitUntil(lambda: app.sync_window.isVisible())
    assert app.sync_window.title.text() == "Full Database Refresh"
    centre = app.table.mapTo(app, app.table.rect().center())
    hit = app.childAt(centre)
    assert hit is app.sync_window or app.sync_window.isAncestorOf(hit), "the window takes every tap"
    with pytest.raises(ActionRefused, match="syncing"):
        device.open_record("account__v", HARPER)
    run(qtbot, window.stage.complete(task))
    qtbot.waitUntil(lambda: app.sync_window.isHidden())
    counts = app.sync_window.counts.text()
    assert counts.startswith("Uploaded 0 of 0\nDownloaded") and counts.split()[-1] != "0"


@pytest.mark.rule("AS-35")
@pytest.mark.rule("AS-37")
def test_a_failed_sync_tells_the_rep_in_the_apps_alert_dismissed_with_ok(
    window: MainWindow, qtbot: QtBot
) -> None:
    pro, _, _ = columns(window)
    app, device = pro.frame.app, pro.device
    window.toggle_xray()  # the rep's view: the alert is the app's own, not an emulator note
    qtbot.waitUntil(lambda: not app.cells.xray)

    def fails(start: Callable[[], object], reason: SyncFailReason) -> None:
        start()
        qtbot.waitUntil(app.alert.isVisible)
        assert device.blocking is None, "the alert comes when the sync window is gone"
        assert app.alert.text.text() == FAILURE_ALERTS[reason]
        assert not [w for w in (app.alert, *app.alert.findChildren(QWidget)) if is_xray(w)]
        assert tap_ok(qtbot, app) == "Sync Failed"
        assert app.alert.isHidden() and device.unread_notices() == []

    pro.panel.set_network("offline")
    app.go_home()
    fails(lambda: click(qtbot, app.home_page.widget.sync), "offline")
    assert [e.data["through"] for e in window.stage.events.events if e.kind == "dismissed"], "OK is recorded"

    pro.panel.set_network("online")
    device.inject_fault("server_error")  # the sync's download gets a 503
    fails(app.full_refresh_action.trigger, "server")


@pytest.mark.rule("AS-37")
def test_options_database_full_database_refresh(window: MainWindow, qtbot: QtBot) -> None:
    pro, _, _ = columns(window)
    app = pro.frame.app
    assert app.options.menu() is not None
    database = next(a.menu() for a in app.options.menu().actions() if a.text() == "Database")
    assert [a.text() for a in database.actions()] == ["Full Database Refresh"]
    app.full_refresh_action.trigger()
    qtbot.waitUntil(lambda: pro.device.blocking is None and not window.context.tasks.running)
    assert last_sync(window, pro.device).data["full"] is True


@pytest.mark.rule("AS-36")
def test_refresh_mode_starts_on_the_first_use_of_a_day_pauses_and_apply_update_applies_it(
    window: MainWindow, qtbot: QtBot
) -> None:
    pro, _, _ = columns(window)
    app, device = pro.frame.app, pro.device
    console = window.console
    qtbot.waitUntil(lambda: console.admin_user.count() > 0)
    console.admin_user.setCurrentIndex(console.admin_user.findData("anna"))
    console.refresh_mode.setChecked(True)
    click(qtbot, console.findChild(QPushButton, "save-user-settings"))
    qtbot.waitUntil(lambda: not window.context.tasks.running)
    app.run_sync()  # the iPad reads the setting
    qtbot.waitUntil(lambda: device.refresh.state == "idle" and not window.context.tasks.running)
    for n in range(120):
        fields = {"account_type__v": "hcp__v", "last_name__v": f"Loaded {n}", "territory__v": "T-NE"}
        run(
            qtbot,
            window.stage.online("POST", "/records/account__v", json={"owner": "anna", "fields": fields}),
        )

    jump(qtbot, window, next_morning(window))
    assert device.refresh.state == "downloading", "it starts by itself on the first use of the day"
    jump(qtbot, window, timedelta(seconds=3))
    pro.panel.foreground.setChecked(False)
    jump(qtbot, window, timedelta(seconds=10))
    assert device.refresh.state == "paused"
    assert pro.frame.home_screen.isVisible(), "in the background the iPad shows its home screen"
    click(qtbot, pro.frame.home_screen.icon)  # the rep opens the app again
    assert device.foreground and device.refresh.state == "downloading"
    jump(qtbot, window, timedelta(minutes=1))
    while app.alert.isVisible():
        tap_ok(qtbot, app)
    app.go_home()
    qtbot.waitUntil(lambda: app.apply_nav.isVisible() and app.home_page.widget.apply.isVisible())
    assert "#1f6fd1" in app.apply_nav.styleSheet(), "blue: the update waited less than a day"
    assert "Apply Update is blue: the update has waited since" in app.home_xray.plain  # why, in X-ray
    only_the_app(
        window,
        qtbot,
        "Refresh mode's Apply Update",
        xray_in=(pro,),
        meets={pro: ("Apply Update", "Update ready to apply")},
    )
    click(qtbot, app.home_page.widget.apply)
    qtbot.waitUntil(lambda: device.refresh.state == "idle" and not window.context.tasks.running)
    assert any(r.get("last_name__v") == "Loaded 119" for r in device.records("account__v"))
    qtbot.waitUntil(lambda: not app.apply_nav.isVisible())


@pytest.mark.rule("AS-34")
@pytest.mark.rule("AS-37")
def test_the_server_console_clears_client_errors_and_forces_a_full_refresh(
    window: MainWindow, qtbot: QtBot
) -> None:
    _pro, air = conflict_on_the_air(window, qtbot)
    console = window.console
    qtbot.waitUntil(lambda: console.admin_user.count() > 0)
    console.admin_user.setCurrentIndex(console.admin_user.findData("anna"))
    click(qtbot, console.findChild(QPushButton, "clear-sync-errors"))
    click(qtbot, console.findChild(QPushButton, "force-full-refresh"))
    qtbot.waitUntil(lambda: not window.context.tasks.running)
    assert len(air.device.sync_errors()) == 1, "the iPad does it at its next incremental sync"
    air.frame.app.run_sync()
    qtbot.waitUntil(lambda: air.device.blocking is None and not window.context.tasks.running)
    assert air.device.sync_errors() == []
    assert last_sync(window, air.device).data["full"] is True


def set_xray(window: MainWindow, qtbot: QtBot, on: bool) -> None:
    """View ▸ X-ray view, and wait until every iPad has redrawn."""
    window.stage.set_xray(on)
    for column in columns(window):
        qtbot.waitUntil(lambda c=column: c.frame.app.cells.xray == on)


def only_the_app(
    window: MainWindow,
    qtbot: QtBot,
    moment: str,
    *,
    xray_in: tuple[DeviceColumn, ...],
    meets: dict[DeviceColumn, tuple[str, ...]],
) -> None:
    """Issue 9's guard at one moment, on every iPad: with X-ray on, the walk finds the X-ray view
    in the ``xray_in`` iPads (so it can fail); off, nothing of it is inside any bezel, and the walk
    meets the ``meets`` texts (it reaches the screen of the moment); then X-ray is on again."""
    for column in xray_in:
        found = xray_leaks(column.frame.bezel)
        assert found, f"{moment}: with X-ray on, the walk finds it on {column.device.id}"
    set_xray(window, qtbot, False)
    try:
        for column in columns(window):
            seen = [s.text for s in what_a_rep_sees(column.frame.bezel)]
            for text in meets.get(column, ()):
                assert any(text in t for t in seen), f"{moment}: the walk does not reach {text!r}"
            assert xray_leaks(column.frame.bezel) == [], f"{moment} on {column.device.id}"
    finally:
        set_xray(window, qtbot, True)


@pytest.mark.rule("AS-30")
def test_with_xray_off_nothing_of_the_emulator_is_inside_any_bezel(window: MainWindow, qtbot: QtBot) -> None:
    """The list, view and edit screens (AS-30: sync states are the X-ray view's)."""
    pro, air, chloe = columns(window)
    chloe.panel.set_network("offline")
    edit_phone(qtbot, chloe.frame.app, "V0A000000000011", "+1 415 555 0000")  # saved on the iPad only
    open_record(qtbot, air.frame.app, HARPER)
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 333 333 3333")
    jump(qtbot, window, timedelta(seconds=30))  # the Air's update waits: the record is open
    air_view = air.frame.app.view_page
    qtbot.waitUntil(lambda: "Update waiting" in air_view.xray.text())
    chloe.frame.app.model.flash(["V0A000000000011"])  # a row that just changed glows (X-ray)
    assert film_in(chloe.frame.app.table.viewport()), "the X-ray tags are drawn"
    related = air_view.children_tree
    assert related.topLevelItemCount() and not related.isColumnHidden(1), "related records' states"
    chloe_names = (str(chloe.frame.app.model.index(0, 1).data()), "Search")
    only_the_app(
        window,
        qtbot,
        "the list and view screens",
        xray_in=(pro, air, chloe),
        meets={chloe: chloe_names, air: ("Harper, Eleanor", "Related records")},
    )

    window.toggle_xray()  # off for all, then back on for the Air alone
    window.toggle_xray("anna-s-ipad-air")
    qtbot.waitUntil(lambda: air_view.xray.isVisible() and not pro.frame.app.cells.xray)
    assert air.frame.app.cells.xray
    assert xray_leaks(air.frame.bezel) and xray_leaks(pro.frame.bezel) == []
    window.toggle_xray()  # on for all (the Air was on: the switch follows the one for all)
    set_xray(window, qtbot, True)

    app = pro.frame.app
    order = next(str(r["id"]) for r in pro.device.records("order__v") if r.get("status__v") != "submitted__v")
    open_record(qtbot, app, order)
    click(qtbot, app.view_page.edit)
    assert app.page == "edit" and app.edit_page.child_lists, "an order's lines are edited with it"
    only_the_app(
        window, qtbot, "the edit screen", xray_in=(air, chloe), meets={pro: ("Save", "Cancel", "Edit order")}
    )


@pytest.mark.rule("AS-30")
def test_the_xray_switch_is_remembered(stage: Stage, qtbot: QtBot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "view.ini"), QSettings.Format.IniFormat)
    first = MainWindow(stage, settings=settings, clock_running=False)
    qtbot.addWidget(first)
    first.toggle_xray()
    first.save_settings()
    first.context.bridge.detach()
    first.hide()
    stage.set_xray(True)
    second = MainWindow(stage, settings=settings, clock_running=False)
    qtbot.addWidget(second)
    try:
        assert not stage.xray.on and not second.xray_action.isChecked()
    finally:
        run(qtbot, second.shutdown())


@pytest.mark.rule("AS-30")
def test_each_ipads_own_xray_switch_is_remembered(stage: Stage, qtbot: QtBot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "view.ini"), QSettings.Format.IniFormat)
    air, chloe = "anna-s-ipad-air", "chloe-s-ipad"
    first = MainWindow(stage, settings=settings, clock_running=False)
    qtbot.addWidget(first)
    first.toggle_xray(air)  # off on the Air alone
    first.save_settings()
    first.context.bridge.detach()
    first.hide()
    stage.set_xray(True)  # as a restart finds it
    second = MainWindow(stage, settings=settings, clock_running=False)
    qtbot.addWidget(second)
    second.context.bridge.detach()
    second.hide()
    assert stage.xray.on and not stage.xray.shown(air) and stage.xray.shown(chloe)

    stage.set_xray(False)  # off for all, then on for Chloe's iPad alone
    stage.set_xray(True, chloe)
    second.save_settings()
    stage.set_xray(True)
    third = MainWindow(stage, settings=settings, clock_running=False)
    qtbot.addWidget(third)
    try:
        assert not stage.xray.on and not third.xray_action.isChecked()
        assert stage.xray.only == {chloe: True}, "switching all forgets the iPads' own choices"
        assert third.columns[chloe].frame.app.xray_shown and not third.columns[air].frame.app.xray_shown
    finally:
        run(qtbot, third.shutdown())


def test_an_ipad_in_the_background_shows_its_home_screen(window: MainWindow, qtbot: QtBot) -> None:
    pro, _, _ = columns(window)
    pro.panel.foreground.setChecked(False)
    qtbot.waitUntil(pro.frame.home_screen.isVisible)
    centre = pro.frame.app.rect().center()
    hit = pro.frame.bezel.app_area.childAt(pro.frame.app.mapTo(pro.frame.bezel.app_area, centre))
    assert hit is pro.frame.home_screen or pro.frame.home_screen.isAncestorOf(hit)
    click(qtbot, pro.frame.home_screen.icon)
    assert pro.device.foreground
    qtbot.waitUntil(pro.frame.home_screen.isHidden)
    qtbot.waitUntil(pro.panel.foreground.isChecked)  # the panel redraws a few times a second
