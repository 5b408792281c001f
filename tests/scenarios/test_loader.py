"""A bad scenario file is refused before anything runs, naming the file, the line and the problem."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulator.scenarios.actions import (
    Advance,
    ApplyUpdate,
    ClearSyncErrors,
    Dismiss,
    ForceFullRefresh,
    FullRefresh,
    Network,
    New,
    Resolve,
    SyncSettings,
    XRay,
)
from emulator.scenarios.checks import (
    DeviceCheck,
    NoticeCheck,
    QueueCheck,
    RecordCheck,
    RefreshCheck,
    SyncErrorsCheck,
    SyncWidgetCheck,
)
from emulator.scenarios.loader import ScenarioFileError, library_dir, load_scenario, parse_scenario
from emulator.scenarios.model import RULE_IDS, Lookup, RecordRef
from emulator.scenarios.values import AddChild

HEAD = """\
title: A test
rules: [AS-01]
devices:
  - {id: pro, name: Pro, user: anna}
  - {id: air, name: Air, user: anna, model: iPad Air 2}
records:
  harper: {object: account__v, where: {last_name__v: Harper}}
steps:
"""  # steps start on line 9


def refused(text: str) -> ScenarioFileError:
    with pytest.raises(ScenarioFileError) as info:
        parse_scenario(text, source="bad.yaml")
    return info.value


@pytest.mark.parametrize(
    ("steps", "line", "problem"),
    [
        ("  - {device: pro, dance: harper}\n", 9, "unknown step 'dance'"),
        ("  - {device: ipad, leave: }\n", 9, "unknown device 'ipad'"),
        ("  - {advance: soon}\n", 9, "bad duration for advance"),
        ("  - say: hello\n  - {advance: 0s}\n", 10, "advance must be longer than zero"),
        ("  - {device: pro, open: watson}\n", 9, "no record called 'watson'"),
        (
            "  - {device: pro, edit: harper, set: {shoe_size__v: 9}, then: save}\n",
            9,
            "no field 'shoe_size__v'",
        ),
        ("  - {device: pro, new: spaceship__c}\n", 9, "unknown object 'spaceship__c'"),
        ("  - {device: pro, edit: harper, then: publish}\n", 9, "then must be one of save, submit, cancel"),
        ("  - {device: pro, open: harper, poll: }\n", 9, "a step does one thing"),
        ("  - {leave: }\n", 9, "say which device"),
        ("  - {device: pro, save: }\n", 9, "no edit screen is open on pro"),
        ("  - {device: pro, network: sometimes}\n", 9, "network must be one of online, offline, lie-fi"),
        ("  - {device: pro, fault: gremlins}\n", 9, "fault must be one of"),
        ("  - {device: pro, resolve: harper}\n", 9, "needs how:"),
        ("  - {device: pro, advance: 5s}\n", 9, "advance does not happen on a device"),
        ("  - {device: pro, leave: , mood: happy}\n", 9, "'mood' does not go with a leave step"),
        ("  - say: hi\n    expect:\n      - {vibes: good}\n", 11, "unknown check"),
        ("  - say: hi\n    expect:\n      - {queue: pro, length: 2}\n", 11, "unknown key 'length'"),
        ("  - say: hi\n    expect:\n      - {record: harper, fields: {x: 1}}\n", 11, "say where to look"),
        ("  - say: hi\n    expect:\n      - {record: harper, at: online, state: synced}\n", 11, "state:"),
        ("  - say: hi\n    expect:\n      - {event: exploded}\n", 11, "event must be one of"),
        ("  - say: hi\n    expect:\n      - {queue: pro, count: many}\n", 11, "count must be a whole number"),
        ('  - {device: pro, edit: harper, set: {phone__v: "@nobody"}}\n', 9, "no record called 'nobody'"),
        ("  - {device: pro, new: call2__v, as: 1st call}\n", 9, "not a usable name"),
        ("  - {device: pro, join: }\n", 9, "on the stage from the start"),
        ("  - {online_edit: harper}\n", 9, "needs set:"),
        ("  - {territory_alignment: {accounts: [harper]}}\n", 9, "needs territory:"),
        (
            "  - {metadata_change: {kind: relabel_field, object: account__v, field: shoe__v, label: Shoe}}\n",
            9,
            "account__v has no field 'shoe__v'",
        ),
    ],
)
def test_each_kind_of_bad_step_gets_its_message_and_line(steps: str, line: int, problem: str) -> None:
    error = refused(HEAD + steps)
    assert error.line == line, str(error)
    assert problem in error.problem
    assert str(error).startswith(f"bad.yaml:{line}: ")


def _bad(rule: str, steps: str, line: int, problem: str) -> object:
    return pytest.param(steps, line, problem, marks=pytest.mark.rule(rule), id=problem)


EXPECT = "  - say: hi\n    expect:\n      - "  # a check on line 11


@pytest.mark.parametrize(
    ("steps", "line", "problem"),
    [
        _bad(
            "AS-34",
            "  - {device: pro, resolve: harper, how: keep_mine}\n",
            9,
            "how must be one of undo, undelete, clear",
        ),
        _bad("AS-34", "  - {device: pro, resolve: harper, how: take_online}\n", 9, "not 'take_online'"),
        _bad(
            "AS-34", "  - {device: pro, dismiss: , how: undo}\n", 9, "'how' does not go with a dismiss step"
        ),
        _bad(
            "AS-34",
            "  - {device: pro, clear_sync_errors: anna}\n",
            9,
            "clear_sync_errors does not happen on a device",
        ),
        _bad("AS-30", "  - {xray: maybe}\n", 9, "xray must be on or off, not 'maybe'"),
        _bad("AS-30", "  - {xray: on, device: ipad}\n", 9, "unknown device 'ipad'"),
        _bad("AS-33", "  - {sync_settings: {refresh_mode: on}}\n", 9, "sync_settings: needs user:"),
        _bad(
            "AS-33",
            "  - {sync_settings: {user: anna}}\n",
            9,
            "give refresh_mode: and/or sync_warn_interval_days:",
        ),
        _bad(
            "AS-33", "  - {sync_settings: {user: anna, sync_warn_interval_days: 0}}\n", 9, "at least 1, not 0"
        ),
        _bad(
            "AS-33",
            "  - {sync_settings: {user: anna, keep_mine: on}}\n",
            9,
            "unknown key 'keep_mine' in sync_settings",
        ),
        _bad("AS-33", "  - {sync_settings: anna}\n", 9, "sync_settings must be a mapping"),
        _bad(
            "AS-36",
            "  - {sync_settings: {user: anna, refresh_mode: maybe}}\n",
            9,
            "refresh_mode must be on or off",
        ),
        _bad("AS-36", "  - {apply_update: }\n", 9, "say which device does apply_update"),
        _bad("AS-37", "  - {force_full_refresh: }\n", 9, "force_full_refresh (a user) must be some text"),
        _bad("AS-37", "  - {device: pro, full_refresh: now}\n", 9, "full_refresh takes no value"),
        _bad(
            "AS-33",
            EXPECT + "{sync_widget: pro, colour: blue}\n",
            11,
            "colour must be one of green, orange, red",
        ),
        _bad("AS-33", EXPECT + "{sync_widget: pro, state: green}\n", 11, "state must be one of up_to_date"),
        _bad("AS-33", EXPECT + "{sync_widget: pro, days_since: -1}\n", 11, "at least 0"),
        _bad("AS-33", EXPECT + "{sync_widget: pro, remind: often}\n", 11, "remind must be true or false"),
        _bad("AS-33", EXPECT + "{sync_widget: ipad, state: pending}\n", 11, "unknown device 'ipad'"),
        _bad(
            "AS-36", EXPECT + "{refresh: pro, colour: green}\n", 11, "colour must be one of blue, orange, red"
        ),
        _bad("AS-36", EXPECT + "{refresh: pro, state: on}\n", 11, "state must be one of off, idle"),
        _bad("AS-36", EXPECT + "{refresh: pro, pending: 1}\n", 11, "unknown key 'pending'"),
        _bad("AS-34", EXPECT + "{notice: pro, kind: banner}\n", 11, "kind must be one of sync_error"),
        _bad("AS-34", EXPECT + "{notice: pro, unread: some}\n", 11, "unread must be a whole number"),
        _bad("AS-34", EXPECT + "{sync_errors: pro, actions: [keep_mine]}\n", 11, "actions must be one of"),
        _bad("AS-34", EXPECT + "{sync_errors: pro, requested: clear}\n", 11, "requested must be one of"),
        _bad("AS-35", EXPECT + "{device: pro, blocked: maybe}\n", 11, "blocked must be true or false"),
        _bad("AS-30", EXPECT + "{device: pro, xray: maybe}\n", 11, "xray must be on or off"),
    ],
)
def test_the_real_apps_sync_steps_and_checks_refuse_bad_values_with_the_line(
    steps: str, line: int, problem: str
) -> None:
    error = refused(HEAD + steps)
    assert (error.line, problem in error.problem) == (line, True), str(error)
    assert str(error).startswith(f"bad.yaml:{line}: ")


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("rules: [AS-01]\ndevices: [{id: a, user: anna}]\nsteps: [{say: hi}]\n", 1, "missing title:"),
        ("title: T\ndevices: [{id: a, user: anna}]\n", 1, "missing steps:"),
        ("title: T\nrules: [AS-01, AS-99]\ndevices: [{id: a, user: anna}]\nsteps: [{say: hi}]\n", 2, "AS-99"),
        (
            "title: T\nrules: [AS-37, AS-38]\ndevices: [{id: a, user: anna}]\nsteps: [{say: hi}]\n",
            2,
            "'AS-38' (rules are AS-01 to AS-37)",
        ),
        (
            "title: T\ndevices:\n  - {id: a, user: anna, model: iPad 12}\nsteps: [{say: hi}]\n",
            3,
            "model must be",
        ),
        ("title: T\ndevices:\n  - {id: a, user: anna, ios: ten}\nsteps: [{say: hi}]\n", 3, "iOS version"),
        ("title: T\ndevices:\n  - {id: A B, user: anna}\nsteps: [{say: hi}]\n", 3, "lower-case"),
        ("title: T\ndevices:\n  - {id: a}\nsteps: [{say: hi}]\n", 3, "needs user:"),
        (
            "title: T\ndevices:\n  - {id: a, user: anna}\n  - {id: a, user: ben}\nsteps: [{say: hi}]\n",
            4,
            "two devices",
        ),
        ("title: T\ndevices: []\nsteps: [{say: hi}]\n", 2, "at least one device"),
        ("title: T\ntitle: U\n", 2, "'title' is given twice"),
        ("title: T\nauthor: me\n", 2, "unknown key 'author'"),
        ("title: [T\n", 2, "not valid YAML"),
        ("", 1, "the file is empty"),
        (
            "title: T\ndevices: [{id: a, user: anna}]\nrecords:\n  h: {object: account__v}\n"
            "steps: [{say: hi}]\n",
            4,
            "needs object: and where:",
        ),
    ],
)
def test_bad_files_are_refused_with_the_line(text: str, line: int, problem: str) -> None:
    error = refused(text)
    assert (error.line, problem in error.problem) == (line, True), str(error)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioFileError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")


def test_a_good_file_becomes_a_typed_model() -> None:
    scenario = parse_scenario(
        HEAD
        + """\
  - device: pro
    new: order__v
    as: order
    set: {account__v: "@harper", order_date__v: 2026-11-26}
    children:
      - {add: order_line__v, as: line, set: {product__v: labrinone__c, quantity__v: 1, list_price__v: 1.0}}
    then: save
    say: An order.
    expect:
      - {queue: pro, count: 1, sizes: [2]}
      - {record: {object: order_line__v, where: {order__v: "@order"}}, at: online, exists: true}
  - {advance: 7d 1s}
