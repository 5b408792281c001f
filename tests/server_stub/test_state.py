"""Every piece of the server's state is in its database: two server processes answer alike.

Two apps on one database file stand for two uvicorn workers: what one does, the other knows
(the emulated clock, feeds, idempotency answers, sequence numbers, the room).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from server_stub.app import create_app
from server_stub.clock import StoredClock
from tests.server_stub.conftest import ADMIN, ANNA, Api, create

UPLOAD = "/api/v1/transactions"


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[Api, Api]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first = Api(create_app(db_url=url, admin_token=ADMIN), None)  # type: ignore[arg-type]
    second = Api(create_app(db_url=url, admin_token=ADMIN, prepared=True), None)  # type: ignore[arg-type]
    yield first, second
    second.close()
    first.close()


def test_any_server_process_answers_any_request(workers: tuple[Api, Api]) -> None:
    one, two = workers
    assert one.ok("GET", "/health")["server_time"] == two.ok("GET", "/health")["server_time"]
    moved = one.ok("POST", "/api/v1/admin/clock/advance", ADMIN, json={"seconds": 3600})
    assert two.ok("GET", "/api/v1/admin/clock", ADMIN) == moved, "one clock, in the database"
    account = one.find("account__v", territory__v="T-NE")
    body = {
        "transaction_id": "t-shared",
        "device_id": "ipad",
        "items": [create("call2__v", "tmp", account__v=account["id"], call_date__v="2026-11-25")],
    }
    first = one.ok("POST", UPLOAD, ANNA, json=body)
    again = two.ok("POST", UPLOAD, ANNA, json=body)
    assert again["replayed"] is True and again["id_map"] == first["id_map"], "the answer is in the database"
    other = {
        **body,
        "items": [
            {**body["items"][0], "fields": {**body["items"][0]["fields"], "call_date__v": "2026-11-24"}}
        ],
    }
    assert two.request("POST", UPLOAD, ANNA, json=other).status_code == 409
    entries = two.feed("anna", ANNA)["entries"]
    assert [e["transaction_id"] for e in entries] == ["t-shared"], "the feed is in the database"
    second = two.ok("POST", UPLOAD, ANNA, json={**body, "transaction_id": "t-next"})
    assert (
        int(second["records"][0]["fields"]["name__v"][2:])
        == int(first["records"][0]["fields"]["name__v"][2:]) + 1
    )
    assert one.feed("anna", ANNA, after=entries[0]["seq"])["entries"][0]["seq"] == entries[0]["seq"] + 1
    two.request("GET", "/api/v1/me", ANNA, headers={"X-Autosync-Device": "ipad"})
    assert [d["device_id"] for d in one.ok("GET", "/api/v1/admin/devices", ADMIN)["devices"]] == ["ipad"]


def test_the_stored_clock_runs_or_stands_and_never_goes_back(tmp_path: Path) -> None:
    wall = [1000.0]
    clock = StoredClock(wall=lambda: wall[0])
    app = create_app(db_url=f"sqlite:///{tmp_path / 'c.db'}", admin_token=ADMIN)
    server = Api(app, None)  # type: ignore[arg-type]
    state = app.state.server
    start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    try:
        with state.transaction(write=True) as store:
            assert clock.start(store, start=start, running=True) == start
        wall[0] += 90
        with state.transaction() as store:
            assert clock.now(store) == start + timedelta(seconds=90), "running with real time"
        with state.transaction(write=True) as store:
            clock.advance(store, timedelta(days=1))
            later = start + timedelta(days=1, seconds=90)
            assert clock.start(store, start=start, running=False) == later, "a restart goes on, not back"
        wall[0] += 600
        with state.transaction() as store:
            assert clock.now(store) == later, "standing still"
        with state.transaction() as store, pytest.raises(ValueError):
            clock.advance(store, timedelta(seconds=-1))
    finally:
        server.close()


def test_no_endpoint_or_dependency_runs_in_a_thread_pool() -> None:
    """A plain ``def`` would run in FastAPI's thread pool, and wall time would decide who saves first."""
    app = create_app(admin_token=ADMIN)
    checked = 0
    routes = list(app.routes)
    while routes:
        route = routes.pop()
        included = getattr(route, "original_router", None)  # an included router (FastAPI >= 0.16x)
        if included is not None:
            routes.extend(included.routes)
        if not isinstance(route, APIRoute):
            continue
        stack = [route.dependant]
        while stack:
            dependant = stack.pop()
            if dependant.call is not None:
                call = dependant.call
                assert inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
                    getattr(call, "__call__", None)  # noqa: B004  (HTTPBearer: an async __call__)
                ), f"{route.path}: {call} is not async"
                checked += 1
            stack.extend(dependant.dependencies)
    assert checked > 40
