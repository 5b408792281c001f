"""Record: what the user clicks on the stage becomes a scenario file that replays headless.

Refused actions are not recorded: they change nothing the end state shows, and the replay
would have to refuse them too. Every test here replays what it recorded on a fresh stage. The
``window`` fixture's stage is fresh (the sample state, 09:00), so "Record from here" starts
where a replay starts.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton, QTableWidget
from pytestqt.qtbot import QtBot

from emulator.scenarios.actions import OnlineEdit, Resolve, ValidationRule, XRay
from emulator.scenarios.checks import RecordCheck
from emulator.scenarios.loader import load_scenario
from emulator.scenarios.model import Scenario
from emulator.scenarios.runner import ScenarioResult, run_scenario
from emulator.ui.main_window import MainWindow
from emulator.ui.recording import Recording, duration_text
from tests.conftest import detached_from_running_loop
from tests.ui.conftest import run
from tests.ui.test_main_window import (
    HARPER,
    click,
    columns,
    edit_online,
    open_record,
    order_with_a_line,
    tap_ok,
    to_list,
    type_into,
)

PHONE = "+1 617-555-0100"
EMAIL = "e.harper@recorded.example"


def _start(window: MainWindow, qtbot: QtBot, button: str) -> None:
    """Scenario ▸ Record, then one of the offer's buttons."""
    window.record_action.trigger()
    box = window.record_offer
    assert box.isVisible() and not window.record_action.isChecked(), "checked only once it records"
    click(qtbot, next(b for b in box.buttons() if b.text() == button))
    qtbot.waitUntil(lambda: window.context.recording.active, timeout=20_000)
    qtbot.waitUntil(lambda: not window.context.tasks.running, timeout=20_000)
    assert window.record_action.isChecked()
    assert window.recording_sign.isVisible() and "Recording" in window.recording_sign.text()


def _stop_and_save(window: MainWindow, qtbot: QtBot, path: Path) -> Scenario:
    """Scenario ▸ Record again: the end state is snapshotted, then a save dialog opens."""
    window.record_action.trigger()
    qtbot.waitUntil(lambda: getattr(window, "recording_dialog", None) is not None, timeout=20_000)
    dialog = window.recording_dialog
    assert isinstance(dialog, QFileDialog) and dialog.isVisible()
    assert window.save_recording_to(path) == path
    dialog.reject()
    assert not window.context.recording.active
    assert not window.recording_sign.isVisible() and not window.record_action.isChecked()
    return load_scenario(path)


def _replay(scenario: Scenario) -> ScenarioResult:
    with detached_from_running_loop():
        result = run_scenario(scenario)
    assert result.passed, "\n".join(result.failures())
    return result


def _edit(qtbot: QtBot, app: Any, record_id: str, field: str, text: str) -> None:
    """Open, Edit, type, Save, Back: as the user does it."""
    open_record(qtbot, app, record_id)
    click(qtbot, app.view_page.edit)
    type_into(qtbot, app, field, text)
    click(qtbot, app.edit_page.save)
    assert app.page == "view"
    click(qtbot, app.view_page.back)
    assert app.page == "list"


def _final_fields(scenario: Scenario, name: str) -> dict[str, dict[str, Any]]:
    """Where -> the field values the end-state checks expect of the record ``name``."""
    return {
        c.at: dict(c.fields)
        for c in scenario.steps[-1].expect
        if isinstance(c, RecordCheck) and c.record == name
    }