""",
        source="good.yaml",
    )
    new, advance = scenario.steps
    assert isinstance(new.action, New) and isinstance(advance.action, Advance)
    assert (new.kind, new.device, new.action.object, new.action.bind, new.action.then) == (
        "new",
        "pro",
        "order__v",
        "order",
        "save",
    )
    assert new.action.fields == {"account__v": "@harper", "order_date__v": "2026-11-26"}, "dates stay text"
    assert new.action.children[0] == AddChild(
        object="order_line__v",
        fields={"product__v": "labrinone__c", "quantity__v": 1, "list_price__v": 1.0},
        bind="line",
        line=14,
    )
    assert new.line == 9
    queue, record = new.expect
    assert queue == QueueCheck(device="pro", count=1, sizes=(2,), line=18)
    assert isinstance(record, RecordCheck) and (record.at, record.exists) == ("online", True)
    ref: RecordRef = record.record
    assert isinstance(ref, Lookup) and ref.object == "order_line__v"
    assert advance.action.by.total_seconds() == 7 * 86400 + 1
    assert scenario.records["harper"] == Lookup("account__v", {"last_name__v": "Harper"})


def test_latency_can_go_back_to_none_but_not_below() -> None:
    step = parse_scenario(HEAD + "  - {device: air, network: online, latency: 0s}\n").steps[0]
    assert step.action == Network(mode="online", latency=timedelta(0))
    assert (
        str(refused(HEAD + "  - {device: air, network: online, latency: -1}\n"))
        == "bad.yaml:9: bad duration for latency: a duration cannot be negative"
    )


def test_the_whole_library_loads_and_covers_every_rule() -> None:
    covered: set[str] = set()
    for path in sorted(library_dir().glob("*.yaml")):
        scenario = load_scenario(path)
        assert scenario.rules, f"{path.name} names no rule"
        assert any(s.say for s in scenario.steps), f"{path.name} tells no story"
        if not path.name.startswith("tour"):
            covered |= set(scenario.rules)
    assert covered == set(RULE_IDS), f"no scenario for {sorted(set(RULE_IDS) - covered)}"
    tours = list(library_dir().glob("tour*.yaml"))
    assert len(tours) >= 2


@pytest.mark.parametrize(
    "written", ["2026-11-27T10:30:00Z", "'2026-11-27T10:30:00Z'", "2026-11-27 11:30:00+01:00"]
)
def test_a_scenario_can_start_at_another_emulated_time(written: str) -> None:
    scenario = parse_scenario(HEAD.replace("devices:", f"start: {written}\ndevices:", 1) + "  - say: hi\n")
    assert scenario.start == datetime(2026, 11, 27, 10, 30, tzinfo=UTC)


def test_a_bad_start_time_is_refused_with_its_line() -> None:
    problem = refused(HEAD.replace("devices:", "start: next tuesday\ndevices:", 1) + "  - say: hi\n")
    assert str(problem) == "bad.yaml:3: start must be a time like 2026-11-26T09:00:00Z, not 'next tuesday'"


@pytest.mark.rule("AS-33")
@pytest.mark.rule("AS-34")
@pytest.mark.rule("AS-36")
@pytest.mark.rule("AS-37")
def test_the_real_apps_sync_steps_are_read_into_the_model() -> None:
    scenario = parse_scenario(
        HEAD
        + """\
  - {device: pro, resolve: harper, how: undo}
  - {device: air, resolve: harper, how: undelete}
  - {device: pro, resolve: harper, how: clear}
  - {device: pro, dismiss: }
  - {device: pro, full_refresh: }
  - {device: air, apply_update: true}
  - {xray: off}
  - {xray: on, device: air}
  - {sync_settings: {user: anna, refresh_mode: on, sync_warn_interval_days: 2}}
  - {sync_settings: {user: ben, refresh_mode: "off"}}
  - {clear_sync_errors: anna}
  - {force_full_refresh: anna}
