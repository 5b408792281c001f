"""Random interleavings of saves, network and background toggles, clock jumps and polls.

After every queue drains and every device syncs: every device agrees with the server, no upload
is lost or applied twice, and each device's uploads reached the server in its FIFO order.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.engine.device import ActionRefused, Device
from tests.engine.conftest import World

DEVICES = 3  # two iPads of anna, one of ben (same territory: shared accounts)
TERMINAL = {"uploaded", "rejected", "duplicated", "discarded_online"}

actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("edit"),
            st.integers(0, DEVICES - 1),
            st.integers(0, 2),
            st.sampled_from(["phone__v", "email__v"]),
            st.integers(0, 3),
        ),
        st.tuples(st.just("call"), st.integers(0, DEVICES - 1)),
        st.tuples(
            st.just("network"), st.integers(0, DEVICES - 1), st.sampled_from(["online", "offline", "lie-fi"])
        ),
        st.tuples(st.just("foreground"), st.integers(0, DEVICES - 1), st.booleans()),
        st.tuples(
            st.just("fault"),
            st.integers(0, DEVICES - 1),
            st.sampled_from(["reply_lost", "server_error", "timeout"]),
        ),
        st.tuples(st.just("advance"), st.sampled_from([1, 5, 30, 300])),
        st.tuples(st.just("poll"), st.integers(0, DEVICES - 1)),
    ),
    min_size=1,
    max_size=25,
)


def perform(world: World, ipads: list[Device], action: tuple[Any, ...], counter: list[int]) -> None:
    kind = action[0]
    if kind == "edit":
        _, d, a, field, value = action
        account = [r for r in ipads[d].records("account__v") if r.get("territory__v") == "T-NE"][a]
        ipads[d].save("account__v", account["id"], {field: f"{field}-{value}-{d}"})
    elif kind == "call":
        counter[0] += 1
        account = next(r for r in ipads[action[1]].records("account__v") if r.get("territory__v") == "T-NE")
        ipads[action[1]].save(
            "call2__v",
            None,
            {"account__v": account["id"], "call_date__v": "2026-11-26", "notes__v": f"call-{counter[0]}"},
        )
    elif kind == "network":
        ipads[action[1]].set_network(action[2])
    elif kind == "foreground":
        ipads[action[1]].set_foreground(action[2])
    elif kind == "fault":
        ipads[action[1]].inject_fault(action[2])
    elif kind == "advance":
        world.advance(seconds=action[1])
    elif kind == "poll" and ipads[action[1]].autosync_active:
        ipads[action[1]].spawn(ipads[action[1]].poller.poll())
    world.settle()


def drain_and_sync(world: World, ipads: list[Device]) -> None:
    for ipad in ipads:
        ipad.set_network("online")
        ipad.set_foreground(True)
        ipad.conditions.faults.clear()
    for _ in range(20):
        world.advance(minutes=5)
        if all(not i.queue() for i in ipads):
            break
    for ipad in ipads:
        for error in ipad.sync_errors():  # AS-34: Undo, or Undelete; the sync carries it out
            ipad.act_on_error(error.id, ipad.error_actions(error)[0])
    for ipad in ipads:
        report = world.sync(ipad)
        assert report.ok, report.message
    world.advance(seconds=30)


@pytest.mark.rule("AS-06")
@pytest.mark.rule("AS-07")
@pytest.mark.rule("AS-28")
@pytest.mark.slow
@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(script=actions)
def test_every_device_converges_and_no_upload_is_lost_duplicated_or_reordered(
    script: list[tuple[Any, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        world = World(Path(folder))
        try:
            ipads = [
                world.device("Anna Pro"),
                world.device("Anna Air", model="iPad Air 2"),
                world.device("Ben iPad", "ben"),
            ]
            counter = [0]
            for action in script:
                with contextlib.suppress(ActionRefused):  # a refused action is a valid outcome
                    perform(world, ipads, action, counter)
            drain_and_sync(world, ipads)
            check(world, ipads, counter[0])
        finally:
            world.close()


def check(world: World, ipads: list[Device], calls_made: int) -> None:
    assert all(not i.queue() and not i.sync_errors() for i in ipads)
    queued: dict[str, list[str]] = defaultdict(list)
    terminal: dict[str, list[str]] = defaultdict(list)
    for event in world.stage.events.events:
        txn = event.data.get("transaction_id")
        if event.kind == "queued":
            queued[event.actor].append(txn)
        elif event.kind in TERMINAL and txn:
            terminal[event.actor].append(txn)
    for actor, txns in queued.items():
        assert terminal[actor] == txns, f"{actor}: every upload answered once, in FIFO order"
    online_calls = world.online("GET", "/records?object=call2__v&limit=5000")["records"]
    notes = [c["fields"].get("notes__v") for c in online_calls]
    for n in range(1, calls_made + 1):
        assert notes.count(f"call-{n}") == 1, f"call-{n} applied exactly once"
    for object_name in ("account__v", "call2__v"):
        online = {
            r["id"]: r["fields"]
            for r in world.online("GET", f"/records?object={object_name}&limit=5000")["records"]
        }
        for ipad in ipads:
            for record in ipad.records(object_name):
                assert record == online[record["id"]], f"{ipad.id} agrees with the server on {record['id']}"
    anna_pro, anna_air = ipads[0], ipads[1]
    assert {r["id"] for r in anna_pro.records("call2__v")} == {r["id"] for r in anna_air.records("call2__v")}
