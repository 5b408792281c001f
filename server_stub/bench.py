"""What a server save costs as the online tables grow, each figure against a floor (issue 11).

    python -m server_stub.bench [--quick]

Figures (see :func:`save_cost_figures`):

* **save a new Call** (with a Call Discussion; the account's Call roll-up recomputed and the
  account put on the feed) when the server holds many Calls, against the same save when it
  holds few: the goal is the same cost at every table size (1.5x);
* **duplicate a submitted Call** (AS-11: the submitted original and its children read and put on
  the feed) and **delete a Call** (its detail records deleted with it, in eight child objects),
  many against few in the same way;
* **an upload** (one account created) through the in-process ASGI transport, against the floor
  of a bare FastAPI POST (a pydantic body, a JSON answer) through the same transport (3x).

Each server is a SQLite file in a temporary folder, prepared as the embedded server prepares
itself (the sample world), then filled with Calls and their Call Discussions by bulk inserts,
not through the API. Times are the best of several runs (``time.perf_counter``), the least
disturbed by whatever else runs on the machine; the small and large servers are measured in
turns, so a busy moment hits both.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Engine, event, insert, select, update

from server_stub.app import ServerState, create_app
from server_stub.clock import ManualClock, iso
from server_stub.store import VERSION_FIELD, CounterRow, RecordRow

ADMIN = "bench-admin-token"
TOKEN = "anna-dev-token"  # the sample world's Anna (T-NE)
USER = "anna"
Figure = dict[str, object]


class _Server:
    """One in-process stub server on a SQLite file, and an httpx client to it."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client
        self.state: ServerState = app.state.server
        self.statements = 0
        assert self.state.engine is not None
        self.engine: Engine = self.state.engine
        event.listen(self.engine, "before_cursor_execute", self._count)
        self.account = self._anna_account()

    def _count(self, *_args: Any) -> None:
        self.statements += 1

    def _anna_account(self) -> str:
        with self.state.transaction() as store:
            rows = store.records("account__v")
            return next(str(r.id) for r in rows if r.data.get("territory__v") == "T-NE")

    async def upload(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"transaction_id": uuid.uuid4().hex, "device_id": "bench-ipad", "items": items}
        response = await self.client.post(
            "/api/v1/transactions", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        if answer["outcome"] not in {"saved", "duplicated"}:
            raise RuntimeError(f"the benchmark's upload was refused: {answer['message']}")
        return answer

    async def new_call(self) -> dict[str, Any]:
        return await self.upload(
            [
                _create("call2__v", "tmp-c", account__v=self.account, call_date__v="2026-11-25"),
                _create("call2_discussion__v", "tmp-d", call2__v="tmp-c", product__v="cholecap__c"),
            ]
        )


def _create(object_name: str, temp_id: str, **fields: Any) -> dict[str, Any]:
    return {"op": "create", "object": object_name, "id": temp_id, "fields": fields}


def _update(object_name: str, record_id: str, **changes: tuple[Any, Any]) -> dict[str, Any]:
    return {
        "op": "update",
        "object": object_name,
        "id": record_id,
        "changes": {k: {"old": old, "new": new} for k, (old, new) in changes.items()},
    }


@asynccontextmanager
async def _server(folder: Path, name: str) -> AsyncIterator[_Server]:
    app = create_app(db_url=f"sqlite:///{folder / name}.db", clock=ManualClock(), admin_token=ADMIN)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://stub")
        )
        yield _Server(app, client)


