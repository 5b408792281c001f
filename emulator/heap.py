"""Short garbage-collection pauses for a window that must never freeze.

A full collection walks every tracked object. With Qt, SQLAlchemy and FastAPI loaded and a long
session's events kept, that is a pause of about 100 ms, several times a minute under load. So:

* what start-up made (modules, the window, the stage) is frozen once: never walked again;
* what survives a full collection is frozen too: the next one walks only what came after it;
* when a stage closes (a scenario played on its own iPads ends), everything is thawed and
  collected once, so what the closed stage held in reference cycles is freed, not kept.

Objects freed by reference counting (most of them) are freed as always; only cyclic garbage
among frozen objects waits for the next thaw.
"""

from __future__ import annotations

import gc
from typing import Any


def _freeze_survivors(phase: str, info: dict[str, Any]) -> None:
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


def keep_pauses_short() -> None:
    """Freeze what exists now and every full collection's survivors from now on."""
    gc.collect()
    gc.freeze()
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


def thaw_and_collect() -> None:
    """Collect everything once (a stage closed), then freeze the survivors again.

    Does nothing unless :func:`keep_pauses_short` is in force (the app, not a test run).
    """
    if _freeze_survivors not in gc.callbacks:
        return
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def freeze_survivors_now() -> None:
    """Collect once, then freeze what survived, so that no later collection walks it again.

    For a headless run of many scenarios (``scenario run``): the modules, the parsed library and
    the embedded server's app live to the end, and walking them again at every collection cost
    about a seventh of the library's time. Garbage is collected before freezing; but a frozen
    object that later becomes cyclic garbage is kept to the end of the process, so call this
    only where what exists lives on (the scenario command: before its first two scenarios).
    """
    gc.collect()
    gc.freeze()
