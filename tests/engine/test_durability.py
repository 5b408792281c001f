"""Closing or killing a device at any point loses, duplicates and reorders nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from emulator.engine.localstore import LocalStore
from emulator.stage import Stage
from tests.conftest import LoopRunner
from tests.engine.conftest import World, account_of


def phones(world: World, ids: list[str]) -> list[str | None]:
    return [world.online_record("account__v", i).get("phone__v") for i in ids]


@pytest.mark.rule("AS-06")
def test_closing_a_device_mid_drain_and_reopening_it_keeps_the_queue(world: World) -> None:
    ipad = world.device("Anna iPad")
    ids = [a["id"] for a in ipad.records("account__v") if a.get("territory__v") == "T-NE"][:3]
    ipad.set_network("online", latency=timedelta(seconds=10))
    for n, rid in enumerate(ids):
        ipad.save("account__v", rid, {"phone__v": f"durable-{n}"})
    world.settle()
    assert ipad.queue()[0].state == "uploading", "the first upload is on the wire"
    path = ipad.store.path
    ipad = world.run(world.stage.reopen_device(ipad.id))  # the app is closed and started again
    assert ipad.store.path == path
    world.settle()
    assert ipad.queue() == []
    assert phones(world, ids) == ["durable-0", "durable-1", "durable-2"]
    uploaded = [e.record[1] for e in world.events("uploaded") if e.record]
    assert uploaded == ids, "each applied once, in order"


@pytest.mark.rule("AS-06")
def test_a_reply_lost_then_a_restart_is_answered_not_applied_twice(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.inject_fault("reply_lost")
    ipad.save("call2__v", None, {"account__v": account["id"], "call_date__v": "2026-11-26", "notes__v": "x1"})
    world.settle()
    assert len(ipad.queue()) == 1
    ipad = world.run(world.stage.reopen_device(ipad.id))
    world.settle()
    assert len(ipad.queue()) == 1, "the reopened device keeps the retry's backoff"
    world.advance(seconds=5)
    assert ipad.queue() == []
    calls = world.online("GET", "/records?object=call2__v&limit=5000")["records"]
    assert [c["fields"].get("notes__v") for c in calls].count("x1") == 1
    mine = next(c for _, c in ipad.store.records("call2__v") if c.get("notes__v") == "x1")
    assert mine["id"].startswith("V2C"), "the server ID replaced the temporary one"


CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import timedelta
    from pathlib import Path
    from emulator.stage import Stage

    async def main():
        stage = Stage(seed=7, data_dir=Path(sys.argv[1]))
        await stage.start()
        ipad = await stage.add_device("Anna iPad", "anna")
        ids = [a["id"] for a in ipad.records("account__v") if a.get("territory__v") == "T-NE"][:4]
        ipad.set_network("offline")
        for n, rid in enumerate(ids):
            ipad.save("account__v", rid, {"phone__v": f"killed-{n}"})
        ipad.set_network("online", latency=timedelta(seconds=10))
        await stage.settle()
        print(",".join(ids), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until killed

    asyncio.run(main())
    """
)


@pytest.mark.rule("AS-06")
def test_a_device_killed_with_sigkill_reopens_from_its_file_with_nothing_lost(tmp_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as child:
        assert child.stdout is not None
        ids = child.stdout.readline().strip().split(",")
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert len(ids) == 4
    on_disk = LocalStore(tmp_path / "anna-ipad.sqlite")
    assert [i.items[0]["id"] for i in on_disk.queue()] == ids, "durable and in order"
    assert on_disk.queue()[0].state == "uploading", "killed mid-upload"
    on_disk.close()
    loop = LoopRunner()
    stage = Stage(seed=7, data_dir=tmp_path)
    try:
        loop.run(stage.start())
        ipad = loop.run(stage.add_device("Anna iPad", "anna"))
        loop.run(stage.settle())
        assert ipad.queue() == []
        uploaded = [e.record[1] for e in stage.events.events if e.kind == "uploaded" and e.record]
        assert uploaded == ids
        for n, rid in enumerate(ids):
            assert (ipad.record(rid) or {})["phone__v"] == f"killed-{n}"
    finally:
        loop.run(stage.close())
        loop.close()


def test_the_stage_waits_for_a_device_task_only_while_it_works() -> None:
    loop = LoopRunner()
    stage = Stage(seed=1)
    try:
        loop.run(stage.start())
        ipad = loop.run(stage.add_device("Anna iPad", "anna"))
        ipad.set_network("lie-fi")
        ipad.save("account__v", account_of(ipad)["id"], {"phone__v": "parked"})
        loop.run(stage.settle())  # returns although the upload waits 30 s of emulated time
        assert ipad.queue()[0].state == "uploading"
        loop.run(stage.advance(timedelta(seconds=30)))
        assert ipad.queue()[0].state == "waiting"
        assert not any(isinstance(t, asyncio.Task) and not t.done() for t in ipad.busy_tasks())
    finally:
        loop.run(stage.close())
        loop.close()


@pytest.mark.rule("AS-12")
def test_dismissed_notices_stay_dismissed_after_a_restart(world: World) -> None:
    ipad = world.device("Anna iPad")
    ipad.store.notify("Order ORD-000001 was already submitted on another device.", "2026-11-26T09:00:00Z")
    assert [n.text for n in ipad.unread_notices()] == [
        "Order ORD-000001 was already submitted on another device."
    ]
    ipad.dismiss_notices()
    ipad = world.run(world.stage.reopen_device(ipad.id))
    assert ipad.unread_notices() == []
    ipad.store.notify("Newer notice.", "2026-11-26T09:01:00Z")
    assert [n.text for n in ipad.unread_notices()] == ["Newer notice."]