""",
        source="good.yaml",
    )
    got = [(s.action, s.device, s.line) for s in scenario.steps]
    assert got == [
        (Resolve(record="harper", how="undo"), "pro", 9),
        (Resolve(record="harper", how="undelete"), "air", 10),
        (Resolve(record="harper", how="clear"), "pro", 11),
        (Dismiss(), "pro", 12),
        (FullRefresh(), "pro", 13),
        (ApplyUpdate(), "air", 14),
        (XRay(on=False), None, 15),
        (XRay(on=True), "air", 16),
        (SyncSettings(user="anna", refresh_mode=True, sync_warn_interval_days=2), None, 17),
        (SyncSettings(user="ben", refresh_mode=False), None, 18),
        (ClearSyncErrors(user="anna"), None, 19),
        (ForceFullRefresh(user="anna"), None, 20),
    ]
    described = [s.describe() for s in scenario.steps]
    assert described[0] == "[pro] Errors tab: undo the sync error on harper"
    assert described[4] == "[pro] Options ▸ Database ▸ Full Database Refresh"
    assert described[7] == "[air] X-ray view on"
    assert described[8] == "online: sync settings for anna: refresh_mode on, sync_warn_interval_days 2"


@pytest.mark.rule("AS-30")
@pytest.mark.rule("AS-33")
@pytest.mark.rule("AS-34")
@pytest.mark.rule("AS-35")
@pytest.mark.rule("AS-36")
def test_the_real_apps_sync_checks_are_read_into_the_model() -> None:
    step = parse_scenario(
        HEAD
        + """\
  - say: What the rep sees.
    expect:
      - {sync_widget: pro, state: pending, pending: 2, colour: red, errors: 0, remind: true, days_since: 3}
      - {refresh: air, state: off}
      - {refresh: air, state: ready, colour: orange}
      - {notice: pro, kind: sync_error, unread: 1, count: 2, text: Sync error}
      - {device: pro, blocked: false, xray: off}
      - {sync_errors: air, record: harper, actions: [clear], requested: nothing}
