"""The scenario library played headless, as people and CI run it: one ``scenario run`` process.

The goal is a time (issue 11: the whole library in under 10 s on the project's 2-core machine),
so the figure's floor is that goal and its goal ratio 1.0. The process's CPU seconds go in the
note: on a shared machine they say more than the wall clock does.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from emulator.bench.figures import Figure

#: Seconds the whole library may take headless (issue 11).
GOAL_SECONDS = 10.0


def library_files() -> list[Path]:
    """The scenario library's files, in the order ``scenario run resources/scenarios/*.yaml`` plays them."""
    from emulator.scenarios.loader import library_dir

    return sorted(library_dir().glob("*.yaml"))


def children_cpu() -> float:
    """User and system CPU seconds of the child processes waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_process(command: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a command to its end; its wall and CPU seconds. Raises RuntimeError if it fails."""
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run(list(command), capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return wall, children_cpu() - cpu


def best_process(command: Sequence[str], repeats: int) -> tuple[float, float]:
    """The fastest of ``repeats`` offscreen runs of a command: (wall seconds, its CPU seconds)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return min(timed_process(command, env) for _ in range(max(1, repeats)))


def scenario_library_figure(files: Sequence[Path] | None = None, *, repeats: int = 1) -> Figure:
    """Seconds for ``autosync-emulator scenario run -q`` on the library (or ``files``), best of ``repeats``.

    With fewer files than the library (``--quick``), the goal is the library's, shared out by file.
    """
    everything = library_files()
    chosen = list(everything if files is None else files)
    if not chosen:
        raise ValueError("no scenario files to play")
    command = [sys.executable, "-m", "emulator.app", "scenario", "run", "-q", *map(str, chosen)]
    wall, cpu = best_process(command, repeats)
    goal = GOAL_SECONDS * len(chosen) / max(len(everything), len(chosen))
    whole = len(chosen) == len(everything)
    return Figure(
        what=f"the scenario library headless ({len(chosen)} files, one scenario run process)",
        measured=wall,
        floor=goal,
        goal=1.0,
        floor_is=f"the goal: {GOAL_SECONDS:g} s for the library" + ("" if whole else ", shared out by file"),
        note=f"{cpu:.1f} s of CPU",
    )
