"""The scenario player: pick a library scenario, step it with presenter keys, read say and checks."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from emulator.scenarios import cli
from emulator.scenarios.bundle import load_bundle
from emulator.scenarios.loader import library_dir, load_scenario
from tests.conftest import detached_from_running_loop

AS07 = library_dir() / "as07_first_save_wins.yaml"


def _idle(window: Any) -> bool:
    player = window.scenario_player
    return player.runner is not None and not player.busy


def _open_as07(window: Any, qtbot: QtBot) -> None:
    picker = window.open_scenario_picker()
    titles = [picker.list.item(n).text() for n in range(picker.list.count())]
    row = next(n for n, t in enumerate(titles) if t.startswith(load_scenario(AS07).title))
    assert titles[row].endswith("[AS-07, AS-09, AS-34]")
    picker.list.setCurrentRow(row)
    picker.accept()
    qtbot.waitUntil(lambda: _idle(window), timeout=20_000)


def _open_text(window: Any, qtbot: QtBot, path: Path, text: str) -> None:
    """Write a scenario file and open it in the window's player."""
    path.write_text(text, encoding="utf-8")
    window.open_scenario(path)
    qtbot.waitUntil(lambda: _idle(window), timeout=20_000)


@pytest.mark.rule("AS-07")
def test_step_a_library_scenario_with_presenter_keys(window: Any, qtbot: QtBot) -> None:
    _open_as07(window, qtbot)
    player = window.scenario_player
    assert window.player_dock.isVisible()
    assert player.runner.position == 0
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)

    story = load_scenario(AS07).steps
    for n, key in enumerate((Qt.Key.Key_Space, Qt.Key.Key_PageDown, Qt.Key.Key_Period), start=1):
        qtbot.keyClick(window, key)
        qtbot.waitUntil(lambda n=n: player.runner.position == n and not player.busy, timeout=20_000)
        if story[n - 1].say:
            assert window.narration.text() == story[n - 1].say
    assert window.narration.isVisible()
    assert window.narration.font().pointSizeF() >= 16
    results = [player.results.item(n).text() for n in range(player.results.count())]
    assert results[0].startswith("✓ harper on pro")
    assert any(r.startswith("✓ harper online") for r in results)
    assert "Step 3 of" in player.progress.text()
    window.toggle_presenter()  # the narration grows with the window, never shrinks to its font
    assert window.narration.font().pointSizeF() >= 20
    assert player.checks.isVisible() and player.checks.text().startswith("✓"), "one line at the top"
    assert window.dockWidgetArea(window.player_dock) == Qt.DockWidgetArea.TopDockWidgetArea
    window.close_scenario()
    qtbot.waitUntil(lambda: player.runner is None and not player.busy, timeout=20_000)
    _open_as07(window, qtbot)  # the iPads shown anew at presenter size; the narration stays large
    player.step()
    qtbot.waitUntil(lambda: player.runner.position == 1 and not player.busy, timeout=20_000)
    assert window.narration.font().pointSizeF() >= 20
    window.toggle_presenter()
    assert window.dockWidgetArea(window.player_dock) == Qt.DockWidgetArea.LeftDockWidgetArea


