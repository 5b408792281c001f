"""Issue 11: long work yields to the event loop, and its cost per item does not grow with its size.

Turns and statements are counted, never milliseconds: an in-process answer comes at once, so
without explicit yields a drain or a merge would hold the loop (and the window) to the end.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from emulator.engine.device import Device
from emulator.engine.feedpoller import STAGE_BATCH
from emulator.engine.localstore import LocalStore, QueueItem
from tests.engine.conftest import World, account_of


async def _with_turns(work: Awaitable[Any]) -> int:
    """Run ``work`` while a task counts the loop's turns; returns the count."""
    turns = 0
    done = asyncio.Event()

    async def tick() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    ticker = asyncio.ensure_future(tick())
    try:
        await work
    finally:
        done.set()
        await ticker
    return turns


def _queue_offline(ipad: Device, count: int) -> None:
    ipad.set_network("offline")
    account = account_of(ipad)["id"]
    for k in range(count):
        ipad.save("account__v", account, {"phone__v": f"+1 555 {k:05d}"})


def test_the_loop_gets_a_turn_for_every_item_a_long_queue_drains(world: World) -> None:
    pro = world.device("Anna's iPad Pro")
    _queue_offline(pro, 60)
    pro.set_network("online")
    turns = world.run(_with_turns(world.stage.settle()))
    assert pro.store.queue_length() == 0
    assert turns >= 60


def test_the_loop_gets_a_turn_for_every_feed_entry_merged(world: World) -> None:
    pro = world.device("Anna's iPad Pro")
    air = world.device("Anna's iPad Air")
    air.set_network("offline")
    account = account_of(pro)["id"]
    for k in range(60):
        pro.save("account__v", account, {"phone__v": f"+1 555 {k:05d}"})
    world.settle()
    air.set_network("online")
    turns = world.run(_with_turns(air.poller.poll()))
    world.settle()
    assert air.record(account)["phone__v"] == "+1 555 00059"
    assert turns >= 60


def test_a_feed_page_is_staged_a_few_entries_per_turn(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page of a hundred entries staged in one turn froze the window for tens of milliseconds."""
    pro = world.device("Anna's iPad Pro")
    air = world.device("Anna's iPad Air")
    air.set_network("offline")
    account = account_of(pro)["id"]
    for k in range(60):
        pro.save("account__v", account, {"phone__v": f"+1 555 {k:05d}"})
    world.settle()
    turn = 0
    staged_in_turn: Counter[int] = Counter()
    stage = LocalStore.stage

    def noting(store: LocalStore, seq: int, part: dict[str, Any], now: str) -> dict[str, Any]:
        staged_in_turn[turn] += 1
        return stage(store, seq, part, now)

    monkeypatch.setattr(LocalStore, "stage", noting)

    async def poll_counting_turns() -> None:
        nonlocal turn
        polling = asyncio.ensure_future(air.poller.poll())
        while not polling.done():
            turn += 1
            await asyncio.sleep(0)
        await polling

    air.set_network("online")
    world.run(poll_counting_turns())
    assert sum(staged_in_turn.values()) == 60, "one page: every entry staged"
    assert max(staged_in_turn.values()) <= STAGE_BATCH < 60, staged_in_turn


@pytest.fixture
def counted(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Statements run, and queue rows read (as ORM objects or as re-applied edits), on every store."""
    seen = {"statements": 0, "queue_rows": 0}
    edits_of = LocalStore.queued_edits_of

    def counted_edits(store: LocalStore, record_ids: Any) -> list[dict[str, Any]]:
        edits = edits_of(store, record_ids)
        seen["queue_rows"] += len(edits)
        return edits

    monkeypatch.setattr(LocalStore, "queued_edits_of", counted_edits)

    def statement(*_args: object) -> None:
        seen["statements"] += 1

    def loaded(*_args: object) -> None:
        seen["queue_rows"] += 1

    event.listen(QueueItem, "load", loaded)
    listening: list[Any] = []
    original = world.device

    def device(name: str, user: str = "anna", **profile: Any) -> Device:
        ipad = original(name, user, **profile)
        event.listen(ipad.store.engine, "before_cursor_execute", statement)
        listening.append(ipad.store.engine)
        return ipad

    world.device = device  # type: ignore[method-assign]
    yield seen
    event.remove(QueueItem, "load", loaded)
    for engine in listening:
        event.remove(engine, "before_cursor_execute", statement)


def test_an_answer_touches_only_the_queue_items_that_reference_its_records(
    world: World, counted: dict[str, int]
) -> None:
    """Draining ten times as many items costs about ten times the statements, not a hundred.

    Each item creates its own account, so no item references another's records: an answer must
    read only its own item, never the rest of the queue. (Later edits of the *same* record are
    read, and must be: they are re-applied on top of the server's answer.)
    """
    per_item = {}
    for size in (20, 200):
        ipad = world.device(f"iPad {size}")
        ipad.set_network("offline")
        for k in range(size):
            new = {"account_type__v": "hcp__v", "last_name__v": f"Queued {k}", "territory__v": "T-NE"}
            ipad.save("account__v", None, new)
        counted.update(statements=0, queue_rows=0)
        ipad.set_network("online")
        world.settle()
        assert ipad.store.queue_length() == 0
        per_item[size] = (counted["statements"] / size, counted["queue_rows"] / size)
    small, large = per_item[20], per_item[200]
    assert large[0] <= small[0] * 1.25, f"statements per item grew: {small[0]:.1f} -> {large[0]:.1f}"
    rows = f"{small[1]:.1f} -> {large[1]:.1f}"
    assert large[1] <= small[1] * 1.25 + 1, f"queue rows loaded per item grew: {rows}"


parts = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=6),  # the entry's sequence number
        st.sets(st.sampled_from(["A1", "A2", "C1", "C2", "O1"]), max_size=3),  # records of the part
        st.booleans(),  # unstage the entry afterwards
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(parts)
def test_the_index_of_staged_records_always_names_what_the_staged_entries_carry(
    tmp_path_factory: pytest.TempPathFactory, steps: list[tuple[int, set[str], bool]]
) -> None:
    """AS-30's "update waiting" state reads an index; it must agree with the entries themselves."""
    store = LocalStore(Path(tmp_path_factory.mktemp("staged")) / "device.sqlite")
    try:
        for seq, ids, unstage in steps:
            held = next((e.entry for e in store.staged() if e.seq == seq), {"records": []})
            part = {
                "first_record": len(held.get("records", [])),
                "records": [{"id": i, "object": "account__v"} for i in sorted(ids)],
                "deleted": [{"id": "D" + i, "object": "account__v"} for i in sorted(ids)[:1]],
            }
            store.stage(seq, part, "now")
            if unstage:
                store.unstage(seq)
            carried = {
                str(r["id"])
                for entry in store.staged()
                for r in [*entry.entry.get("records", []), *entry.entry.get("deleted", [])]
            }
            assert store.staged_record_ids() == carried
            assert store.staged_count() == len(store.staged())
    finally:
        store.engine.dispose()
