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


def failures_by_line(result: ScenarioResult) -> dict[int, str]:
    """Each failed check's line and what the runner saw instead (``FILE:LINE: check; but SEEN``)."""
    out = {}
    for failure in result.failures():
        where, _, message = failure.partition(": ")
        out[int(where.rsplit(":", 1)[1])] = message.split("; but ", 1)[-1]
    return out


@pytest.mark.rule("AS-33")
def test_a_sync_widget_check_fails_when_the_widget_shows_something_else() -> None:
    result = play(
        HEAD
        + """\
  - {device: pro, network: offline}
  - device: pro
    edit: harper
    set: {phone__v: "111"}
    then: save
  - device: pro
    new: order__v
    set: {account__v: "@harper", order_date__v: today}
    children:
      - {add: order_line__v, set: {product__v: labrinone__c, quantity__v: 1, list_price__v: 1.0}}
    then: save
    expect:
      - {sync_widget: pro, state: pending, pending: 1, colour: orange, errors: 0, remind: no, days_since: 0}
      - {sync_widget: pro, state: up_to_date}
      - {sync_widget: pro, pending: 2}
      - {sync_widget: pro, colour: red}
      - {sync_widget: pro, errors: 1}
      - {sync_widget: pro, remind: true}
      - {sync_widget: pro, days_since: 1}
      - {sync_widget: air, state: pending}
"""
    )
    assert result.error is None
    assert failures_by_line(result) == {  # the first check holds: the order is not counted
        21: "state is 'pending'",
        22: "pending is 1",
        23: "colour is 'orange'",
        24: "errors is 0",
        25: "remind is False",
        26: "days_since is 0",
        27: "state is 'up_to_date'",
    }


@pytest.mark.rule("AS-34")
def test_notice_and_errors_tab_checks_fail_when_the_app_shows_something_else() -> None:
    result = play(
        HEAD
        + """\
  - {device: air, network: offline}
  - {device: pro, edit: harper, set: {phone__v: "100"}, then: save}
  - {device: air, edit: harper, set: {phone__v: "199"}, then: save}
  - device: air
    network: online
    expect:
      - {notice: air, kind: sync_error, unread: 1, count: 1, text: could not be saved online}
      - {notice: air, kind: discarded, unread: 1}
      - {notice: air, kind: reminder, count: 1}
      - {notice: air, text: discarded}
      - {sync_errors: air, record: harper, actions: [undo], requested: nothing}
      - {sync_errors: air, actions: [clear]}
      - {sync_errors: air, actions: [undelete]}
      - {sync_errors: air, requested: undo}
      - {sync_errors: pro, actions: [undo]}
  - device: air
    dismiss:
    expect:
      - {notice: air, unread: 0}
      - {notice: air, unread: 1}
  - device: air
    resolve: harper
    how: clear
    say: Clear is not offered while no upload waits for the record.
    expect:
      - {refused: use Undo}
  - device: air
    dismiss:
    expect:
      - {refused: no message}
  - device: air
    resolve: harper
    how: undo
    expect:
      - {sync_errors: air, requested: undo}
      - {sync_errors: air, requested: nothing}
      - {record: harper, at: air, fields: {phone__v: "100"}}
  - device: air
    incremental_sync:
    expect:
      - {record: harper, at: air, fields: {phone__v: "100"}}
      - {sync_errors: air, count: 1}
"""
    )
    assert result.error is None, result.error
    assert failures_by_line(result) == {
        15: "0 unread: []",
        16: "there are 0: []",
        17: "the notices are ['Sync error: 1 record could not be saved online. "
        "Open the Errors tab to deal with it.']",
        19: "the Errors tab offers [['undo']]",
        20: "the Errors tab offers [['undo']]",
        21: "requested: ['nothing']",
        22: "there is no sync error to act on",
        27: "0 unread: []",
        43: "requested: ['undo']",
        44: "phone__v is '199'",  # Undo waits for the next incremental sync
        49: "there are 0: []",
    }


