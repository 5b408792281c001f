"""The checks QA asked for: each passes when the emulator does it, and fails, saying what it saw, when not.

The order of events and of the uploads the server answered, a sync error's previous / online /
new values, exact match counts, child record counts, and ``never:`` over a window of steps or
of emulated time.
"""

from __future__ import annotations

import pytest

from emulator.scenarios.checks import NeverCheck
from emulator.scenarios.loader import ScenarioFileError, parse_scenario
from emulator.scenarios.runner import ScenarioResult
from tests.scenarios.conftest import play

HEAD = """\
title: Check test
devices:
  - {id: pro, name: Pro, user: anna}
  - {id: air, name: Air, user: anna, model: iPad Air 2}
records:
  harper: {object: account__v, where: {last_name__v: Harper}}
steps:
"""  # steps start on line 8
ORDER = """\
  - device: pro
    new: order__v
    as: order
    set: {account__v: "@harper", order_date__v: today}
    children:
      - {add: order_line__v, set: {product__v: labrinone__c, quantity__v: 1, list_price__v: 120.0}}
      - {add: order_line__v, set: {product__v: verbacept__c, quantity__v: 2, list_price__v: 95.0}}
    then: save
"""  # lines 8 to 15


def failures_by_line(result: ScenarioResult) -> dict[int, str]:
    """Each failed check's line and what the runner saw instead (``FILE:LINE: check; but SEEN``)."""
    assert result.error is None, result.error
    out = {}
    for failure in result.failures():
        where, _, message = failure.partition(": ")
        out[int(where.rsplit(":", 1)[1])] = message.split("; but ", 1)[-1]
    return out


def checked_lines(result: ScenarioResult) -> list[list[int]]:
    """The lines of the checks told with each step."""
    return [[c.check.line for c in s.checks] for s in result.steps]


@pytest.mark.rule("AS-06")
def test_an_uploads_check_passes_only_for_these_records_in_the_order_the_server_answered() -> None:
    result = play(
        HEAD
        + """\
  - {device: pro, network: offline}
  - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
  - device: pro
    new: call2__v
    as: visit
    set: {account__v: "@harper", call_date__v: today}
    then: save
  - device: pro
    network: online
    expect:
      - {uploads: [harper, visit]}
      - {uploads: [harper, visit], at: pro}
      - {uploads: [], at: air}
      - {uploads: [visit, harper]}
      - {uploads: [harper]}
  - say: Nothing was uploaded in this step.
    expect:
      - {uploads: []}
      - {uploads: [harper, visit], since: start}
      - {uploads: [harper, visit]}
"""
    )
    assert failures_by_line(result) == {
        21: "the server answered ['harper', 'visit']",
        22: "the server answered ['harper', 'visit']",
        27: "the server answered []",
    }


@pytest.mark.rule("AS-06")
def test_an_in_order_check_passes_only_when_the_events_came_in_that_order() -> None:
    result = play(
        HEAD
        + """\
  - {device: air, network: offline}
  - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
  - {device: air, network: online}
  - advance: 30s
    expect:
      - in_order: [{event: saved, at: pro}, {event: uploaded, at: pro}, {event: merged, at: air}]
        since: start
      - in_order: [{event: polled, at: air}, {event: merged, at: air, record: harper}]
      - in_order: [{event: merged, at: air}, {event: uploaded, at: pro}]
        since: start
      - in_order: [{event: uploaded, at: pro}, {event: merged, at: air}]
      - in_order: [{event: saved, at: air}, {event: merged, at: air}]
        since: start
"""
    )
    seen = failures_by_line(result)
    assert sorted(seen) == [16, 18, 19]
    assert seen[16].startswith("there was no uploaded on pro after the merged on air")
    assert seen[18] == "there was no uploaded on pro", "the upload was in an earlier step"
    assert seen[19] == "there was no saved on air"


