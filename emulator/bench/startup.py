"""Start-up: ``autosync-emulator --screenshot`` as a whole process against a bare PySide6 window.

Both are whole processes started by the same interpreter and grabbed the same way (offscreen,
the window saved as a PNG, then exit): the floor (:mod:`emulator.bench.bare_window`) is what any
Qt app's first picture costs; the app's adds the embedded server, the three sample iPads' first
sync and the stage window. The goal is 3x.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from emulator.bench.figures import Figure
from emulator.bench.library import best_process

GOAL = 3.0


def startup_figures(repeats: int = 3) -> list[Figure]:
    """The app's ``--screenshot`` process against the bare window's, best of ``repeats`` each."""
    with tempfile.TemporaryDirectory(prefix="autosync-startup-") as folder:
        bare_png, app_png = Path(folder) / "bare.png", Path(folder) / "app.png"
        bare, bare_cpu = best_process(
            [sys.executable, "-m", "emulator.bench.bare_window", str(bare_png)], repeats
        )
        app, app_cpu = best_process(
            [sys.executable, "-m", "emulator.app", "--screenshot", str(app_png)], repeats
        )
        for png in (bare_png, app_png):
            if not png.is_file() or png.stat().st_size == 0:
                raise RuntimeError(f"{png.name} was not written")
    return [
        Figure(
            what="autosync-emulator --screenshot as a whole process",
            measured=app,
            floor=bare,
            goal=GOAL,
            floor_is="a bare PySide6 window grabbed the same way",
            note=f"best of {max(1, repeats)}; CPU {app_cpu:.2f} s against {bare_cpu:.2f} s",
        )
    ]
