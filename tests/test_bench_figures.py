"""The start-up and scenario-library figures of the benchmark (issue 11): measured, never asserted on time."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.bench.figures import Figure
from emulator.bench.library import GOAL_SECONDS, library_files, scenario_library_figure
from emulator.bench.startup import startup_figures

FAILING = """\
title: A check that fails
devices:
  - {id: ipad, name: Anna's iPad, user: anna}
steps:
  - network: offline
    expect:
      - {queue: ipad, count: 5}
"""


def test_startup_is_the_apps_screenshot_process_against_a_bare_window() -> None:
    (figure,) = startup_figures(repeats=1)
    assert isinstance(figure, Figure)
    assert figure.goal == 3.0
    assert figure.measured > 0 and figure.floor > 0
    assert "--screenshot" in figure.what and "bare PySide6 window" in figure.floor_is
    assert "CPU" in figure.note


def test_the_library_figure_plays_what_it_is_given_against_its_share_of_the_goal() -> None:
    library = library_files()
    assert len(library) >= 30
    figure = scenario_library_figure(library[:1])
    assert figure.goal == 1.0
    assert figure.floor == pytest.approx(GOAL_SECONDS / len(library))
    assert figure.measured > 0 and "1 files" in figure.what and "CPU" in figure.note


def test_a_failing_scenario_is_no_figure(tmp_path: Path) -> None:
    failing = tmp_path / "failing.yaml"
    failing.write_text(FAILING, encoding="utf-8")
    with pytest.raises(RuntimeError, match="exited 1"):
        scenario_library_figure([failing])
