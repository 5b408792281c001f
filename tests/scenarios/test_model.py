"""Durations, and the typed model: every value the loader reads is of its declared type."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from emulator.scenarios.actions import Network
from emulator.scenarios.checks import QueueCheck
from emulator.scenarios.loader import library_dir, load_scenario
from emulator.scenarios.model import format_duration, parse_duration
from tests.scenarios.conftest import wrong_types


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("7d", 7 * 86400),
        ("7d 1s", 7 * 86400 + 1),
        ("1m30s", 90),
        ("500ms", 0.5),
        (45, 45),
        (1.5, 1.5),
    ],
)
def test_durations_read_as_people_write_them(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "30", "5 minutes", "s30", "3x", True, -1])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_durations_print_back_the_same_way() -> None:
    assert format_duration(timedelta(days=7, seconds=1)) == "7d 1s"
    assert format_duration(timedelta(seconds=90)) == "1m 30s"
    assert format_duration(timedelta(0)) == "0s"


@pytest.mark.parametrize("path", sorted(library_dir().glob("*.yaml")), ids=lambda p: p.stem)
def test_every_value_the_loader_reads_has_its_declared_type(path: Path) -> None:
    scenario = load_scenario(path)
    assert wrong_types(list(scenario.steps)) == []
    assert wrong_types(dict(scenario.records)) == []


def test_the_type_check_sees_a_value_of_the_wrong_type() -> None:
    assert wrong_types([Network(mode="online", latency=timedelta(0))]) == []
    assert wrong_types([Network(mode="online", latency=3)]) == [  # type: ignore[arg-type]
        "[0].Network.latency = 3"
    ]
    assert wrong_types([QueueCheck(device="pro", sizes=[1])]) == [  # type: ignore[arg-type]
        "[0].QueueCheck.sizes = [1]"
    ]
