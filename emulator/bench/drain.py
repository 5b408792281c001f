"""Draining the upload queue: cost per item at every size, against bare POSTs on the same road.

A device saves ``n`` edits offline, goes online, and the stage settles: the time per item from
"online" to an empty queue is the drain cost. Its floors:

* the same number of bare POSTs of an upload-sized JSON body to a one-route FastAPI app, through
  the same kind of transport (in-process ``httpx.ASGITransport``, or a real loopback socket to a
  server process);
* the drain of a short queue, for the growth figure (a queue ten or a hundred times longer must
  not cost more per item).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import httpx

from emulator.bench.bare import bare_app
from emulator.bench.figures import Figure
from emulator.bench.processes import running_server
from emulator.stage import Stage

#: An upload's body, about the size the device sends for one edited account.
UPLOAD_LIKE = {
    "transaction_id": "00000000-0000-4000-8000-000000000000",
    "device_id": "bench-ipad",
    "records": [
        {
            "object": "account__v",
            "id": "V0A000000000001",
            "op": "update",
            "values": {"phone__v": "+1 555 00000"},
            "previous": {"phone__v": "+1 617 555 0101"},
        }
    ],
}


@dataclass(frozen=True)
class DrainPoint:
    """The drain of a queue of ``size`` items: seconds per item."""

    size: int
    per_item: float


#: What the queue holds: edits cycling over the user's accounts (every answer re-applies the
#: later edits of its account, so the cost per item grows with the edits per account), or new
#: accounts (no item references another's record).
Workload = Literal["edits", "creates"]


async def drain(stage: Stage, size: int, workload: Workload = "edits") -> float:
    """Queue ``size`` saves on a fresh iPad offline, go online, settle: seconds per item drained."""
    ipad = await stage.add_device(f"Bench iPad {len(stage.devices) + 1}", "anna")
    try:
        accounts = [str(r["id"]) for r in ipad.records("account__v")]
        ipad.set_network("offline")
        for k in range(size):
            if workload == "creates":
                new = {"account_type__v": "hcp__v", "last_name__v": f"Bench {k}", "territory__v": "T-NE"}
                ipad.save("account__v", None, new)
            else:
                ipad.save("account__v", accounts[k % len(accounts)], {"phone__v": f"+1 555 {k:05d}"})
        started = time.perf_counter()
        ipad.set_network("online")
        await stage.settle()
        took = time.perf_counter() - started
        if ipad.store.queue_length() or ipad.sync_errors():
            raise RuntimeError(f"the drain of {size} left {ipad.store.queue_length()} items queued")
        return took / size
    finally:
        await stage.remove_device(ipad.profile.device_id)


async def embedded_curve(sizes: Sequence[int], workload: Workload = "edits") -> list[DrainPoint]:
    """The drain per item at each size, on the embedded server (a fresh stage for each)."""
    points = []
    for size in sizes:
        stage = Stage(seed=1)
        await stage.start()
        try:
            points.append(DrainPoint(size, await drain(stage, size, workload)))
        finally:
            await stage.close()
    return points


async def bare_posts(client: httpx.AsyncClient, count: int) -> float:
    """Seconds per bare POST of an upload-sized body (answers checked)."""
    body = json.dumps(UPLOAD_LIKE)
    started = time.perf_counter()
    for _ in range(count):
        response = await client.post("/bare", content=body, headers={"Content-Type": "application/json"})
        response.raise_for_status()
    return (time.perf_counter() - started) / count


async def in_process_floor(count: int) -> float:
    transport = httpx.ASGITransport(app=bare_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        return await bare_posts(client, count)


@asynccontextmanager
async def remote_stage(url: str, token: str) -> AsyncIterator[Stage]:
    stage = Stage(seed=1, server_url=url, admin_token=token)
    await stage.start()
    try:
        yield stage
    finally:
        await stage.close()


async def loopback_figures(count: int) -> list[Figure]:
    """The drain to a standalone ``autosync-stub`` over a loopback socket, against bare POSTs to
    a one-route server process over the same kind of socket."""
    with running_server("stub") as (url, token):
        async with remote_stage(url, token) as stage:
            measured = await drain(stage, count)
    with running_server("bare") as (url, _token):
        async with httpx.AsyncClient(base_url=url) as client:
            floor = await bare_posts(client, count)
    return [
        Figure(
            f"drain of {count:,} over loopback to autosync-stub, per item",
            measured,
            floor,
            3.0,
            f"a bare POST over loopback to a one-route server ({count:,} of them)",
        )
    ]


async def embedded_figures(sizes: Sequence[int]) -> tuple[list[Figure], dict[str, list[DrainPoint]]]:
    """The growth figures (largest size against smallest, for both workloads) and the drain of
    edits against bare POSTs; with the curves by workload."""
    curves = {
        "edits of the user's accounts": await embedded_curve(sizes, "edits"),
        "new accounts": await embedded_curve(sizes, "creates"),
    }
    edits = curves["edits of the user's accounts"]
    middle = next((p for p in edits if p.size >= 1000), edits[-1])
    floor = await in_process_floor(middle.size)
    figures = [
        Figure(
            f"drain per item, {points[-1].size:,} {label} queued",
            points[-1].per_item,
            points[0].per_item,
            1.5,
            f"the same with {points[0].size:,} queued",
            "linear: the cost per item does not grow with the queue",
        )
        for label, points in curves.items()
    ]
    figures.append(
        Figure(
            f"drain of {middle.size:,} queued edits (embedded server), per item",
            middle.per_item,
            floor,
            3.0,
            f"a bare POST through the same in-process transport ({middle.size:,} of them)",
        )
    )
    return figures, curves