def fill_calls(state: ServerState, count: int, *, accounts: Sequence[str] | None = None) -> None:
    """Add ``count`` Calls, each with one Call Discussion, by bulk inserts (not the save logic).

    They are spread over ``accounts`` (all of them by default) and the sample world's users,
    numbered on from the server's counters (which move past them), and each account's Call
    roll-up is set to its new count, so the world stays one the save logic could have made.
    """
    with state.transaction(write=True) as store:
        now = iso(state.now(store))
        account_rows = [r for r in store.records("account__v") if accounts is None or r.id in accounts]
        targets = [(r.id, r.data) for r in account_rows]
        users = [u.id for u in store.users()]
        first_call = store.next_number("id:V2C")
        first_name = store.next_number("auto:call2__v.name__v")
        first_child = store.next_number("id:V2D")
        first_change = store.next_change()
        counts: dict[str, int] = {}
        batch: list[dict[str, Any]] = []
        for index in range(count):
            account_id, account = targets[index % len(targets)]
            owner = users[index % len(users)]
            call_id = f"V2C{first_call + index:012d}"
            child_id = f"V2D{first_child + index:012d}"
            change = first_change + 2 * index
            standard = {
                "ownerid__v": owner,
                "created_date__v": now,
                "created_by__v": owner,
                "modified_date__v": now,
                "modified_by__v": owner,
            }
            call = {
                "id": call_id,
                "name__v": f"C-{first_name + index:06d}",
                "account__v": account_id,
                "call_date__v": "2026-11-20",
                "call_type__v": "detail_only__v",
                "status__v": "saved__v",
                "territory__v": account.get("territory__v"),
                **standard,
                VERSION_FIELD: change,
            }
            child = {
                "id": child_id,
                "call2__v": call_id,
                "product__v": "cholecap__c",
                **standard,
                VERSION_FIELD: change + 1,
            }
            counts[account_id] = counts.get(account_id, 0) + 1
            for object_name, record in (("call2__v", call), ("call2_discussion__v", child)):
                batch.append(
                    {
                        "id": record["id"],
                        "object": object_name,
                        "owner": owner,
                        "modified_at": now,
                        "change_seq": record[VERSION_FIELD],
                        "deleted": False,
                        "data": record,
                    }
                )
            if len(batch) >= 20_000:
                store.session.execute(insert(RecordRow), batch)
                batch = []
        if batch:
            store.session.execute(insert(RecordRow), batch)
        for name, value in (
            ("id:V2C", first_call + count - 1),
            ("auto:call2__v.name__v", first_name + count - 1),
            ("id:V2D", first_child + count - 1),
            ("change_seq", first_change + 2 * count - 1),
        ):
            store.session.execute(update(CounterRow).where(CounterRow.name == name).values(value=value))
        for row in account_rows:
            data = {**row.data, "call_count__v": (row.data.get("call_count__v") or 0) + counts.get(row.id, 0)}
            store.session.execute(update(RecordRow).where(RecordRow.id == row.id).values(data=data))


def call_rows(server: _Server) -> int:
    """How many live Calls the server holds."""
    with server.state.transaction() as store:
        query = select(RecordRow.id).where(RecordRow.object == "call2__v", RecordRow.deleted.is_(False))
        return len(store.session.execute(query).all())


def account_calls(server: _Server) -> int:
    """How many live Calls the account the benchmark's Calls are saved on has."""
    with server.state.transaction() as store:
        return int(store.rollups("call2__v", "account__v", server.account, [None])[0])


async def _best_of(
    repeats: int, setup: Callable[[], Awaitable[Any]] | None, action: Callable[[Any], Awaitable[Any]]
) -> float:
    """The fastest of ``repeats`` runs of ``action`` (after an untimed ``setup`` each), in seconds."""
    best = float("inf")
    for _ in range(repeats):
        prepared = await setup() if setup is not None else None
        started = time.perf_counter()
        await action(prepared)
        best = min(best, time.perf_counter() - started)
    return best


async def _submitted_call(server: _Server) -> dict[str, Any]:
    """A Call with a discussion, then submitted: the original a duplicate will copy."""
    answer = await server.new_call()
    call: dict[str, Any] = next(r["fields"] for r in answer["records"] if r["object"] == "call2__v")
    await server.upload([_update("call2__v", call["id"], status__v=("saved__v", "submitted__v"))])
    return call


async def _duplicate(server: _Server, call: dict[str, Any]) -> None:
    answer = await server.upload([_update("call2__v", call["id"], notes__v=(None, "seen on another iPad"))])
    assert answer["outcome"] == "duplicated", answer["message"]


async def _call_to_delete(server: _Server) -> str:
    answer = await server.new_call()
    return str(answer["id_map"]["tmp-c"])


async def _delete(server: _Server, call_id: str) -> None:
    await server.upload([{"op": "delete", "object": "call2__v", "id": call_id}])


async def _three_costs(server: _Server, repeats: int) -> dict[str, float]:
    return {
        "new": await _best_of(repeats, None, lambda _: server.new_call()),
        "duplicate": await _best_of(
            repeats, lambda: _submitted_call(server), lambda c: _duplicate(server, c)
        ),
        "delete": await _best_of(repeats, lambda: _call_to_delete(server), lambda c: _delete(server, c)),
    }


class _Echo(BaseModel):
    name: str
    value: int


def _bare_app() -> FastAPI:
    """The floor: a FastAPI POST with a pydantic body and a JSON answer, nothing else."""
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: _Echo) -> dict[str, Any]:
        return {"name": body.name, "value": body.value, "ok": True}

    return app


