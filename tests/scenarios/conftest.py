"""Helpers for scenario tests: play a scenario from text or a file, headless."""

from __future__ import annotations

from pathlib import Path

from emulator.scenarios.loader import parse_scenario
from emulator.scenarios.runner import ScenarioResult, run_scenario
from tests.conftest import detached_from_running_loop


def play(source: str | Path, seed: int | None = None) -> ScenarioResult:
    """Play scenario YAML text (or a file) on a fresh stage, in a private event loop."""
    scenario = parse_scenario(source, source="test.yaml") if isinstance(source, str) else source
    with detached_from_running_loop():
        return run_scenario(scenario, seed)