@pytest.mark.rule("AS-07")
@pytest.mark.rule("AS-09")
def test_a_sync_errors_values_check_compares_the_previous_the_online_and_the_new_value() -> None:
    result = play(
        HEAD
        + """\
  - {device: air, network: offline}
  - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
  - {device: air, edit: harper, set: {phone__v: "+1 617-555-0199"}, then: save}
  - device: air
    network: online
    expect:
      - sync_errors: air
        record: harper
        values: {phone__v: {previous: "+1 617-555-0142", online: "+1 617-555-0100", new: "+1 617-555-0199"}}
      - {sync_errors: air, values: {phone__v: {new: {starts_with: "+1 617-555-01"}}}}
      - {sync_errors: air, values: {phone__v: {online: "+1 617-555-0199"}}}
      - {sync_errors: air, values: {phone__v: {previous: "+1 617-555-0100"}}}
      - {sync_errors: air, values: {email__v: {new: x@example.com}}}
      - {sync_errors: pro, values: {phone__v: {new: "+1 617-555-0199"}}}
"""
    )
    conflict = (
        "the conflicts are [{'field': 'phone__v', 'previous': '+1 617-555-0142', "
        "'online': '+1 617-555-0100', 'new': '+1 617-555-0199'}]"
    )
    assert failures_by_line(result) == {
        18: conflict,  # the online value is the Pro's, not the Air's
        19: conflict,  # the previous value sent is the one before both edits
        20: conflict,  # no conflict on the e-mail
        21: "there is no conflict",
    }


@pytest.mark.rule("AS-05")
def test_a_matching_check_counts_exactly_the_records_that_match_where_it_looks() -> None:
    result = play(
        HEAD
        + ORDER
        + """\
    expect:
      - {matching: {object: order_line__v, where: {order__v: "@order"}}, at: pro, count: 2}
      - {matching: {object: order_line__v, where: {order__v: "@order"}}, at: online, count: 2}
      - matching: {object: order_line__v, where: {order__v: "@order", quantity__v: {at_least: 2}}}
        at: online
        count: 1
      - {matching: {object: order__v, where: {account__v: "@harper"}}, at: air, count: 0}
      - {matching: {object: order_line__v, where: {order__v: "@order"}}, at: online, count: 1}
      - {matching: {object: order_line__v, where: {order__v: "@order"}}, at: online, count: 3}
  - advance: 30s
    expect:
      - {matching: {object: order__v, where: {account__v: "@harper"}}, at: air, count: 1}
      - {matching: {object: order__v, where: {account__v: "@harper"}}, at: air, count: 0}
"""
    )
    seen = failures_by_line(result)
    assert sorted(seen) == [23, 24, 28]
    assert seen[23].startswith("2 match: ['V3L") and seen[24].startswith("2 match: ")
    assert seen[28].startswith("1 match: ['V3O")


@pytest.mark.rule("AS-05")
@pytest.mark.rule("AS-22")
def test_a_record_check_counts_its_child_records_on_an_ipad_and_online() -> None:
    result = play(
        HEAD.replace("steps:", "steps:\n  - {device: air, feed_page_size: 2}", 1)
        + ORDER
        + """\
    expect:
      - {record: order, at: pro, children: {order_line__v: 2, delivery_order__v: 0}}
      - {record: order, at: online, children: {order_line__v: 2}}
      - {record: order, at: online, children: {order_line__v: 3}}
      - {record: order, at: pro, children: {delivery_order__v: 1}}
  - advance: 30s
    expect:
      - {record: order, at: air, children: {order_line__v: 2}}
  - advance: 30s
    expect:
      - {record: order, at: air, children: {order_line__v: 2}}
"""
    )
    assert failures_by_line(result) == {
        20: "it has 2 order_line__v records",
        21: "it has 0 delivery_order__v records",
        24: "it is not there on air",  # the first page brought two of its three records
    }


def test_a_child_count_names_child_objects_of_the_records_object() -> None:
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(
            HEAD
            + "  - say: hi\n    expect:\n      - {record: harper, at: pro, children: {order_line__v: 1}}\n"
        )
    assert info.value.line == 10
    assert "order_line__v is not a child object of account__v" in info.value.problem
    assert "call2__v" not in info.value.problem.split("children: ")[1]