@pytest.mark.rule("AS-09")
@pytest.mark.rule("AS-05")
def test_a_recorded_session_replays_headless_to_the_same_end_state(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    _start(window, qtbot, "Record from here")
    pro, air, _chloe = columns(window)
    stage = window.stage

    _edit(qtbot, pro.frame.app, HARPER, "phone__v", PHONE)
    air.panel.set_network("offline")
    _edit(qtbot, air.frame.app, HARPER, "email__v", EMAIL)
    app = pro.frame.app  # a new order with a line: one family, one save (AS-05)
    order_with_a_line(qtbot, app)
    click(qtbot, app.edit_page.save)
    air.panel.set_network("online")
    run(qtbot, stage.settle())
    click(qtbot, window.clock_bar.next_poll)
    qtbot.waitUntil(lambda: not window.clock_bar.busy, timeout=20_000)
    assert air.device.record(HARPER)["phone__v"] == PHONE  # type: ignore[index]
    assert window.recording_sign.text().endswith("steps")

    scenario = _stop_and_save(window, qtbot, tmp_path / "recorded.yaml")
    text = (tmp_path / "recorded.yaml").read_text(encoding="utf-8")
    assert "advance: 30s" in text and "network: offline" in text and "then: save" in text
    steps = [s.describe() for s in scenario.steps]
    assert "[anna-s-ipad-air] network offline" in steps
    assert "advance the clock 30s" in steps
    order_step = "[anna-s-ipad-pro] set; set account__v = '@"
    assert any(s.startswith(order_step) and "add order_line__v" in s for s in steps)
    (harper,) = [
        n for n, found in scenario.records.items() if found.where == {"formatted_name__v": "Harper, Eleanor"}
    ]
    expected = _final_fields(scenario, harper)
    for where in ("anna-s-ipad-pro", "anna-s-ipad-air", "online"):
        assert expected[where] == {"phone__v": PHONE, "email__v": EMAIL}, where
    order = _final_fields(scenario, "new_order")
    assert order["anna-s-ipad-air"]["account__v"] == f"@{harper}", "the order reached the Air, named"
    assert _final_fields(scenario, "new_order_line")["online"]["quantity__v"] == 3

    result = _replay(scenario)
    assert len(result.steps[-1].checks) == len(scenario.steps[-1].expect) >= 15


def test_a_refused_action_is_not_recorded(window: MainWindow, qtbot: QtBot, tmp_path: Path) -> None:
    old_pro = window.column(0).device
    run(qtbot, window.stage.advance(timedelta(days=2)))  # the clock ran before Record was pressed
    began = window.stage.clock.now()
    _start(window, qtbot, "Reset and record")
    pro, _air, _chloe = columns(window)
    assert pro.device is not old_pro, "the stage was reset to the sample state first"
    app = pro.frame.app

    to_list(app, "account__v")
    click(qtbot, app.new_button)  # an edit screen open: a sync (Devices ▸ Tap Sync) is refused
    app.run_sync()
    qtbot.waitUntil(lambda: not window.context.tasks.running)
    refused = window.context.messages.history[-1]
    assert refused.kind == "refused" and "edit screen" in refused.text
    assert tap_ok(qtbot, app) == "Sync"
    click(qtbot, app.edit_page.cancel)
    app.go_home()
    click(qtbot, app.home_page.widget.sync)  # now it runs, and is recorded
    qtbot.waitUntil(lambda: not window.context.tasks.running, timeout=20_000)

    scenario = _stop_and_save(window, qtbot, tmp_path / "refused.yaml")
    actions = [(s.kind, s.device) for s in scenario.steps if s.action is not None]
    device = pro.device.id
    assert actions == [("new", device), ("cancel", device), ("incremental_sync", device)]
    assert scenario.description.startswith("Recorded in the Autosync Emulator from the sample state")
    assert scenario.start == began  # the replay starts where the recording did, not at the default
    result = _replay(scenario)
    assert result.steps[0].time == began


@pytest.mark.rule("AS-27")
def test_online_operations_and_a_clock_that_ran_are_recorded(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    _start(window, qtbot, "Record from here")
    stage = window.stage
    pro, _air, _chloe = columns(window)
    console = window.console
    edit_online(qtbot, window, HARPER, "+1 444 444 4444", actor="integration")
    qtbot.waitUntil(lambda: not window.context.tasks.running)
    console.publish_clm()
    qtbot.waitUntil(lambda: not window.context.tasks.running)
    qtbot.waitUntil(lambda: console.rules.rowCount() > 0)
    rule = console.rules.item(0, 0)
    rule_name = rule.text()
    rule.setCheckState(Qt.CheckState.Unchecked)  # the user unticks a validation rule
    qtbot.waitUntil(lambda: not window.context.tasks.running)
    stage.clock.advance(timedelta(seconds=12, microseconds=345_678))  # as the running clock does
    click(qtbot, pro.frame.app.home_page.widget.sync)
    qtbot.waitUntil(lambda: not window.context.tasks.running, timeout=20_000)
    assert pro.device.record(HARPER)["phone__v"] == "+1 444 444 4444"  # type: ignore[index]
    window.add_device("Ben's iPad", "ben", model="iPad Pro 11-inch", ios_version="17.5")
    qtbot.waitUntil(lambda: "ben-s-ipad" in window.columns, timeout=20_000)

    scenario = _stop_and_save(window, qtbot, tmp_path / "online.yaml")
    text = (tmp_path / "online.yaml").read_text(encoding="utf-8")
    assert "advance: 12.345678s" in text
    steps = [s for s in scenario.steps if s.action is not None]
    assert [s.kind for s in steps] == [
        "online_edit",
        "publish_content",
        "validation_rule",
        "advance",
        "incremental_sync",
        "join",
    ]
    edit, rule = steps[0].action, steps[2].action
    assert isinstance(edit, OnlineEdit) and isinstance(rule, ValidationRule)
    assert edit.actor == "integration"
    assert edit.fields == {"phone__v": "+1 444 444 4444"}
    assert (rule.name, rule.enabled) == (rule_name, False)
    assert steps[-1].device == "ben-s-ipad" and scenario.device("ben-s-ipad").later
    harper = edit.record
    assert isinstance(harper, str)
    expected = _final_fields(scenario, harper)
    assert expected["online"] == expected[pro.device.id] == {"phone__v": "+1 444 444 4444"}
    assert expected["ben-s-ipad"] == {"phone__v": "+1 444 444 4444"}, "Ben joined after the edit"
    _replay(scenario)


def test_record_is_in_the_menu_and_a_recording_ignores_other_stages(window: MainWindow, qtbot: QtBot) -> None:
    sheet = window.show_shortcuts()
    table = sheet.findChild(QTableWidget, "shortcuts")
    rows = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    sheet.close()
    assert rows.get("Ctrl+Shift+E") == "Record"
    assert list(rows).count("Ctrl+Shift+E") == 1

    recording = window.context.recording
    assert isinstance(recording, Recording) and not recording.active
    recording.record({"advance": "1s"})  # not recording: nothing happens
    assert recording.last is None

    recorder = recording.start(window.stage)
    other = object()
    recording.record({"advance": "1s"}, stage=other)  # type: ignore[arg-type]  # another stage's widget
    window.stage.clock.advance(timedelta(minutes=1, seconds=30))
    recording.record({"device": window.column(0).device.id, "leave": True}, stage=window.stage)
    assert recorder.steps == [{"advance": "1m 30s"}, {"device": window.column(0).device.id, "leave": True}]
    recording.discard()
    assert not recording.active and not window.recording_sign.isVisible()
    assert duration_text(timedelta(days=7, seconds=1)) == "7d 1s"
    assert duration_text(timedelta(milliseconds=500)) == "0.5s"


def test_a_recording_refuses_what_a_scenario_cannot_replay(window: MainWindow, qtbot: QtBot) -> None:
    _start(window, qtbot, "Record from here")
    ipads = list(window.columns)
    assert window.remove_device(ipads[-1]) is None
    assert window.reset_stage() is None
    refusals = [m for m in window.context.messages.history if m.kind == "refused"]
    assert [m.title for m in refusals[-2:]] == ["Remove an iPad", "Reset"]
    assert "Stop the recording first" in refusals[-1].text
    assert list(window.columns) == ipads and list(window.stage.devices) == ipads
    window.context.recording.discard()
    remove = window.remove_device(ipads[-1])  # no recording: done as asked
    qtbot.waitUntil(remove.done, timeout=10_000)
    assert ipads[-1] not in window.stage.devices


@pytest.mark.rule("AS-34")
@pytest.mark.rule("AS-30")
def test_the_errors_tab_the_app_messages_and_the_xray_switch_are_recorded_and_replay(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    _start(window, qtbot, "Record from here")
    pro, air, _chloe = columns(window)
    stage = window.stage
    air.panel.set_network("offline")
    _edit(qtbot, air.frame.app, HARPER, "phone__v", "+1 617-555-2222")
    _edit(qtbot, pro.frame.app, HARPER, "phone__v", PHONE)
    air.panel.set_network("online")
    run(qtbot, stage.settle())
    app = air.frame.app
    assert tap_ok(qtbot, app) == "Sync Error"  # OK: the Errors tab
    click(qtbot, app.errors_page.cards[0].buttons["undo"])
    click(qtbot, app.errors_page.sync)
    qtbot.waitUntil(lambda: not window.context.tasks.running and not air.device.sync_errors(), timeout=20_000)
    air.panel.xray.setChecked(False)  # the Air as a rep sees it
    window.console.admin_user.setCurrentIndex(window.console.admin_user.findData("anna"))
    click(qtbot, window.console.findChild(QPushButton, "force-full-refresh"))
    qtbot.waitUntil(lambda: not window.context.tasks.running)

    scenario = _stop_and_save(window, qtbot, tmp_path / "errors.yaml")
    air_id = air.device.id
    steps = [s for s in scenario.steps if s.action is not None]
    actions = [(s.kind, s.device) for s in steps]
    assert ("dismiss", air_id) in actions
    assert any(isinstance(s.action, Resolve) and s.action.how == "undo" and s.device == air_id for s in steps)
    assert ("incremental_sync", air_id) in actions
    assert ("xray", air_id) in actions
    assert ("force_full_refresh", None) in actions
    order = [a for a, _d in actions]
    assert order.index("dismiss") < order.index("resolve") < order.index("incremental_sync")
    (xray,) = [s.action for s in steps if isinstance(s.action, XRay)]
    assert xray.on is False
    _replay(scenario)  # the end state, Harper equal online on the Air included


def test_a_failed_reset_records_nothing(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from emulator.errors import ServerRefused

    ipads = list(window.columns)
    stage = window.home_stage
    real_online = stage.online

    async def refusing(method: str, path: str, **kwargs: Any) -> Any:
        if path == "/reset":
            raise ServerRefused(403, "the token may not do or see this")
        return await real_online(method, path, **kwargs)

    monkeypatch.setattr(stage, "online", refusing)
    window.record_action.trigger()
    click(qtbot, next(b for b in window.record_offer.buttons() if b.text() == "Reset and record"))
    qtbot.waitUntil(lambda: not window.context.tasks.running, timeout=20_000)
    assert not window.context.recording.active and not window.record_action.isChecked()
    problem = window.context.messages.history[-1]
    assert problem.kind == "problem" and "may not do or see this" in problem.text
    assert list(window.columns) == ipads, "the iPads are back, reopened from their files"
