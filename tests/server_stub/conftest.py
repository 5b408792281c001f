"""An in-process stub server behind httpx.ASGITransport, with its lifespan run properly."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from server_stub.app import create_app
from server_stub.clock import ManualClock
from tests.conftest import LoopRunner
from tests.postgres import private_postgres

ADMIN = "admin-test-token"
ANNA, BEN, CHLOE = "anna-dev-token", "ben-dev-token", "chloe-dev-token"


class Api:
    """Synchronous calls into the in-process server, for readable tests."""

    def __init__(self, app: FastAPI, clock: ManualClock) -> None:
        self.app = app
        self.clock = clock
        self._loop = LoopRunner()
        self._stack = AsyncExitStack()
        self.client: httpx.AsyncClient = self._loop.run(self._open())

    async def _open(self) -> httpx.AsyncClient:
        await self._stack.enter_async_context(self.app.router.lifespan_context(self.app))
        transport = httpx.ASGITransport(app=self.app)
        return await self._stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://stub")
        )

    def close(self) -> None:
        self._loop.run(self._stack.aclose())
        self._loop.close()

    def request(
        self,
        method: str,
        path: str,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        sent = {"Authorization": f"Bearer {token}"} if token else {}
        return self._loop.run(
            self.client.request(method, path, headers={**sent, **(headers or {})}, **kwargs)
        )

    def ok(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = self.request(method, path, token, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    # conveniences -------------------------------------------------------------------------------
    def upload(
        self,
        token: str,
        items: list[dict[str, Any]],
        txn: str | None = None,
        device: str = "ipad-1",
    ) -> dict[str, Any]:
        body = {"transaction_id": txn or uuid.uuid4().hex, "device_id": device, "items": items}
        return self.ok("POST", "/api/v1/transactions", token, json=body)  # type: ignore[no-any-return]

    def online(self, object_name: str, record_id: str) -> dict[str, Any]:
        records = self.ok("GET", f"/api/v1/admin/records?object={object_name}", ADMIN)["records"]
        return next(r["fields"] for r in records if r["id"] == record_id)

    def find(self, object_name: str, **match: Any) -> dict[str, Any]:
        records = self.ok("GET", f"/api/v1/admin/records?object={object_name}", ADMIN)["records"]
        for r in records:
            if all(r["fields"].get(k) == v for k, v in match.items()):
                return r["fields"]  # type: ignore[no-any-return]
        raise AssertionError(f"no {object_name} with {match}")

    def all(self, object_name: str) -> list[dict[str, Any]]:
        records = self.ok("GET", f"/api/v1/admin/records?object={object_name}", ADMIN)["records"]
        return [r["fields"] for r in records]

    def feed(self, user: str, token: str, after: int = 0) -> dict[str, Any]:
        return self.ok("GET", f"/api/v1/feeds/{user}?after={after}", token)  # type: ignore[no-any-return]

    def sync(self, token: str, cursor: int | None = None) -> dict[str, Any]:
        """A whole incremental sync: its first page, with every later page's records and
        visible IDs added to it (``pages``: how many answers it took)."""
        answer: dict[str, Any] = self.ok("POST", "/api/v1/sync", token, json={"cursor": cursor})
        answer["pages"] = 1
        following = answer.pop("next")
        while following is not None:
            page = self.ok("POST", "/api/v1/sync/page", token, json=following)
            answer["records"] += page["records"]
            for object_name, ids in page["visible_ids"].items():
                answer["visible_ids"][object_name] += ids
            answer["pages"] += 1
            following = page["next"]
        return answer

    def advance(self, **kwargs: float) -> None:
        self.clock.advance(timedelta(**kwargs))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The session's private PostgreSQL cluster (tests/postgres.py), started on first use."""
    with private_postgres() as url:
        yield url


@pytest.fixture
def api() -> Iterator[Api]:
    clock = ManualClock()
    server = Api(create_app(clock=clock, admin_token=ADMIN), clock)
    yield server
    server.close()


def update(object_name: str, record_id: str, **changes: tuple[Any, Any]) -> dict[str, Any]:
    """An update item: ``field=(old, new)``."""
    return {
        "op": "update",
        "object": object_name,
        "id": record_id,
        "changes": {k: {"old": old, "new": new} for k, (old, new) in changes.items()},
    }


def create(object_name: str, temp_id: str, **fields: Any) -> dict[str, Any]:
    return {"op": "create", "object": object_name, "id": temp_id, "fields": fields}
