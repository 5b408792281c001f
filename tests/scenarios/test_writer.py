"""Writing scenarios out: every library scenario survives a YAML round trip unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emulator.scenarios.loader import library_dir, load_scenario, parse_scenario
from emulator.scenarios.writer import scenario_data, to_yaml, write_file


@pytest.mark.parametrize("path", sorted(library_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_a_library_scenario_round_trips_through_yaml(path: Path) -> None:
    scenario = load_scenario(path)
    again = parse_scenario(to_yaml(scenario), source="again.yaml")
    assert scenario_data(again) == scenario_data(scenario)
    assert [s.describe() for s in again.steps] == [s.describe() for s in scenario.steps]


def test_a_file_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "recording.yaml"
    target.write_text("old\n", encoding="utf-8")
    write_file(target, "title: new\n")
    assert target.read_text(encoding="utf-8") == "title: new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recording.yaml"]  # no temporary left
    with pytest.raises(OSError):
        write_file(tmp_path / "missing" / "bug.yaml", "x")
    with pytest.raises(OSError):
        write_file(tmp_path, "a folder is not a file")  # renaming over a folder fails: nothing lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recording.yaml"]


def test_a_start_time_round_trips_through_yaml() -> None:
    scenario = load_scenario(library_dir() / "as07_first_save_wins.yaml")
    moved = replace(scenario, start=datetime(2026, 12, 1, 8, 15, tzinfo=UTC))
    text = to_yaml(moved)
    assert "start: '2026-12-01T08:15:00Z'" in text
    assert parse_scenario(text).start == moved.start
