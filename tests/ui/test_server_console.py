"""The server console (the online side): what it reads from the server, and when."""

from __future__ import annotations

from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from emulator.ui.main_window import MainWindow

HARPER = "V0A000000000001"  # Eleanor Harper, an anna account in T-NE


def test_the_console_reads_its_long_lists_only_when_they_are_on_screen(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drain of a thousand uploads changes the server a thousand times: a hidden console must
    not read every online record and the whole feed again each time (the window would stall)."""
    console = window.console
    window.fit_to(1300, 768, within_screen=False)  # a projector: three iPads, the console hidden
    qtbot.waitUntil(lambda: not window.console_dock.isVisible() and not console.loading)
    paths: list[str] = []
    online = console.stage.online

    async def noting(method: str, path: str, **kwargs: Any) -> Any:
        paths.append(path)
        return await online(method, path, **kwargs)

    monkeypatch.setattr(console.stage, "online", noting)
    pro = window.column(0).device
    pro.save("account__v", HARPER, {"phone__v": "+1 555 0100"})
    qtbot.waitUntil(lambda: "/devices" in paths, timeout=10_000)  # the console read the server again
    qtbot.waitUntil(lambda: not console.loading)
    assert "/validation-rules" in paths, paths
    assert "/records" not in paths and not any(p.startswith("/feeds/") for p in paths), paths

    window.fit_to(1900, 1040, within_screen=False)  # room for the console: the list it shows is read
    qtbot.waitUntil(lambda: window.console_dock.isVisible() and "/records" in paths, timeout=10_000)
    assert not any(p.startswith("/feeds/") for p in paths), "the feed tab is not on screen"
    console.setCurrentWidget(console.feeds_page)
    qtbot.waitUntil(lambda: any(p.startswith("/feeds/") for p in paths), timeout=10_000)
    qtbot.waitUntil(lambda: console.feed_model.rowCount() > 0)