"""
    ).steps[0]
    assert step.expect == (
        SyncWidgetCheck(
            device="pro",
            state="pending",
            pending=2,
            colour="red",
            errors=0,
            remind=True,
            days_since=3,
            line=11,
        ),
        RefreshCheck(device="air", state="off", line=12),
        RefreshCheck(device="air", state="ready", colour="orange", line=13),
        NoticeCheck(device="pro", notice="sync_error", unread=1, count=2, text="Sync error", line=14),
        DeviceCheck(device="pro", blocked=False, xray=False, line=15),
        SyncErrorsCheck(device="air", record="harper", actions=("clear",), requested="nothing", line=16),
    )
    assert step.expect[1].describe() == "Refresh mode on air: state 'off'"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (
            HEAD.replace("{id: air, name: Air, user: anna,", "{id: air, name: Air, user: zed,")
            + "  - say: hi\n",
            5,
            "user: no user 'zed' on the embedded server (its users: anna, ben, chloe)",
        ),
        (
            HEAD + "  - say: hi\n    expect:\n      - {feed: zed, count: 0}\n",
            11,
            "feed (a user): no user 'zed'",
        ),
        (
            HEAD + "  - {online_create: call2__v, owner: zed, set: {call_date__v: today}}\n",
            9,
            "owner: no user 'zed'",
        ),
        (HEAD + "  - {sync_settings: {user: zed, refresh_mode: on}}\n", 9, "user: no user 'zed'"),
        (HEAD + "  - {clear_sync_errors: zed}\n", 9, "clear_sync_errors (a user): no user 'zed'"),
        (HEAD + "  - {force_full_refresh: zed}\n", 9, "force_full_refresh (a user): no user 'zed'"),
        (
            HEAD + "  - say: hi\n    expect:\n      - {event: put_on_feed, at: 'feed:zed'}\n",
            11,
            "at: no user 'zed'",
        ),
        (
            HEAD + "  - {territory_alignment: {user: zed, territories: [T-NE]}}\n",
            9,
            "user: no user 'zed'",
        ),
        (
            HEAD + "  - {territory_alignment: {accounts: [harper], territory: T-XX}}\n",
            9,
            "territory: no territory 'T-XX' on the embedded server (its territories: T-NE, T-WC)",
        ),
    ],
)
def test_users_and_territories_the_embedded_server_lacks_are_refused_with_the_line(
    text: str, line: int, problem: str
) -> None:
    error = refused(text)
    assert (error.line, problem in error.problem) == (line, True), str(error)
    assert parse_scenario(text, embedded=False).title == "A test", "a standalone server may have them"
