"""The engine reads the server's answers with the wire models (autosync_wire): an answer that is
not what the protocol says is a clear error on the engine's usual path, never a KeyError.

The server here is the real in-process one; a transport between it and one device replaces the
body of one kind of answer, after the server has done its work, as a broken proxy or a server of
another version would.
"""

from __future__ import annotations

import json

import httpx
import pytest

from emulator.engine.backoff import retry_delay
from emulator.engine.device import Device
from tests.engine.conftest import World, account_of


class Garbling(httpx.AsyncBaseTransport):
    """Passes requests to the server; the next ``times`` answers to ``path`` come back as ``body``."""

    def __init__(self, inner: httpx.AsyncBaseTransport, path: str, body: bytes, times: int = 1) -> None:
        self.inner = inner
        self.path = path
        self.body = body
        self.times = times

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        if self.times and request.url.path == self.path and response.status_code == 200:
            self.times -= 1
            return httpx.Response(200, content=self.body, request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def garble(ipad: Device, path: str, body: object, times: int = 1) -> Garbling:
    """The device's next ``times`` answers to ``path`` hold ``body`` (JSON; bytes as they are)."""
    conditioned = ipad.client._transport  # the network conditions' transport, around the server's
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    garbling = Garbling(conditioned.inner, path, raw, times)  # type: ignore[attr-defined]
    conditioned.inner = garbling  # type: ignore[attr-defined]
    return garbling


@pytest.mark.rule("AS-03")
@pytest.mark.parametrize(
    "body",
    [
        {"transaction_id": "x", "message": "no outcome"},  # a key missing
        {"transaction_id": "x", "outcome": "kept", "message": "", "processed_at": ""},  # unknown outcome
        {"transaction_id": "x", "outcome": "saved", "message": "", "processed_at": "", "records": [{}]},
        {"transaction_id": "x", "outcome": "sync_error", "message": "", "processed_at": ""},  # which?
        ["not", "an", "object"],
        b"<html>502 Bad Gateway</html>",  # not JSON at all
    ],
    ids=["missing-key", "unknown-outcome", "bad-record", "error-untold", "a-list", "not-json"],
)
def test_an_upload_answer_that_cannot_be_read_is_retried_like_a_lost_reply(
    world: World, body: object
) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    garble(ipad, "/api/v1/transactions", body)
    ipad.save("account__v", account["id"], {"phone__v": "+1 555 0100"})
    world.settle()
    (head,) = ipad.queue()
    assert head.state == "waiting" and head.attempts == 1, "it stays first in the queue"
    assert head.last_error is not None
    assert head.last_error.startswith("the answer to POST /api/v1/transactions could not be read: ")
    (retry,) = world.events("retry_scheduled", ipad)
    assert "could not be read" in retry.text
    assert world.events("uploaded", ipad) == []
    # the server did save it: sent again under the same transaction ID, it replays its answer
    world.advance(seconds=retry_delay(1).total_seconds())
    assert ipad.queue() == []
    (uploaded,) = world.events("uploaded", ipad)
    assert uploaded.data["replayed"] is True
    assert ipad.record(account["id"])["phone__v"] == "+1 555 0100"


@pytest.mark.rule("AS-18")
def test_a_feed_page_that_cannot_be_read_is_a_failed_poll_and_the_cursor_stays(world: World) -> None:
    anna = world.device("Anna iPad")
    other = world.device("Anna iPhone")
    account = account_of(anna)
    other.save("account__v", account["id"], {"phone__v": "+1 555 0101"})
    world.settle()
    cursor = anna.store.setting("feed_cursor", 0)
    garble(anna, "/api/v1/feeds/anna", {"user_id": "anna", "entries": [{"seq": "one"}]})
    world.poll_all()
    failed = [e for e in world.events("polled", anna) if e.data.get("ok") is False]
    assert failed, "the poll failed"
    assert "could not be read" in failed[-1].text and "entries.0" in failed[-1].text
    assert anna.store.setting("feed_cursor", 0) == cursor, "nothing staged, the cursor did not move"
    world.poll_all()  # the next poll reads the feed as it is
    assert anna.record(account["id"])["phone__v"] == "+1 555 0101"


@pytest.mark.rule("AS-27")
@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/api/v1/sync", {"user_id": "anna", "records": "none"}, "POST /api/v1/sync could not be read"),
        ("/api/v1/sync", b"", "POST /api/v1/sync could not be read: the body: Invalid JSON"),
        ("/api/v1/sync/fetch", [{"object": "account__v"}], "POST /api/v1/sync/fetch could not be read: 0.id"),
    ],
    ids=["sync-answer", "sync-empty", "fetch-answer"],
)
def test_a_sync_answer_that_cannot_be_read_fails_the_sync_and_changes_nothing(
    world: World, path: str, body: object, named: str
) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    if path == "/api/v1/sync/fetch":  # a record the device lacks, unchanged online, is fetched
        ipad.store.remove(account["id"])
        expected = world.online_record("account__v", account["id"])["phone__v"]
    else:
        expected = "+1 555 0102"
        world.online("PATCH", f"/records/account__v/{account['id']}", json={"fields": {"phone__v": expected}})
    cursor = ipad.store.setting("last_sync_cursor")
    garble(ipad, path, body)
    report = world.sync(ipad)
    assert not report.ok and named in report.message
    (failed,) = world.events("sync_failed", ipad)
    assert named in failed.text
    assert ipad.store.setting("last_sync_cursor") == cursor, "the sync's cursor did not move"
    assert world.sync(ipad).ok, "the next sync reads the server's answer as it is"
    assert ipad.record(account["id"])["phone__v"] == expected


@pytest.mark.rule("AS-27")
def test_a_later_page_of_a_sync_that_cannot_be_read_fails_the_sync(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server_stub import sync

    monkeypatch.setattr(sync, "PAGE_IDS", 5)  # the visible IDs come in several pages
    ipad = world.device("Anna iPad")
    garble(ipad, "/api/v1/sync/page", {"records": [], "visible_ids": {}, "next": {"phase": "later"}})
    report = world.sync(ipad)
    assert not report.ok
    assert "POST /api/v1/sync/page could not be read: next.upto: Field required" in report.message