def test_play_to_the_end_then_restart_and_a_failed_check_shows_a_cross(
    window: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    _open_text(
        window,
        qtbot,
        tmp_path / "fails.yaml",
        "title: A check that fails\ndevices: [{id: ipad, user: anna}]\nsteps:\n"
        "  - say: Nothing yet.\n    expect: [{queue: ipad, count: 5}]\n  - say: The end.\n",
    )
    player = window.scenario_player
    player.play_delay = 0
    player.toggle_play()
    qtbot.waitUntil(lambda: player.runner.finished and not player.busy, timeout=20_000)
    assert not player.playing
    assert player.results.item(0).text().startswith("✗ queue on ipad: count 5; but it holds 0")
    assert window.narration.text() == "The end."
    assert "FAILED" in player.progress.text()
    player.restart()
    qtbot.waitUntil(lambda: _idle(window) and player.runner.position == 0, timeout=20_000)
    assert player.results.count() == 0


def test_a_bad_file_is_shown_not_played(window: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("title: Broken\ndevices: [{id: ipad, user: anna}]\nsteps:\n  - {ipad: explode}\n")
    assert window.open_scenario(path) is None
    assert "bad.yaml:4: unknown step 'ipad'" in window.scenario_player.results.item(0).text()


def test_a_bug_bundle_saved_mid_scenario_replays_event_for_event(
    window: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    _open_as07(window, qtbot)
    player = window.scenario_player
    for n in (1, 2, 3):
        player.step()
        qtbot.waitUntil(lambda n=n: player.runner.position == n and not player.busy, timeout=20_000)
    path = player.save_bundle_to(tmp_path / "bug.bundle.yaml")
    assert path is not None
    assert len(load_bundle(path).scenario.steps) == 3
    out = io.StringIO()
    with detached_from_running_loop():
        code = cli.main(["run", str(path)], out=out)
    assert code == 0, out.getvalue()
    assert "the replay matches the bundle's" in out.getvalue()


@pytest.mark.rule("AS-07")
def test_a_played_scenario_is_shown_on_its_own_ipads_then_the_window_gets_its_stage_back(
    window: Any, qtbot: QtBot
) -> None:
    home = window.stage
    home_ipads = list(window.columns)
    _open_as07(window, qtbot)
    player = window.scenario_player
    assert window.stage is player.runner.stage and window.stage is not home
    assert list(window.columns) == ["pro", "air"]
    assert "scenario: The first save wins" in window.windowTitle()
    assert not window.clock_bar.running  # the scenario's own steps move its clock
    for n in range(1, 5):
        player.step()
        qtbot.waitUntil(lambda n=n: player.runner.position == n and not player.busy, timeout=20_000)
    air = window.columns["air"]
    # the Air saved offline: the X-ray view under its list shows the record waiting to upload
    qtbot.waitUntil(lambda: "1 saved" in air.frame.app.list_xray.text().lower(), timeout=5_000)
    for column in window.columns.values():  # an edit saved in one step leaves no screen open
        assert column.device.screen is None and column.frame.app.page in ("home", "list")

    window.close_scenario()
    qtbot.waitUntil(lambda: player.runner is None and not player.busy, timeout=20_000)
    assert window.stage is home
    assert list(window.columns) == home_ipads
    assert not window.player_dock.isVisible()
    assert "scenario" not in window.windowTitle()


def test_an_ipad_that_joins_mid_scenario_gets_its_column(window: Any, qtbot: QtBot) -> None:
    path = library_dir() / "as19_feed_ignores_where_clauses.yaml"
    window.open_scenario(path)
    qtbot.waitUntil(lambda: _idle(window), timeout=20_000)
    player = window.scenario_player
    assert "fresh" not in window.columns
    steps = load_scenario(path).steps
    joins_at = next(n for n, s in enumerate(steps, start=1) if s.kind == "join")
    while player.runner.position < joins_at:
        position = player.runner.position
        player.step()
        qtbot.waitUntil(
            lambda p=position: player.runner.position == p + 1 and not player.busy, timeout=20_000
        )
    assert "fresh" in window.columns
    assert window.columns["fresh"].device is window.stage.devices["fresh"]


def test_the_ipads_follow_the_screens_a_scenario_opens(window: Any, qtbot: QtBot, tmp_path: Path) -> None:
    _open_text(
        window,
        qtbot,
        tmp_path / "screens.yaml",
        "title: Screens\ndevices: [{id: ipad, user: anna}]\n"
        "records:\n  harper: {object: account__v, where: {last_name__v: Harper}}\nsteps:\n"
        "  - {device: ipad, open: harper}\n"
        "  - {device: ipad, edit: harper, set: {phone__v: '+1 617-555-0111'}}\n"
        "  - {device: ipad, save: true}\n"
        "  - {device: ipad, leave: true}\n",
    )
    player = window.scenario_player
    app = window.columns["ipad"].frame.app
    pages = []
    for n in range(1, 5):
        player.step()
        qtbot.waitUntil(lambda n=n: player.runner.position == n and not player.busy, timeout=20_000)
        qtbot.waitUntil(lambda: not app._refresh._timer.isActive(), timeout=5_000)
        pages.append(app.page)
    assert pages == ["view", "edit", "view", "list"]
    assert app.edit_page.session is not None and app.edit_page.session.values["phone__v"] == "+1 617-555-0111"


def test_check_results_stay_readable_on_a_dark_palette(window: Any) -> None:
    results = window.scenario_player.results
    window.scenario_player._add(False, "light")
    dark = QPalette(results.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#101418"))
    results.setPalette(dark)
    window.scenario_player._add(False, "dark")
    light_item, dark_item = results.item(results.count() - 2), results.item(results.count() - 1)
    assert light_item.foreground().color() == QColor("#cf222e")
    assert dark_item.foreground().color().lightness() > 128  # light red on the dark list


def _press(qtbot: QtBot, window: Any, widget: QWidget, key: Qt.Key) -> None:
    """A clicker's key while ``widget`` has the keyboard, in the active window."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus)
    qtbot.keyClick(widget, key)


def _stepped_to(qtbot: QtBot, player: Any, position: int) -> None:
    qtbot.waitUntil(lambda: player.runner.position == position and not player.busy, timeout=20_000)


def test_clicker_keys_reach_the_player_even_from_a_control_that_takes_text(window: Any, qtbot: QtBot) -> None:
    _open_as07(window, qtbot)
    player = window.scenario_player
    poll = window.clock_bar.poll
    before = poll.value()
    _press(qtbot, window, poll, Qt.Key.Key_Period)  # a clicker's "next" while the poll interval has focus
    _stepped_to(qtbot, player, 1)
    _press(qtbot, window, poll, Qt.Key.Key_Space)
    _stepped_to(qtbot, player, 2)
    assert poll.value() == before, "the keys did not type into the box"
    for button in (window.clock_bar.next_poll, window.clock_bar.plus30):
        assert button.focusPolicy() == Qt.FocusPolicy.NoFocus, "a click leaves the keyboard where it was"


def test_a_clickers_arrow_steps_the_player_unless_a_control_moves_with_it(window: Any, qtbot: QtBot) -> None:
    """Many clickers send Right or Down: they step, except in a control the arrows move in."""
    _open_as07(window, qtbot)
    player = window.scenario_player
    title = player.title
    title.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    _press(qtbot, window, title, Qt.Key.Key_Right)
    _stepped_to(qtbot, player, 1)
    _press(qtbot, window, title, Qt.Key.Key_Down)
    _stepped_to(qtbot, player, 2)
    poll = window.clock_bar.poll
    before = poll.value()
    _press(qtbot, window, poll, Qt.Key.Key_Down)  # the spin box's own arrow: a smaller interval
    assert poll.value() < before and player.runner.position == 2