def durable_commit_cost(folder: Path, repeats: int) -> float:
    """The best time of a one-row insert committed as the server commits (SQLite, WAL,
    ``synchronous=FULL``) in ``folder``: the part of an upload no code change can remove."""
    connection = sqlite3.connect(folder / "commit.db", isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        best = float("inf")
        for n in range(repeats):
            started = time.perf_counter()
            connection.execute("BEGIN")
            connection.execute("INSERT INTO t (v) VALUES (?)", (f"row {n}",))
            connection.execute("COMMIT")
            best = min(best, time.perf_counter() - started)
        return best
    finally:
        connection.close()


async def _upload_against_floor(server: _Server, repeats: int) -> tuple[float, float, float]:
    """An upload creating one account, a bare POST, and SQL statements per such upload."""
    item = _create("account__v", "tmp-a", account_type__v="hcp__v", last_name__v="Bench", territory__v="T-NE")
    before = server.statements
    await server.upload([item])
    statements = server.statements - before
    upload = await _best_of(repeats, None, lambda _: server.upload([item]))
    bare = _bare_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://bare") as client:

        async def post(_: object) -> None:
            response = await client.post("/echo", json={"name": "bench", "value": 1})
            response.raise_for_status()

        floor = await _best_of(repeats * 3, None, post)
    return upload, floor, statements


async def measure(small_n: int, large_n: int, *, repeats: int, rounds: int) -> list[Figure]:
    """The figures with ``small_n`` and ``large_n`` Calls online (on top of the sample world's),
    each cost the best of ``rounds`` x ``repeats`` runs."""
    with _folder() as folder:
        async with _server(folder, "small") as small, _server(folder, "large") as large:
            fill_calls(small.state, small_n)
            fill_calls(large.state, large_n)
            sizes = {"small": call_rows(small), "large": call_rows(large)}
            fan_out = {"small": account_calls(small), "large": account_calls(large)}
            await small.new_call()  # warm both up: statement caches, first pages read
            await large.new_call()
            costs: dict[str, list[dict[str, float]]] = {"small": [], "large": []}
            for _ in range(rounds):  # in turns, so a busy moment of the machine hits both
                costs["small"].append(await _three_costs(small, repeats))
                costs["large"].append(await _three_costs(large, repeats))
            upload, floor, statements = await _upload_against_floor(small, repeats * 2)
            commit = durable_commit_cost(folder, repeats * 2)

    def best(size: str, what: str) -> float:
        return min(c[what] for c in costs[size])

    table = (
        f"{sizes['large']:,} Calls online, {fan_out['large']:,} on the Call's account "
        f"(floor: {sizes['small']:,} and {fan_out['small']:,})"
    )
    figures: list[Figure] = [
        {
            "what": "server: save a new Call and its discussion",
            "measured": best("large", "new"),
            "floor": best("small", "new"),
            "goal": 1.5,
            "note": f"{table}; the account's Call roll-up recomputed, the account on the feed",
        },
        {
            "what": "server: duplicate of a submitted Call (AS-11)",
            "measured": best("large", "duplicate"),
            "floor": best("small", "duplicate"),
            "goal": 1.5,
            "note": f"{table}; the original and its children read and fed back",
        },
        {
            "what": "server: delete a Call and its details",
            "measured": best("large", "delete"),
            "floor": best("small", "delete"),
            "goal": 1.5,
            "note": f"{table}; the cascade looks in eight child objects",
        },
        {
            "what": "server: an upload through the ASGI transport",
            "measured": upload,
            "floor": floor,
            "goal": 3.0,
            "note": (
                f"one account created, {statements} SQL statements, a SQLite commit (synchronous=FULL: "
                f"{commit * 1000:.2f} ms for a one-row commit alone, {commit / floor:.1f}x the floor); "
                "floor: a bare FastAPI POST through the same transport"
            ),
        },
    ]
    return figures


@contextmanager
def _folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="autosync-bench-") as name:
        yield Path(name)


def save_cost_figures(quick: bool) -> list[dict[str, object]]:
    """Each dict: what (str), measured (float, seconds), floor (float, seconds), goal (float, the
    ratio measured/floor it should stay within), note (str)."""
    if quick:
        return asyncio.run(measure(1_000, 10_000, repeats=5, rounds=2))
    return asyncio.run(measure(1_000, 100_000, repeats=15, rounds=3))


def format_table(figures: list[dict[str, object]]) -> str:
    """The figures as a plain-text table: measured, floor, ratio and goal."""
    lines = [f"{'what':<48} {'measured':>10} {'floor':>10} {'ratio':>7} {'goal':>6}  note"]
    for f in figures:
        measured, floor, goal = float(str(f["measured"])), float(str(f["floor"])), float(str(f["goal"]))
        ratio = measured / floor if floor else float("inf")
        times = f"{measured * 1000:8.2f}ms {floor * 1000:8.2f}ms {ratio:6.2f}x {goal:5.1f}x"
        lines.append(f"{f['what']!s:<48} {times}  {f['note']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server_stub.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k Calls instead of 1k and 100k")
    args = parser.parse_args(argv)
    print(format_table(save_cost_figures(args.quick)))


if __name__ == "__main__":
    main()
