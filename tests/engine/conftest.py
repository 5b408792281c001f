"""A stage with the real in-process server, driven synchronously for readable tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from emulator.engine.device import Device
from emulator.engine.events import Event
from emulator.stage import Stage
from tests.conftest import LoopRunner


class World:
    """A started :class:`Stage` plus synchronous helpers; time moves only when told."""

    def __init__(self, data_dir: Path, seed: int = 0) -> None:
        self.loop = LoopRunner()
        self.stage = Stage(seed=seed, data_dir=data_dir)
        self.loop.run(self.stage.start())

    def run(self, coro: Any) -> Any:
        return self.loop.run(coro)

    def device(self, name: str, user: str = "anna", **profile: Any) -> Device:
        return self.run(self.stage.add_device(name, user, **profile))  # type: ignore[no-any-return]

    def settle(self) -> None:
        self.run(self.stage.settle())

    def advance(self, **delta: float) -> None:
        self.run(self.stage.advance(timedelta(**delta)))

    def poll_all(self) -> None:
        """Let the next feed poll of every device happen."""
        self.advance(seconds=30)

    def sync(self, ipad: Device, *, full: bool = False) -> Any:
        """The user taps Sync (or Full Database Refresh); the clock moves while it runs."""
        return self.run(self.stage.complete(ipad.syncer.run(full=full)))

    def online(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.run(self.stage.online(method, path, **kwargs))

    def online_record(self, object_name: str, record_id: str) -> dict[str, Any]:
        page = self.online("GET", f"/records?object={object_name}&limit=5000")
        return next(r["fields"] for r in page["records"] if r["id"] == record_id)  # type: ignore[no-any-return]

    def events(self, kind: str | None = None, device: Device | None = None) -> list[Event]:
        return [
            e
            for e in self.stage.events.events
            if (kind is None or e.kind == kind) and (device is None or e.actor == device.actor)
        ]

    def close(self) -> None:
        self.run(self.stage.close())
        self.loop.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


def account_of(device: Device, territory: str = "T-NE") -> dict[str, Any]:
    """The first HCP account on the device."""
    return next(
        r
        for r in device.records("account__v")
        if r.get("territory__v") == territory and r.get("account_type__v") == "hcp__v"
    )


def save_order(ipad: Device, *lines: tuple[str, int, float]) -> Any:
    """Save a new order for the device's first HCP with ``(product, quantity, list price)`` lines."""
    account = account_of(ipad)
    return ipad.save(
        "order__v",
        None,
        {"account__v": account["id"], "order_date__v": "2026-11-26"},
        children=[
            ("order_line__v", {"product__v": product, "quantity__v": quantity, "list_price__v": price})
            for product, quantity, price in lines
        ],
    )
