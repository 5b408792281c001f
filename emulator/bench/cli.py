"""``autosync-emulator bench [--quick] [--out DIR] [--only PART ...]``: every figure of issue 11.

Each figure is a ratio against a floor measured in the same run (or a goal in seconds), printed
with the goal it should stay within. The command asserts nothing about time: a figure that misses
its goal says NOT MET and the command still succeeds; it fails only when a measurement itself
fails (a drain that leaves items queued, a server that does not start). It writes the table
(``figures.md``) and the drain's growth curve (``drain-growth.png``) into ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from emulator.bench.figures import Figure, table


@dataclass(frozen=True)
class Plan:
    """How big each measurement is."""

    drain_sizes: tuple[int, ...]
    loopback: int
    propagation_rounds: int
    stall_drain: int
    stall_sync: int
    server_quick: bool
    list_records: int
    startup_repeats: int
    library_files: int | None  # None: the whole library


FULL = Plan((100, 1_000, 10_000), 1_000, 20, 1_000, 10_000, False, 10_000, 3, None)
QUICK = Plan((50, 200, 500), 100, 5, 200, 1_000, True, 10_000, 1, 3)
PARTS = ("list", "startup", "library", "drain", "loopback", "propagation", "server", "stalls")


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


class Run:
    """One benchmark run: the parts asked for, in order, their figures, the growth chart."""

    def __init__(self, plan: Plan, out: Path) -> None:
        self.plan = plan
        self.out = out
        self.figures: list[Figure] = []
        self.floor_per_item: float | None = None

    def listing(self) -> None:
        from emulator.bench import listing

        _say(f"the record list's model with {self.plan.list_records:,} records")
        self.figures += listing.figures(self.plan.list_records)

    def startup(self) -> None:
        from emulator.bench.startup import startup_figures

        _say("start-up: the app's --screenshot process against a bare PySide6 window's")
        self.figures += startup_figures(self.plan.startup_repeats)

    def library(self) -> None:
        from emulator.bench.library import library_files, scenario_library_figure

        files = library_files()[: self.plan.library_files] if self.plan.library_files else None
        _say(f"the scenario library headless ({len(files) if files else 'every'} file(s))")
        self.figures.append(scenario_library_figure(files))

    def drain(self) -> None:
        from emulator.bench import drain
        from emulator.bench.plot import growth_png

        _say(
            f"draining queues of {', '.join(f'{s:,}' for s in self.plan.drain_sizes)} on the embedded server"
        )
        figures, curves = asyncio.run(drain.embedded_figures(self.plan.drain_sizes))
        self.figures += figures
        floor = asyncio.run(drain.in_process_floor(self.plan.drain_sizes[0]))
        chart = growth_png(curves, floor, self.out / "drain-growth.png")
        _say(f"wrote {chart}")

    def loopback(self) -> None:
        from emulator.bench import drain

        _say(f"draining {self.plan.loopback:,} over loopback to a standalone autosync-stub")
        self.figures += asyncio.run(drain.loopback_figures(self.plan.loopback))

    def propagation(self) -> None:
        from emulator.bench import propagation

        _say("a save on one iPad until merged on the other")
        self.figures += asyncio.run(propagation.figures(self.plan.propagation_rounds))

    def server(self) -> None:
        from server_stub.bench import save_cost_figures

        _say("server saves on a small and a large server (filling the large one takes a while)")
        for f in save_cost_figures(self.plan.server_quick):
            floor_is = (
                "the same on a server with few rows" if float(str(f["goal"])) < 2 else "a bare FastAPI POST"
            )
            self.figures.append(
                Figure(
                    str(f["what"]),
                    float(str(f["measured"])),
                    float(str(f["floor"])),
                    float(str(f["goal"])),
                    floor_is,
                    str(f["note"]),
                )
            )

    def stalls(self) -> None:
        from emulator.bench import stalls

        sizes = stalls.Sizes(self.plan.stall_drain, self.plan.stall_drain, self.plan.stall_sync)
        _say("the real main window, offscreen: the longest stall of its event loop")
        self.figures += stalls.run(sizes, progress=_say)

    def part(self, name: str) -> Callable[[], None]:
        parts: dict[str, Callable[[], None]] = {
            "list": self.listing,
            "startup": self.startup,
            "library": self.library,
            "drain": self.drain,
            "loopback": self.loopback,
            "propagation": self.propagation,
            "server": self.server,
            "stalls": self.stalls,
        }
        return parts[name]


def report(figures: Sequence[Figure], plan_name: str, took: float) -> str:
    """The Markdown the command writes: when, where, and the table."""
    met = sum(1 for f in figures if f.met)
    return "\n".join(
        [
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `autosync-emulator bench"
            f"{' --quick' if plan_name == 'quick' else ''}` on {platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}, in {took:.0f} s.",
            "",
            table(figures),
            "",
            f"{met} of {len(figures)} figures within their goal.",
            "",
        ]
    )


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="autosync-emulator bench",
        description="Measure every performance figure against its floor and print the ratios.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI: proves the command works")
    parser.add_argument(
        "--out", type=Path, default=Path("bench-results"), help="folder for figures.md and the chart"
    )
    parser.add_argument(
        "--only", nargs="+", choices=PARTS, metavar="PART", help=f"some of: {', '.join(PARTS)}"
    )
    return parser.parse_args(list(argv))


def main(argv: Sequence[str]) -> int:
    args = parse(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the chart and the window need no display
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["autosync-bench"])
    assert app is not None
    plan = QUICK if args.quick else FULL
    run = Run(plan, args.out)
    started = time.perf_counter()
    wanted = args.only or PARTS
    try:
        for name in PARTS:  # always in this order: the window's stalls last (they own the loop)
            if name in wanted:
                run.part(name)()
    except (RuntimeError, OSError) as problem:
        print(f"autosync-emulator bench: {problem}", file=sys.stderr)
        return 1
    text = report(run.figures, "quick" if args.quick else "full", time.perf_counter() - started)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "figures.md").write_text(text, encoding="utf-8")
    print(text)
    return 0
