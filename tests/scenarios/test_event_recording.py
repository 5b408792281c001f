"""Recording from the event stream: the engine driven directly, no window, is recorded all the same.

The steps come from the stage's events, whatever caused them; a refused action emits none and is
not recorded; what the recording wrote replays headless to the same end state.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from emulator.engine.device import ActionRefused
from emulator.scenarios.event_recording import EventRecording
from emulator.scenarios.recorder import Recorder
from emulator.scenarios.runner import run_scenario
from emulator.stage import Stage
from tests.conftest import detached_from_running_loop

HARPER = "V0A000000000001"  # Eleanor Harper, an anna account
PHONE = "+1 617-555-0100"


async def _drive(data_dir: Path) -> tuple[Recorder, list[dict[str, Any]]]:
    """Anna's two iPads, driven through the engine's own calls while the stage is recorded."""
    stage = Stage(seed=3, data_dir=data_dir)
    await stage.start()
    try:
        pro = await stage.add_device("Anna's iPad Pro", "anna", device_id="pro")
        air = await stage.add_device("Anna's iPad Air", "anna", model="iPad Air 2", device_id="air")
        await stage.settle()
        recording = EventRecording.start(stage, title="Driven", rules=["AS-05", "AS-34"])

        air.set_network("offline", latency=timedelta(seconds=2))
        session = air.begin_edit("account__v", HARPER)
        session.set("phone__v", "+1 617-555-0199")
        session.save()
        with pytest.raises(ActionRefused):
            pro.begin_edit("account__v", "no-such-record")  # refused: no event, no step
        pro.open_record("account__v", HARPER)
        session = pro.begin_edit("account__v", HARPER)
        session.set("phone__v", PHONE)
        session.save()
        pro.leave_screen()
        order = pro.begin_edit("order__v")  # a new order with a line: one save (AS-05)
        order.set("account__v", HARPER)
        order.set("order_date__v", "2026-11-26")
        order.add_child("order_line__v", {"product__v": "labrinone__c", "quantity__v": 3})
        order.save()
        await stage.settle()
        await stage.advance(timedelta(seconds=30))
        pro.set_poll_interval(timedelta(seconds=45))
        air.set_network("online", latency=timedelta(0))
        await stage.settle()
        air.dismiss_notices(air.unread_notices()[0].id)
        (error,) = air.sync_errors()
        air.act_on_error(error.id, "undo")  # AS-34: carried out by the next incremental sync
        await stage.complete(air.syncer.run())
        stage.set_xray(False, "air")
        recorder = recording.recorder
        recording.close()
        steps = list(recorder.steps)
        await recorder.finish(stage)
        return recorder, steps
    finally:
        await stage.close()


@pytest.mark.rule("AS-05")
@pytest.mark.rule("AS-34")
def test_the_engine_driven_directly_is_recorded_from_its_events_and_replays(tmp_path: Path) -> None:
    with detached_from_running_loop():
        recorder, steps = asyncio.run(_drive(tmp_path / "stage"))
    assert steps == [
        {"device": "air", "network": "offline", "latency": "2s"},
        {"device": "air", "edit": "harper_eleanor"},
        {"device": "air", "set": {"phone__v": "+1 617-555-0199"}, "then": "save"},
        {"device": "pro", "open": "harper_eleanor"},
        {"device": "pro", "edit": "harper_eleanor"},
        {"device": "pro", "set": {"phone__v": PHONE}, "then": "save"},
        {"device": "pro", "leave": True},
        {"device": "pro", "new": "order__v", "as": "new_order"},
        {
            "device": "pro",
            "set": {"account__v": "@harper_eleanor", "order_date__v": "2026-11-26"},
            "children": [
                {
                    "add": "order_line__v",
                    "set": {"product__v": "labrinone__c", "quantity__v": 3},
                    "as": "new_order_line",
                }
            ],
            "then": "save",
        },
        {"advance": "30s"},
        {"device": "pro", "poll_interval": "45s"},
        {"device": "air", "network": "online", "latency": "0s"},
        {"device": "air", "dismiss": True},
        {"device": "air", "resolve": "harper_eleanor", "how": "undo"},
        {"device": "air", "incremental_sync": True},
        {"device": "air", "xray": False},
    ]
    assert recorder.records["harper_eleanor"].where == {"formatted_name__v": "Harper, Eleanor"}
    result = run_scenario(recorder.scenario())
    assert result.passed, "\n".join(result.failures())
    assert len(result.checks) >= 10


async def _children_and_settings(data_dir: Path) -> tuple[Recorder, list[dict[str, Any]]]:
    """One iPad: a save that edits, adds and removes related records; a delete; its settings."""
    stage = Stage(seed=5, data_dir=data_dir)
    await stage.start()
    try:
        pro = await stage.add_device("Anna's iPad Pro", "anna", device_id="pro")
        await stage.settle()
        recording = EventRecording.start(stage, title="Children and settings")
        (harper_address,) = [r["id"] for r in pro.records("address__v") if r["account__v"] == HARPER]
        (okafor,) = [r["id"] for r in pro.records("account__v") if r.get("last_name__v") == "Okafor"]
        (okafor_address,) = [r["id"] for r in pro.records("address__v") if r["account__v"] == okafor]
        call = next(r for r in pro.records("call2__v") if r.get("status__v") != "submitted__v")

        session = pro.begin_edit("account__v", HARPER)
        session.edit_child(harper_address, {"address_line_1__v": "1 New Street"})  # its title changes
        session.add_child("address__v", {"address_line_1__v": "2 Second Street", "city__v": "Boston"})
        session.save()
        session = pro.begin_edit("account__v", okafor)
        session.remove_child(okafor_address)
        session.submit()
        pro.begin_edit("account__v", okafor).cancel()
        pro.delete("call2__v", call["id"])
        pro.leave_screen()
        # the uploads end before the fault is armed, as they do between the replay's steps: the
        # 503 then meets the same request live and in the replay (the full refresh's download)
        await stage.settle()
        pro.inject_fault("server_error")
        pro.set_feed_page_records(7)
        pro.set_foreground(False)
        pro.set_foreground(True)
        pro.set_traditional(True)
        pro.set_traditional(False)
        await stage.complete(pro.syncer.run(full=True))
        await stage.online("POST", "/content", json={"kind": "clm", "name": "Driven deck", "description": ""})
        await stage.settle()
        recorder = recording.recorder
        recording.close()
        steps = list(recorder.steps)
        await recorder.finish(stage)
        return recorder, steps
    finally:
        await stage.close()


def test_a_save_names_the_related_records_it_changed_or_removed_as_they_were(tmp_path: Path) -> None:
    with detached_from_running_loop():
        recorder, steps = asyncio.run(_children_and_settings(tmp_path / "stage"))
    old_address = "r_55_fruit_street_suite_410"  # named by the line it had, as the replay finds it
    assert steps == [
        {"device": "pro", "edit": "harper_eleanor"},
        {
            "device": "pro",
            "set": {},
            "children": [
                {"edit": old_address, "set": {"address_line_1__v": "1 New Street"}},
                {
                    "add": "address__v",
                    "set": {"address_line_1__v": "2 Second Street", "city__v": "Boston"},
                    "as": "new_address",
                },
            ],
            "then": "save",
        },
        {"device": "pro", "edit": "okafor_chinedu"},
        {"device": "pro", "set": {}, "children": [{"remove": "r_593_eddy_street"}], "then": "submit"},
        {"device": "pro", "edit": "okafor_chinedu"},
        {"device": "pro", "cancel": True},
        {"device": "pro", "delete": "c_000003"},
        {"device": "pro", "leave": True},
        {"device": "pro", "fault": "server_error"},
        {"device": "pro", "feed_page_size": 7},
        {"device": "pro", "app": "background"},
        {"device": "pro", "app": "foreground"},
        {"device": "pro", "sync_mode": "traditional"},
        {"device": "pro", "sync_mode": "autosync"},
        {"device": "pro", "full_refresh": True},
        {"publish_content": {"kind": "clm", "name": "Driven deck"}},  # an online change, its own event
    ]
    assert recorder.records[old_address].where == {"address_line_1__v": "55 Fruit Street, Suite 410"}
    assert recorder.records["r_593_eddy_street"].where == {"address_line_1__v": "593 Eddy Street"}, "removed"
    assert recorder.records["c_000003"].where == {"name__v": "C-000003"}, "deleted: named as it was"
    result = run_scenario(recorder.scenario())
    assert result.passed, "\n".join(result.failures())
