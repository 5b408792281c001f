"""Propagation: a save on one iPad until it is merged on the same user's other iPad ("poll now").

The save goes up (one upload, answered and applied), the server puts it on the user's feed, and
the other iPad reads its feed at once and merges the entry. Its floor is what that path cannot do
without: two bare HTTP round trips through the same in-process transport (the upload, the feed
read) and two SQLite commits (the server's, ``synchronous=FULL``; the device's, ``NORMAL``), each
a one-row insert into a WAL database on the same disk.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import event

from emulator.bench.bare import bare_app
from emulator.bench.drain import UPLOAD_LIKE, bare_posts
from emulator.bench.figures import Figure, best_of
from emulator.stage import Stage


@dataclass
class Rounds:
    """The best round's seconds, and the SQL the two iPads ran per round (what bounds the figure)."""

    best: float = float("inf")
    statements: int = 0
    commits: int = 0


async def save_until_merged(stage: Stage, rounds: int) -> Rounds:
    """The best of ``rounds``: seconds from a save on the Pro until the Air shows the new value."""
    pro = stage.devices.get("bench-pro") or await stage.add_device("Bench Pro", "anna")
    air = stage.devices.get("bench-air") or await stage.add_device("Bench Air", "anna")
    account = str(next(iter(pro.records("account__v")))["id"])
    seen = Rounds()

    def statement(*_args: object) -> None:
        seen.statements += 1

    def commit(*_args: object) -> None:
        seen.commits += 1

    for engine in (pro.store.engine, air.store.engine):
        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
    for k in range(rounds):
        phone = f"+1 555 7{k:04d}"
        started = time.perf_counter()
        pro.save("account__v", account, {"phone__v": phone})
        await stage.settle()  # uploaded, answered, applied; the entry is on the feed
        await air.poller.poll()  # "poll now"
        await stage.settle()
        took = time.perf_counter() - started
        merged = air.record(account)
        if merged is None or merged.get("phone__v") != phone:
            shown = merged and merged.get("phone__v")
            raise RuntimeError(f"round {k}: the Air shows {shown!r}, not {phone!r}")
        seen.best = min(seen.best, took)
    for engine in (pro.store.engine, air.store.engine):
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
    seen.statements //= rounds
    seen.commits //= rounds
    return seen


def _commit_cost(folder: Path, synchronous: str, rounds: int) -> float:
    """The best of ``rounds`` one-row commits into a WAL database with the given ``synchronous``."""
    connection = sqlite3.connect(folder / f"floor-{synchronous}.sqlite", isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={synchronous}")
        connection.execute("CREATE TABLE IF NOT EXISTS row (id INTEGER PRIMARY KEY, body TEXT)")
        body = json.dumps(UPLOAD_LIKE)

        def commit() -> None:
            connection.execute("BEGIN")
            connection.execute("INSERT INTO row (body) VALUES (?)", (body,))
            connection.execute("COMMIT")

        return best_of(rounds, commit)
    finally:
        connection.close()


async def _round_trip_cost(rounds: int) -> float:
    """The best of ``rounds`` bare POSTs through the in-process transport."""
    transport = httpx.ASGITransport(app=bare_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
        return min([await bare_posts(client, 1) for _ in range(rounds)])


async def floor(rounds: int) -> float:
    """Two bare round trips and two commits (the server's FULL, the device's NORMAL)."""
    trip = await _round_trip_cost(rounds)
    with tempfile.TemporaryDirectory(prefix="autosync-bench-") as name:
        folder = Path(name)
        commits = _commit_cost(folder, "FULL", rounds) + _commit_cost(folder, "NORMAL", rounds)
    return 2 * trip + commits


async def figures(rounds: int) -> list[Figure]:
    stage = Stage(seed=1)
    await stage.start()
    try:
        seen = await save_until_merged(stage, rounds)
    finally:
        await stage.close()
    return [
        Figure(
            "save on one iPad until merged on the user's other iPad (poll now)",
            seen.best,
            await floor(rounds * 3),
            3.0,
            "2 bare round trips through the same transport + 2 SQLite commits",
            f"best of {rounds}; the two iPads ran {seen.statements} SQL statements and "
            f"{seen.commits} commits per round, the server its own",
        )
    ]
