"""Playing scenarios headless: the whole library passes, runs replay exactly, failures are named."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulator.scenarios.loader import library_dir, load_scenario, parse_scenario
from emulator.scenarios.runner import ScenarioResult
from emulator.scenarios.runner import play as play_scenario
from tests.conftest import detached_from_running_loop
from tests.scenarios.conftest import play

LIBRARY = sorted(library_dir().glob("*.yaml"))


def _case(path: Path) -> object:
    rules = load_scenario(path).rules
    return pytest.param(path, id=path.stem, marks=[pytest.mark.rule(r) for r in rules])


@pytest.mark.parametrize("path", [_case(p) for p in LIBRARY])
def test_every_library_scenario_passes(path: Path) -> None:
    result = play(load_scenario(path))
    assert result.passed, "\n".join(result.failures())
    assert result.checks, "a library scenario proves something"


@pytest.mark.rule("AS-23")
def test_a_scenario_replays_to_the_identical_event_stream() -> None:
    path = library_dir() / "as21_23_25_open_record_waits.yaml"
    first, second = play(load_scenario(path)), play(load_scenario(path))
    assert first.event_stream() == second.event_stream()
    assert len(first.event_stream()) > 20
    assert play(load_scenario(path), seed=7).passed, "another seed tells the same story"


HEAD = """\
title: Runner test
devices:
  - {id: pro, name: Pro, user: anna}
  - {id: air, name: Air, user: anna, model: iPad Air 2}
records:
  harper: {object: account__v, where: {last_name__v: Harper}}
steps:
"""  # steps start on line 8


def test_a_failed_check_names_its_line_and_what_was_seen_and_the_run_goes_on() -> None:
    result = play(
        HEAD
        + """\
  - device: pro
    edit: harper
    set: {phone__v: "111"}
    then: save
    expect:
      - {record: harper, at: online, fields: {phone__v: "222"}}
      - {queue: pro, count: 0}
  - advance: 30s
    expect:
      - {record: harper, at: air, fields: {phone__v: "111"}}
"""
    )
    assert not result.passed and result.error is None
    assert [c.passed for c in result.checks] == [False, True, True]
    (failure,) = result.failures()
    assert failure == "test.yaml:13: harper online: phone__v = '222'; but phone__v is '111'"


def test_an_unexpected_refusal_stops_the_run_but_an_expected_one_passes() -> None:
    result = play(
        HEAD
        + """\
  - device: pro
    edit: harper
    expect:
      - {device: pro, screen: edit}
  - device: pro
    edit: harper
    say: A second edit screen cannot be opened.
    expect:
      - {refused: already open}
  - device: pro
    open: harper
  - say: never reached
"""
    )
    assert [s.ok for s in result.steps] == [True, True, False]
    assert result.steps[1].passed
    assert result.error is not None and "Save or cancel" in result.error
    assert result.failures() == ["test.yaml:17: step 3: refused: Save or cancel the edit screen first."]


def test_a_record_that_cannot_be_found_stops_the_run() -> None:
    result = play(
        HEAD
        + """\
  - device: pro
    open: {object: account__v, where: {last_name__v: Nobody}}
"""
    )
    assert not result.passed
    assert "is not there on pro" in result.steps[0].message


@pytest.mark.rule("AS-14")
def test_names_follow_a_record_from_its_temporary_id_to_the_servers() -> None:
    result = play(
        HEAD
        + """\
  - device: pro
    network: offline
  - device: pro
    new: call2__v
    as: call
    set: {account__v: "@harper", call_date__v: today}
    then: save
    expect:
      - {record: call, at: pro, fields: {id: {starts_with: tmp-pro-}, call_date__v: "2026-11-26"}}
  - device: pro
    network: online
    expect:
      - {record: call, at: pro, fields: {id: {starts_with: V2C}}}
      - {record: call, at: online, fields: {account__v: "@harper"}}
  - advance: 30s
    expect:
      - {record: call, at: air}
"""
    )
    assert result.passed, result.failures()


@pytest.mark.rule("AS-27")
def test_a_step_over_a_slow_network_takes_emulated_time_instead_of_hanging() -> None:
    source = (
        HEAD
        + """\
  - online_edit: harper
    set: {phone__v: "+1 617-555-0800"}
  - {device: pro, network: online, latency: 3s}
  - device: pro
    incremental_sync:
    expect:
      - {record: harper, at: pro, fields: {phone__v: "+1 617-555-0800"}}
  - {device: air, network: online, latency: 2s}
  - device: air
    poll:
"""
    )
    scenario = parse_scenario(source, source="test.yaml")

    async def bounded() -> ScenarioResult:  # a regression would wait forever: fail instead
        return await asyncio.wait_for(play_scenario(scenario), timeout=60)

    with detached_from_running_loop():
        result = asyncio.run(bounded())
    assert result.passed, "\n".join(result.failures())
    synced, polled = result.steps[2], result.steps[4]
    started = result.steps[1].time
    assert synced.time - started >= timedelta(seconds=3)  # each request paid its latency
    assert polled.time - synced.time >= timedelta(seconds=2)


def test_a_scenario_that_starts_later_plays_at_that_time_with_dates_relative_to_it() -> None:
    source = HEAD.replace("devices:", "start: 2026-12-24T15:00:00Z\ndevices:", 1) + (
        """\
  - device: pro
    new: call2__v
    as: visit
    set: {account__v: "@harper", call_date__v: today}
    then: save
    expect:
      - {record: visit, at: online, fields: {call_date__v: "2026-12-24"}}
  - {advance: 30s}
"""
    )
    result = play(source)
    assert result.passed, "\n".join(result.failures())
    assert result.steps[0].time == datetime(2026, 12, 24, 15, 0, tzinfo=UTC)
    assert result.events[0].time == datetime(2026, 12, 24, 15, 0, tzinfo=UTC)
