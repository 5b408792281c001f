"""A benchmark figure: what was measured, against which floor, and the ratio it should stay within.

Every figure is a ratio against a floor measured in the same run on the same machine, so a slower
machine moves both sides: the ratios, not the seconds, are what to compare between commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One line of the benchmark's table.

    Attributes:
        what: what was measured, in words.
        measured: seconds.
        floor: seconds of the floor it is compared with (or of the goal, when the goal is a time).
        goal: the ratio ``measured / floor`` it should stay within.
        floor_is: what the floor is, in words.
        note: anything a reader needs to read the figure right.
    """

    what: str
    measured: float
    floor: float
    goal: float
    floor_is: str
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.measured / self.floor if self.floor > 0 else float("inf")

    @property
    def met(self) -> bool:
        return self.ratio <= self.goal


def best_of(repeats: int, action: Callable[[], object]) -> float:
    """The fastest of ``repeats`` runs of ``action``, in seconds (the least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def milliseconds(seconds: float) -> str:
    if seconds >= 10:
        return f"{seconds:,.1f} s"
    if seconds >= 0.1:
        return f"{seconds * 1000:,.0f} ms"
    return f"{seconds * 1000:.2f} ms"


def table(figures: Iterable[Figure]) -> str:
    """The figures as a Markdown table (readable in a terminal, pasteable into the docs)."""
    lines = [
        "| what | measured | floor | ratio | goal | |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        verdict = "met" if f.met else "NOT MET"
        note = f" ({f.note})" if f.note else ""
        lines.append(
            f"| {f.what}{note} | {milliseconds(f.measured)} | {milliseconds(f.floor)}: {f.floor_is}"
            f" | {f.ratio:.1f}x | {f.goal:g}x | {verdict} |"
        )
    return "\n".join(lines)