@pytest.mark.rule("AS-06")
def test_never_over_steps_fails_at_the_step_that_breaks_it_and_passes_when_its_window_closes() -> None:
    result = play(
        HEAD
        + """\
  - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
  - device: air
    network: offline
    expect:
      - {never: {event: downloaded, at: air}, during: 3 steps}
      - {never: {event: uploaded, at: pro}, during: 2 steps}
      - {never: {event: uploaded, at: pro, record: harper}}
      - {never: {event: rejected}}
  - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0111"}, then: save}
  - {advance: 5m}
  - {device: air, network: online}
"""
    )
    assert checked_lines(result) == [[], [], [13, 14], [12], [15]]
    assert failures_by_line(result) == {
        13: "it happened at 26 Nov 09:00:00: Account Harper, Eleanor saved online.",
        14: "it happened at 26 Nov 09:00:00: Account Harper, Eleanor saved online.",
    }, "the upload before the window does not count; the one in it does, at once"
    assert [c.passed for c in result.steps[3].checks + result.steps[4].checks] == [True, True]


@pytest.mark.rule("AS-16")
def test_never_over_emulated_time_counts_only_what_happens_before_the_window_ends() -> None:
    result = play(
        HEAD
        + """\
  - device: pro
    edit: harper
    set: {phone__v: "+1 617-555-0100"}
    then: save
    expect:
      - {never: {event: merged, at: air}, during: 20s}
      - {never: {event: merged, at: air}, during: 31s}
  - {advance: 1m}
"""
    )
    assert checked_lines(result) == [[], [13, 14]]
    assert failures_by_line(result) == {14: "it happened at 26 Nov 09:00:30: Merged 1 record from the feed."}


def test_a_never_window_longer_than_the_scenario_fails() -> None:
    result = play(
        HEAD
        + """\
  - say: Nothing happens.
    expect:
      - {never: {event: uploaded}, during: 3 steps}
      - {never: {event: uploaded}, during: 10m}
      - {never: {event: uploaded}}
  - {advance: 4m}
"""
    )
    assert checked_lines(result) == [[], [10, 11, 12]]
    assert failures_by_line(result) == {
        10: "the scenario ended 1 step(s) before the window did",
        11: "the scenario ended 6m before the window did",
    }


@pytest.mark.parametrize(
    ("check", "problem"),
    [
        ("{never: {event: downloaded}, during: soon}", "bad duration for during"),
        ("{never: {event: downloaded}, during: 0 steps}", "during: at least 1 step"),
        ("{never: {at: air}}", "never: needs event:"),
        ("{never: {event: exploded}}", "event must be one of"),
        ("{in_order: [{event: saved}]}", "in_order needs at least 2 items"),
        ("{uploads: [nobody]}", "no record called 'nobody'"),
        (
            "{matching: {object: account__v, where: {last_name__v: Harper}}, at: online}",
            "matching: needs count:",
        ),
        ("{matching: {object: spaceship__c}, at: online, count: 1}", "unknown object 'spaceship__c'"),
        ("{matching: {object: account__v, where: {shoe__v: 9}}, at: online, count: 1}", "no field 'shoe__v'"),
        ("{sync_errors: pro, values: {phone__v: {was: x}}}", "unknown key 'was' in values phone__v"),
        (
            "{sync_errors: pro, record: harper, values: {shoe__v: {new: x}}}",
            "account__v has no field 'shoe__v'",
        ),
        ("{sync_errors: pro, values: {phone__v: {}}}", "give previous:, online: and/or new:"),
        (
            "{record: harper, at: pro, children: {address__v: many}}",
            "address__v must be a whole number",
        ),
    ],
)
def test_the_new_checks_refuse_bad_values_with_the_line(check: str, problem: str) -> None:
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(HEAD + f"  - say: hi\n    expect:\n      - {check}\n", source="bad.yaml")
    assert (info.value.line, problem in info.value.problem) == (10, True), str(info.value)


def test_the_new_checks_are_read_into_typed_checks() -> None:
    step = parse_scenario(
        HEAD + "  - say: hi\n    expect:\n      - {never: {event: polled, at: air}, during: 2 steps}\n"
    ).steps[0]
    (never,) = step.expect
    assert isinstance(never, NeverCheck) and never.during == 2 and never.pattern.at == "air"
    assert never.describe() == "never polled on air, during 2 steps"
