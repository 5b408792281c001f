"""Bug bundles: saved with the scenario, events, version and seed; replayed and compared by the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from emulator.scenarios import cli
from emulator.scenarios.bundle import app_version, first_difference, is_bundle, load_bundle, save_bundle
from emulator.scenarios.loader import ScenarioFileError, library_dir, load_scenario
from tests.conftest import detached_from_running_loop
from tests.scenarios.conftest import play

SOURCE = library_dir() / "as07_first_save_wins.yaml"


def run(*args: str | Path) -> tuple[int, str]:
    out = io.StringIO()
    with detached_from_running_loop():
        code = cli.main(["run", *map(str, args)], out=out)
    return code, out.getvalue()


@pytest.fixture
def bundle_path(tmp_path: Path) -> Path:
    scenario = load_scenario(SOURCE)
    result = play(scenario, seed=5)
    return save_bundle(tmp_path / "bug.bundle.yaml", scenario, result.events, seed=5)


def test_a_bundle_holds_the_scenario_the_events_the_version_and_the_seed(bundle_path: Path) -> None:
    assert is_bundle(bundle_path) and not is_bundle(SOURCE)
    data = yaml.safe_load(bundle_path.read_text(encoding="utf-8"))
    assert data["seed"] == 5 and data["app_version"] == app_version()
    assert {e["kind"] for e in data["events"]} >= {"device_added", "rejected"}
    bundle = load_bundle(bundle_path)
    assert bundle.scenario.title == load_scenario(SOURCE).title
    assert len(bundle.events) == len(data["events"]) > 20


@pytest.mark.rule("AS-07")
def test_scenario_run_replays_a_bundle_event_for_event(bundle_path: Path) -> None:
    code, out = run(bundle_path)
    assert code == 0, out
    assert "the replay matches the bundle's" in out
    assert "1 of 1 scenario(s) passed." in out


def test_a_replay_that_differs_names_the_first_different_event(bundle_path: Path) -> None:
    text = bundle_path.read_text(encoding="utf-8")
    bundle_path.write_text(text.replace("seed: 5", "seed: 6", 1), encoding="utf-8")
    code, out = run(bundle_path)
    assert code == 1
    assert "✗ the replay differs from the bundle (seed 6): event " in out


def test_first_difference_covers_changed_and_missing_events() -> None:
    a = [{"kind": "saved", "actor": "device:pro", "text": "Saved."}]
    b = [{"kind": "queued", "actor": "device:pro", "text": "Saved."}]
    assert first_difference(a, a) is None
    assert first_difference(a, b) == "event 1 differs (kind: recorded 'saved', replayed 'queued')"
    assert "event 2 is only in the replayed one: queued" in str(first_difference(a, a + b))


def test_a_bad_scenario_in_a_bundle_names_the_bundle_line(bundle_path: Path) -> None:
    text = bundle_path.read_text(encoding="utf-8")
    broken = text.replace("network: offline", "network: underwater", 1)
    bundle_path.write_text(broken, encoding="utf-8")
    line = next(n for n, row in enumerate(broken.splitlines(), start=1) if "underwater" in row)
    with pytest.raises(ScenarioFileError) as info:
        load_bundle(bundle_path)
    assert info.value.line == line
    code, out = run(bundle_path)
    assert code == 2 and f"bug.bundle.yaml:{line}: network must be one of" in out
