"""Recording: a session done on a stage, written as a scenario, replays to the same end state."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from emulator.scenarios.checks import RecordCheck
from emulator.scenarios.loader import load_scenario
from emulator.scenarios.model import DeviceSpec
from emulator.scenarios.recorder import Recorder
from emulator.scenarios.runner import run_scenario
from emulator.stage import Stage
from tests.conftest import detached_from_running_loop


async def _session(data_dir: Path) -> tuple[Recorder, str]:
    """What a trainer might click, told to the recorder the way the GUI tells it."""
    stage = Stage(seed=3, data_dir=data_dir)
    await stage.start()
    try:
        await stage.add_device("Anna's iPad Pro", "anna", device_id="pro")
        air = await stage.add_device("Anna's iPad Air", "anna", model="iPad Air 2", device_id="air")
        pro = stage.devices["pro"]
        await stage.settle()
        recorder = Recorder.for_stage(stage, title="A recorded conflict", rules=["AS-07"])
        (row,) = [r for r in pro.records("account__v") if r.get("last_name__v") == "Harper"]
        harper = recorder.name("account__v", {"last_name__v": "Harper"}, row["id"])

        air.set_network("offline")
        recorder.record({"device": "air", "network": "offline", "say": "The Air goes offline."})
        session = pro.begin_edit("account__v", row["id"])
        session.set("phone__v", "+1 617-555-0100")
        session.save()
        recorder.record(
            {"device": "pro", "edit": harper, "set": {"phone__v": "+1 617-555-0100"}, "then": "save"}
        )
        await stage.settle()
        session = air.begin_edit("account__v", row["id"])
        session.set("phone__v", "+1 617-555-0199")
        session.save()
        recorder.record({"device": "air", "edit": harper})
        recorder.record({"device": "air", "set": {"phone__v": "+1 617-555-0199"}})
        recorder.record({"device": "air", "save": True})
        session = pro.begin_edit("call2__v")
        visit_id = session.record_id
        values = {"account__v": row["id"], "call_date__v": "2026-11-26", "notes__v": "Recorded visit"}
        for name, value in values.items():
            session.set(name, value)
        session.save()
        recorder.record(
            {
                "device": "pro",
                "new": "call2__v",
                "as": "visit",
                "set": {**values, "account__v": f"@{harper}"},
                "then": "save",
            }
        )
        recorder.bind("visit", "call2__v", visit_id)
        await stage.settle()
        air.set_network("online")
        recorder.record({"device": "air", "network": "online"})
        await stage.settle()
        await stage.advance(timedelta(seconds=30))
        recorder.record({"advance": "30s"})
        await recorder.finish(stage)
        return recorder, harper
    finally:
        await stage.close()


@pytest.mark.rule("AS-07")
def test_a_recorded_session_replays_headless_to_the_same_end_state(tmp_path: Path) -> None:
    with detached_from_running_loop():
        recorder, _harper = asyncio.run(_session(tmp_path / "stage"))
    path = tmp_path / "recorded.yaml"
    path.write_text(recorder.to_yaml(), encoding="utf-8")

    scenario = load_scenario(path)
    final = scenario.steps[-1]
    described = [c.describe() for c in final.expect]
    assert "sync errors on air: count 1" in described
    records = [c for c in final.expect if isinstance(c, RecordCheck)]
    assert any(c.state == "sync_error" for c in records)
    assert any(c.record == "visit" and c.at == "online" for c in records)
    assert {c.at for c in records} == {"pro", "air", "online"}

    result = run_scenario(scenario)
    assert result.passed, "\n".join(result.failures())
    assert len(result.checks) == len(final.expect) >= 10


def test_a_recorder_names_records_once_and_refuses_steps_after_finishing() -> None:
    recorder = Recorder([DeviceSpec("pro", "Pro", "anna")])
    first = recorder.name("account__v", {"last_name__v": "Harper"})
    assert first == "harper"
    assert recorder.name("account__v", {"last_name__v": "Harper"}) == first
    assert recorder.name("account__v", {"first_name__v": "Harper"}) == "harper_2"
    assert recorder.name("account__v", {"formatted_name__v": "Harper, Eleanor"}) == "harper_eleanor"
    assert recorder.name("account__v", {"id": "V0A000000000001"}) == "v0a000000000001"
    recorder.record({"open": first})
    scenario = recorder.scenario()
    assert scenario.steps[0].device == "pro"
    recorder.finished = True
    with pytest.raises(RuntimeError):
        recorder.record({"leave": True})
