"""Test-wide settings: headless Qt, and a way to run coroutines from plain tests."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

#: The tests' screens: a 1920x1080 monitor, and a 1366x768 projector to its right.
SCREENS = [
    {"name": "monitor", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96, "dpr": 1},
    {"name": "projector", "x": 1920, "y": 0, "width": 1366, "height": 768, "logicalDpi": 96, "dpr": 1},
]
_screens = Path(tempfile.mkdtemp(prefix="autosync-screens-")) / "screens.json"
_screens.write_text(json.dumps({"screens": SCREENS}), encoding="utf-8")
os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={_screens}")
# Seeded sample databases are cached in a folder of this test process (and the processes it
# starts), never in the user's cache (see server_stub.snapshot).
os.environ["AUTOSYNC_SEED_CACHE"] = str(_screens.parent / "seed-cache")

T = TypeVar("T")


@contextmanager
def detached_from_running_loop() -> Iterator[None]:
    """Hide a running (qasync) loop so a private asyncio.Runner may run in this thread."""
    running = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(running)


class LoopRunner:
    """One private event loop per test, for tests of code that is async but not Qt."""

    def __init__(self) -> None:
        self._runner = asyncio.Runner()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        with detached_from_running_loop():
            return self._runner.run(coro)

    def close(self) -> None:
        with detached_from_running_loop():
            self._runner.close()


@pytest.fixture(autouse=True)
def _no_qt_loop_outside_qt_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that does not use the Qt loop runs as if no loop were running in this thread.

    The session's qasync loop registers itself as this thread's running loop for good; without
    this, plain tests that call ``asyncio.run`` would pass or fail by the order tests ran in.
    """
    if "qt_loop" in request.fixturenames:
        yield
        return
    with detached_from_running_loop():
        yield


@pytest.fixture(autouse=True)
def _event_data_as_declared(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every event any test emits carries the data its kind declares (``EVENT_DATA``, issue 13).

    Checked as each is emitted, reported when the test ends (an engine task may swallow a raise).
    """
    from emulator.engine.events import Event, EventLog
    from tests.event_data import event_problems

    found: list[str] = []
    emit = EventLog.emit

    def checked(self: EventLog, *args: Any, **kwargs: Any) -> Event:
        event = emit(self, *args, **kwargs)
        found.extend(event_problems(event))
        return event

    monkeypatch.setattr(EventLog, "emit", checked)
    yield
    assert not found, "events whose data differ from their kind's declaration:\n" + "\n".join(found[:20])