@pytest.mark.rule("AS-36")
def test_a_refresh_check_fails_when_refresh_mode_is_elsewhere() -> None:
    result = play(
        HEAD.replace("devices:", "start: 2026-11-26T23:59:00Z\ndevices:", 1)
        + """\
  - sync_settings: {user: anna, refresh_mode: on}
    expect:
      - {refresh: pro, state: idle}
  - device: pro
    incremental_sync:
    expect:
      - {refresh: pro, state: idle}
      - {refresh: air, state: off}
      - {refresh: pro, colour: blue}
  - device: pro
    apply_update:
    expect:
      - {refused: no update to apply}
      - {refresh: pro, state: off}
  - advance: 1m
    expect:
      - {refresh: pro, state: ready, colour: blue}
      - {refresh: pro, colour: orange}
      - {refresh: air, state: ready}
  - device: pro
    apply_update:
    expect:
      - {refresh: pro, state: idle}
      - {refresh: pro, state: ready}
"""
    )
    assert result.error is None, result.error
    assert failures_by_line(result) == {
        11: "state is 'off'",  # the iPad reads the setting only at its next incremental sync
        17: "colour is None",
        22: "state is 'idle'",
        26: "colour is 'blue'",
        27: "state is 'off'",  # the Air never read the setting
        32: "state is 'idle'",
    }


@pytest.mark.rule("AS-30")
def test_the_xray_step_switches_the_view_and_a_device_check_fails_when_it_differs() -> None:
    result = play(
        HEAD
        + """\
  - say: The X-ray view starts on.
    expect:
      - {device: pro, xray: on}
      - {device: pro, xray: off}
  - device: pro
    xray: off
    expect:
      - {device: pro, xray: off}
      - {device: air, xray: on}
      - {device: air, xray: off}
  - xray: off
    expect:
      - {device: air, xray: off}
      - {device: pro, xray: on}
  - xray: on
    expect:
      - {device: pro, xray: on, blocked: false}
      - {device: pro, blocked: true}
"""
    )
    assert result.error is None, result.error
    assert failures_by_line(result) == {
        11: "xray is True",
        17: "xray is True",
        21: "xray is False",
        25: "blocked is False",
    }
    assert [e.data["on"] for e in result.events if e.kind == "xray"] == [False, False, True]


@pytest.mark.rule("AS-35")
def test_an_incremental_sync_offline_or_in_the_background_fails_and_says_so() -> None:
    result = play(
        HEAD
        + """\
  - online_edit: harper
    set: {phone__v: "+1 617-555-0800"}
  - {device: pro, network: offline}
  - device: pro
    incremental_sync:
    expect:
      - {event: sync_failed, at: pro, text: offline}
      - {event: sync_finished, at: pro}
      - {record: harper, at: pro, fields: {phone__v: "+1 617-555-0800"}}
  - {device: pro, network: online}
  - {device: pro, app: background}
  - device: pro
    incremental_sync:
    expect:
      - {event: sync_failed, at: pro, text: background}
  - {device: pro, app: foreground}
  - device: pro
    incremental_sync:
    expect:
      - {event: sync_finished, at: pro}
      - {event: sync_failed, at: pro}
      - {record: harper, at: pro, fields: {phone__v: "+1 617-555-0800"}}
      - {device: pro, blocked: false}
      - {sync_widget: pro, state: up_to_date, days_since: 0}
"""
    )
    assert result.error is None, result.error
    assert failures_by_line(result) == {
        15: "there was none",
        16: "phone__v is '+1 617-555-0142'",
        28: "there was none",
    }
    synced = next(s for s in result.steps if s.step.line == 24)
    assert synced.time - result.steps[0].time >= timedelta(seconds=2), "a sync takes emulated time"


