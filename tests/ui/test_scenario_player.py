"""The scenario player: pick a library scenario, step it with presenter keys, read say and checks."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
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
    assert titles[row].endswith("[AS-07, AS-09]")
    picker.list.setCurrentRow(row)
    picker.accept()
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
            assert window.say_overlay.text() == story[n - 1].say
    assert window.say_overlay.isVisible()
    assert window.say_overlay.font().pointSizeF() >= 20
    results = [player.results.item(n).text() for n in range(player.results.count())]
    assert results[0].startswith("✓ harper on pro")
    assert any(r.startswith("✓ harper online") for r in results)
    assert "Step 3 of" in player.progress.text()


def test_play_to_the_end_then_restart_and_a_failed_check_shows_a_cross(
    window: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "fails.yaml"
    path.write_text(
        "title: A check that fails\ndevices: [{id: ipad, user: anna}]\nsteps:\n"
        "  - say: Nothing yet.\n    expect: [{queue: ipad, count: 5}]\n  - say: The end.\n",
        encoding="utf-8",
    )
    window.open_scenario(path)
    qtbot.waitUntil(lambda: _idle(window), timeout=20_000)
    player = window.scenario_player
    player.play_delay = 0
    player.toggle_play()
    qtbot.waitUntil(lambda: player.runner.finished and not player.busy, timeout=20_000)
    assert not player.playing
    assert player.results.item(0).text().startswith("✗ queue on ipad: count 5; but it holds 0")
    assert window.say_overlay.text() == "The end."
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
