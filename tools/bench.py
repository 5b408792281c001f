"""Benchmarks. Each prints its time and a ratio against a floor measured in the same run.

    python tools/bench.py            (QT_QPA_PLATFORM=offscreen is set for you)

* record list: refreshing the Qt model of 10,000 records (sync state, title, subtitle for each)
  against the floor of building the same 10,000 rows in plain Python;
* upload: a save uploaded through the embedded server (save logic, feed, answer applied on the
  device) against the floor of a bare ``/health`` round trip through the same transport.

The ratios, not the seconds, are what to compare between commits: both sides run on the same
machine in the same process, so a slower machine moves both.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def best_of(repeats: int, action: Callable[[], object]) -> float:
    """The fastest of ``repeats`` runs, in seconds (the least disturbed by the machine)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def report(name: str, measured: float, floor: float) -> None:
    ratio = measured / floor
    print(f"{name:<32} {measured * 1000:9.1f} ms   floor {floor * 1000:8.2f} ms   ratio {ratio:7.1f}x")


def bench_record_list(count: int = 10_000) -> None:
    from PySide6.QtWidgets import QApplication

    from emulator.engine.schema import DeviceSchema
    from emulator.ui.records import RecordListModel

    QApplication.instance() or QApplication([])
    schema = DeviceSchema(
        {
            "objects": {
                "account__v": {
                    "label": "Account",
                    "title": "name__v",
                    "subtitle": "city__v",
                    "fields": {
                        "name__v": {"type": "text", "label": "Name"},
                        "city__v": {"type": "text", "label": "City"},
                    },
                }
            },
            "families": {},
        }
    )
    records = [{"id": f"A{n:06d}", "name__v": f"Doctor {n}", "city__v": "Boston"} for n in range(count)]

    class Device:
        def __init__(self) -> None:
            self.schema = schema

        def records(self, _object: str) -> list[dict[str, Any]]:
            return records

        def sync_states(self) -> dict[str, str]:
            return {"A000003": "queued"}

    model = RecordListModel(Device(), "account__v")  # type: ignore[arg-type]
    measured = best_of(5, model.refresh)
    floor = best_of(5, lambda: [(r["id"], "synced", r["name__v"], r["city__v"]) for r in records])
    report(f"record list ({count:,} records)", measured, floor)


def bench_upload(count: int = 100) -> None:
    from emulator.stage import Stage

    async def run() -> tuple[float, float]:
        stage = Stage(seed=1)
        await stage.start()
        try:
            ipad = await stage.add_device("Bench iPad", "anna")
            account = ipad.records("account__v")[0]
            assert stage.admin is not None
            started = time.perf_counter()
            for _ in range(count):
                await stage.admin.get("/health")
            floor = (time.perf_counter() - started) / count
            started = time.perf_counter()
            for n in range(count):
                ipad.save("account__v", account["id"], {"phone__v": f"+1 555 {n:04d}"})
                await stage.settle()
            measured = (time.perf_counter() - started) / count
            assert not ipad.queue() and not ipad.sync_errors()
            return measured, floor
        finally:
            await stage.close()

    measured, floor = asyncio.run(run())
    report("upload (per save)", measured, floor)


if __name__ == "__main__":
    bench_record_list()
    bench_upload()