@pytest.mark.rule("AS-37")
def test_full_refresh_steps_and_an_admins_forced_refresh_take_effect_at_the_next_sync() -> None:
    result = play(
        HEAD
        + """\
  - force_full_refresh: anna
    expect:
      - {event: sync_finished, at: pro}
  - device: pro
    incremental_sync:
    expect:
      - {event: sync_finished, at: pro, text: Full database refresh finished}
  - device: pro
    incremental_sync:
    expect:
      - {event: sync_finished, at: pro, text: Full database refresh finished}
  - device: air
    incremental_sync:
    expect:
      - {event: sync_finished, at: air, text: Full database refresh finished}
  - device: air
    full_refresh:
    expect:
      - {event: sync_finished, at: air, text: Full database refresh finished}
      - {event: sync_finished, at: air, text: Incremental sync finished}
"""
    )
    assert result.error is None, result.error
    seen = failures_by_line(result)
    assert sorted(seen) == [10, 18, 27]
    assert seen[10] == "there was none", "the command waits for the iPad's next incremental sync"
    assert seen[18].startswith("there was none (of that kind: ['Incremental sync finished"), "it runs once"
    assert seen[27].startswith("there was none (of that kind: ['Full database refresh finished")


@pytest.mark.rule("AS-33")
def test_sync_settings_reach_the_ipad_at_its_incremental_sync() -> None:
    warn = """\
  - sync_settings: {user: anna, sync_warn_interval_days: 1}
  - {device: pro, incremental_sync: }
  - {device: pro, network: offline}
  - {device: pro, edit: harper, set: {phone__v: "111"}, then: save}
  - advance: 1d 1s
    expect:
      - {sync_widget: pro, state: pending, colour: red}
"""
    assert play(HEAD + warn).passed
    without_sync = play(HEAD + warn.replace("  - {device: pro, incremental_sync: }\n", ""))
    assert without_sync.failures() == [
        "test.yaml:13: the Sync widget on pro: state 'pending', colour 'red'; but colour is 'orange'"
    ]


@pytest.mark.rule("AS-34")
def test_resolving_a_record_without_a_sync_error_stops_the_run() -> None:
    result = play(HEAD + "  - {device: pro, resolve: harper, how: undo}\n  - say: never reached\n")
    assert [s.ok for s in result.steps] == [False]
    assert result.failures() == ["test.yaml:8: step 1: pro has no sync error for harper"]


@pytest.mark.rule("AS-21")
@pytest.mark.rule("AS-34")
def test_a_check_naming_a_record_or_a_kind_fails_when_there_is_none() -> None:
    result = play(
        HEAD
        + """\
  - say: Nothing has happened yet.
    expect:
      - {sync_errors: pro, record: harper}
      - {sync_errors: pro, record: harper, count: 0}
      - {waiting: air, record: harper}
      - {waiting: air, record: harper, count: 0}
      - {notice: pro, kind: sync_error}
      - {notice: pro, kind: sync_error, count: 0}
  - {device: pro, edit: harper, set: {last_name__v: ""}, then: save}
  - say: Now there is a sync error, and its message.
    expect:
      - {sync_errors: pro, record: harper}
      - {notice: pro, kind: sync_error}
      - {notice: pro, kind: discarded}
"""
    )
    assert failures_by_line(result) == {
        10: "there is no sync error for it",
        12: "nothing waits for it",
        14: "there is no sync_error message",
        21: "there is no discarded message",
    }


def test_a_device_whose_user_the_server_lacks_stops_the_run_with_the_devices_line() -> None:
    """A scenario read for a standalone server names a user this server does not have."""
    zed = HEAD.replace("{id: air, name: Air, user: anna,", "{id: air, name: Air, user: zed,")
    result = play(parse_scenario(zed + "  - say: never reached\n", source="test.yaml", embedded=False))
    assert result.steps == [] and not result.passed
    assert result.failures() == ["test.yaml:4: air cannot join the stage: no user 'zed' on the server"]

    later = zed.replace("model: iPad Air 2}", "model: iPad Air 2, later: true}")
    result = play(
        parse_scenario(later + "  - {device: air, join: }\n  - say: never reached\n", embedded=False)
    )
    assert [s.ok for s in result.steps] == [False]
    assert result.failures() == [
        "<scenario>:8: step 1: air cannot join the stage: no user 'zed' on the server"
    ]
