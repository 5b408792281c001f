"""Qt tests: one session-wide qasync loop on the QApplication, failing on asyncio errors.

With ``already_running=True`` the loop is driven by Qt's own event processing, so
``qtbot.waitUntil`` / ``waitSignal`` also run asyncio callbacks. Never stop the loop or quit
the application in a test: every later wait would then return at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication


@pytest.fixture(scope="session")
def qt_loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    loop.errors = errors  # type: ignore[attr-defined]
    yield loop


@pytest.fixture(autouse=True)
def _fail_on_asyncio_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    if "qt_loop" not in request.fixturenames:
        yield
        return
    loop = request.getfixturevalue("qt_loop")
    loop.errors.clear()
    yield
    assert not loop.errors, f"unhandled asyncio errors: {loop.errors}"
