"""Writing scenarios out: every library scenario survives a YAML round trip unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.scenarios.loader import library_dir, load_scenario, parse_scenario
from emulator.scenarios.writer import scenario_data, to_yaml


@pytest.mark.parametrize("path", sorted(library_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_a_library_scenario_round_trips_through_yaml(path: Path) -> None:
    scenario = load_scenario(path)
    again = parse_scenario(to_yaml(scenario), source="again.yaml")
    assert scenario_data(again) == scenario_data(scenario)
    assert [s.describe() for s in again.steps] == [s.describe() for s in scenario.steps]
