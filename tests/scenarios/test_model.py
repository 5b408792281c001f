"""Durations and plain descriptions of steps and checks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from emulator.scenarios.model import format_duration, parse_duration


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
