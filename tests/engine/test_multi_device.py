"""Several devices against the real in-process server: conflicts, the feed and merging.

Rules: AS-07, AS-09 to AS-12, AS-15 to AS-28, AS-31, AS-32.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from emulator.engine.device import ActionRefused, Device
from tests.engine.conftest import World, account_of, save_order


def two_ipads(world: World) -> tuple[Device, Device]:
    return world.device("Anna iPad Pro"), world.device("Anna iPad Air", model="iPad Air 2")


def new_order(world: World, ipad: Device, lines: int = 2) -> str:
    save_order(ipad, *[("cholecap__c", n + 1, 10.0) for n in range(lines)])
    world.settle()
    return next(e.record[1] for e in reversed(world.events("uploaded", ipad)) if e.record)


def offline_race(
    pro: Device,
    air: Device,
    object_name: str,
    record_id: str,
    pro_values: dict[str, object],
    air_values: dict[str, object],
    *,
    pro_submits: bool = False,
) -> None:
    """The Pro saves while the Air, offline, saves the same record; then the Air is back online."""
    air.set_network("offline")
    pro.save(object_name, record_id, pro_values, submit=pro_submits)
    air.save(object_name, record_id, air_values)
    air.set_network("online")


@pytest.mark.rule("AS-07")
@pytest.mark.rule("AS-09")
def test_the_same_field_edited_on_two_ipads_first_save_wins_later_is_a_sync_error(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    old = account.get("phone__v")
    air.set_network("offline")
    pro.save("account__v", account["id"], {"phone__v": "from the Pro"})
    air.save("account__v", account["id"], {"phone__v": "from the Air"})
    world.settle()
    air.set_network("online")
    world.settle()
    (error,) = air.sync_errors()
    assert error.kind == "conflict"
    assert error.conflicts == [
        {
            "field": "phone__v",
            "label": "Phone",
            "previous": old,
            "online": "from the Pro",
            "new": "from the Air",
        }
    ]
    assert air.sync_state(account["id"]) == "sync_error"
    assert world.online_record("account__v", account["id"])["phone__v"] == "from the Pro"


@pytest.mark.rule("AS-09")
def test_two_ipads_editing_different_fields_both_succeed_and_both_converge(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    offline_race(
        pro, air, "account__v", account["id"], {"phone__v": "+1 555 1111"}, {"email__v": "dr@example.org"}
    )
    world.poll_all()
    assert pro.sync_errors() == [] and air.sync_errors() == []
    for ipad in (pro, air):
        record = ipad.record(account["id"]) or {}
        assert (record["phone__v"], record["email__v"]) == ("+1 555 1111", "dr@example.org")


@pytest.mark.rule("AS-10")
def test_family_edits_override_the_online_values(world: World) -> None:
    pro, air = two_ipads(world)
    order = new_order(world, pro)
    world.poll_all()
    offline_race(
        pro, air, "order__v", order, {"delivery_date__v": "2026-12-01"}, {"delivery_date__v": "2026-12-24"}
    )
    world.settle()
    assert air.sync_errors() == []
    assert world.online_record("order__v", order)["delivery_date__v"] == "2026-12-24"


def family_on(ipad: Device, root_object: str, root_id: str) -> dict[str, dict[str, object]]:
    """The family of ``root_id`` as the device holds it: record ID -> fields."""
    out = {root_id: ipad.record(root_id) or {}}
    for child_object, via in ipad.schema.children_of(root_object):
        out |= {r["id"]: r for r in ipad.records(child_object) if r.get(via) == root_id}
    return out


def family_online(world: World, ipad: Device, root_object: str, root_id: str) -> dict[str, dict[str, object]]:
    out = {root_id: world.online_record(root_object, root_id)}
    for child_object, via in ipad.schema.children_of(root_object):
        page = world.online("GET", f"/records?object={child_object}&limit=5000")["records"]
        out |= {r["id"]: r["fields"] for r in page if r["fields"].get(via) == root_id}
    return out


@pytest.mark.rule("AS-11")
def test_a_call_submitted_on_one_ipad_and_edited_on_another_becomes_a_duplicate(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    pro.save(
        "call2__v",
        None,
        {"account__v": account["id"], "call_date__v": "2026-11-26"},
        children=[("call2_discussion__v", {"product__v": "cholecap__c", "discussion_topic__v": "Efficacy"})],
    )
    world.settle()
    call = next(e.record[1] for e in world.events("uploaded", pro) if e.record)
    world.poll_all()
    (discussion,) = [d for d in air.records("call2_discussion__v") if d["call2__v"] == call]
    air.set_network("offline")
    pro.save("call2__v", call, {}, submit=True)
    air.save(
        "call2__v",
        call,
        {"notes__v": "Discussed dosing"},
        children=[
            ("call2_discussion__v", {"id": discussion["id"], "discussion_topic__v": "Dosing"}),
            ("call2_sample__v", {"product__v": "labrinone__c", "quantity__v": 2}),
        ],
    )
    air.set_network("online")
    world.settle()
    (duplicated,) = world.events("duplicated", air)
    assert duplicated.record is not None
    duplicate_id = duplicated.record[1]
    duplicate = air.record(duplicate_id) or {}
    assert duplicate["duplicate_of__v"] == call and duplicate["notes__v"] == "Discussed dosing"
    assert duplicate["status__v"] == "saved__v", (
        "the Air only saved it: the duplicate is saved, not submitted"
    )
    world.poll_all()
    for ipad in (pro, air):
        assert (ipad.record(call) or {})["status__v"] == "submitted__v", "the submitted call stays"
        assert family_on(ipad, "call2__v", call) == family_online(world, ipad, "call2__v", call), (
            f"{ipad.id}: the original call and its children exactly as online"
        )
        assert family_on(ipad, "call2__v", duplicate_id) == family_online(
            world, ipad, "call2__v", duplicate_id
        ), f"{ipad.id}: the duplicate and its children exactly as online"
    topics = {
        d.get("discussion_topic__v") for d in air.records("call2_discussion__v") if d["call2__v"] == call
    }
    assert topics == {"Efficacy"}, "the Air's copy of the submitted call lost its edited discussion"
    assert not [r for _, r in air.store.records() if str(r["id"]).startswith("tmp-")]


FAMILIES = {
    "order": (
        "order__v",
        "order_line__v",
        {"delivery_date__v": "2027-01-01"},
        {"quantity__v": 40},
        {"product__v": "restolar__c", "quantity__v": 7, "list_price__v": 12.0},
    ),
    "inventory monitoring": (
        "inventory_monitoring__v",
        "inventory_monitoring_line__v",
        {"monitoring_date__v": "2026-11-25"},
        {"quantity__v": 99},
        {"product__v": "restolar__c", "quantity__v": 3},
    ),
}


@pytest.mark.rule("AS-12")
@pytest.mark.parametrize("family", FAMILIES, ids=list(FAMILIES))
def test_a_family_submitted_on_one_ipad_discards_edits_from_another_and_ends_as_online(
    world: World, family: str
) -> None:
    root_object, line_object, root_edit, line_edit, new_line = FAMILIES[family]
    pro, air = two_ipads(world)
    account = account_of(pro)
    if root_object == "order__v":
        root = new_order(world, pro)
    else:
        pro.save(
            root_object,
            None,
            {"account__v": account["id"], "monitoring_date__v": "2026-11-26"},
            children=[(line_object, {"product__v": "cholecap__c", "quantity__v": 10})],
        )
        world.settle()
        root = next(e.record[1] for e in reversed(world.events("uploaded", pro)) if e.record)
    world.poll_all()
    line = next(r for r in air.records(line_object) if root in r.values())
    air.set_network("offline")
    pro.save(root_object, root, {}, submit=True)
    air.save(
        root_object,
        root,
        root_edit,
        children=[(line_object, {"id": line["id"], **line_edit}), (line_object, new_line)],
    )
    air.set_network("online")
    world.settle()
    assert world.events("discarded_online", air)
    assert [n.kind for n in air.unread_notices()] == ["discarded"], "the user is told"
    world.poll_all()
    assert (air.record(root) or {})["status__v"] == "submitted__v", "the submitted version arrives"
    assert family_on(air, root_object, root) == family_online(world, air, root_object, root), (
        "root and every line exactly as online: none of the discarded edits left"
    )
    assert not [r for _, r in air.store.records() if str(r["id"]).startswith("tmp-")]


@pytest.mark.rule("AS-15")
@pytest.mark.rule("AS-28")
def test_changes_reach_the_users_other_ipads_but_never_another_users(world: World) -> None:
    pro, air = two_ipads(world)
    chloe = world.device("Chloe iPad", "chloe")
    account = account_of(pro)
    pro.save("account__v", account["id"], {"phone__v": "+1 555 2828"})
    world.poll_all()
    assert (air.record(account["id"]) or {})["phone__v"] == "+1 555 2828"
    assert chloe.record(account["id"]) is None
    assert not world.events("downloaded", chloe)


@pytest.mark.rule("AS-16")
@pytest.mark.rule("AS-20")
def test_other_ipads_see_a_save_at_their_next_poll_every_30_seconds(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    world.advance(seconds=10)
    pro.save("account__v", account["id"], {"phone__v": "poll me"})
    world.advance(seconds=19)
    assert (air.record(account["id"]) or {}).get("phone__v") != "poll me", "not before the poll"
    world.advance(seconds=1)
    assert (air.record(account["id"]) or {})["phone__v"] == "poll me"
    world.run(world.stage.advance(timedelta(seconds=60), skip_idle_polls=False))
    polls = [e.time for e in world.events("polled", air)]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(polls)] == [30, 30]
    air.set_poll_interval(timedelta(seconds=10))
    world.run(world.stage.advance(timedelta(seconds=30), skip_idle_polls=False))
    assert len(world.events("polled", air)) == 6, "the interval is a setting"


@pytest.mark.rule("AS-20")
def test_offline_or_background_devices_do_not_poll(world: World) -> None:
    pro, air = two_ipads(world)
    air.set_network("offline")
    pro.set_foreground(False)
    world.advance(minutes=2)
    assert not world.events("polled", air) and not world.events("polled", pro)


@pytest.mark.rule("AS-17")
def test_a_saved_attendee_brings_its_event_with_the_new_count(world: World) -> None:
    pro, air = two_ipads(world)
    event = next(r for r in pro.records("medical_event__v"))
    pro.save("event_attendee__v", None, {"medical_event__v": event["id"], "attendee_name__v": "Dr. New"})
    world.poll_all()
    assert (air.record(event["id"]) or {})["attendee_count__v"] == event["attendee_count__v"] + 1


@pytest.mark.rule("AS-18")
def test_a_device_that_missed_expired_entries_asks_for_an_incremental_sync(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    air.set_network("offline")
    pro.save("account__v", account["id"], {"phone__v": "expires"})
    world.advance(days=7, seconds=1)
    air.set_network("online")
    world.poll_all()
    assert world.events("feed_missed", air)
    assert air.store.setting("feed_missed") is True
    assert (air.record(account["id"]) or {}).get("phone__v") != "expires"
    report = world.sync(air)
    assert report.ok
    assert air.store.setting("feed_missed") is False
    assert (air.record(account["id"]) or {})["phone__v"] == "expires"


@pytest.mark.rule("AS-19")
def test_a_call_outside_the_where_clause_reaches_the_other_ipad_but_not_a_sync(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    pro.save("call2__v", None, {"account__v": account["id"], "call_date__v": "2026-06-01"})
    world.poll_all()
    call = next(e.record[1] for e in world.events("uploaded", pro) if e.record)
    assert air.record(call) is not None, "through the feed"
    fresh = world.device("Anna new iPad")
    assert fresh.record(call) is None, "a full incremental sync applies the where clause"


@pytest.mark.rule("AS-21")
@pytest.mark.rule("AS-23")
@pytest.mark.rule("AS-25")
def test_an_update_to_an_open_record_waits_and_merges_when_the_user_leaves(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    air.open_record("account__v", account["id"])
    pro.save("account__v", account["id"], {"phone__v": "while open"})
    world.poll_all()
    assert (air.record(account["id"]) or {}).get("phone__v") != "while open"
    assert air.sync_state(account["id"]) == "update_waiting"
    (deferred,) = world.events("merge_deferred", air)
    assert "open on screen" in deferred.text
    world.poll_all()
    assert len(world.events("merge_deferred", air)) == 1, "said once, not at every poll"
    air.leave_screen()
    assert (air.record(account["id"]) or {})["phone__v"] == "while open"
    assert air.sync_state(account["id"]) == "synced"


@pytest.mark.rule("AS-23")
def test_an_update_to_a_child_of_the_open_record_waits_too(world: World) -> None:
    pro, air = two_ipads(world)
    order = new_order(world, pro)
    world.poll_all()
    line = next(r for r in air.records("order_line__v") if r["order__v"] == order)
    air.open_record("order__v", order)
    pro.save(
        "order__v",
        order,
        {"delivery_date__v": "2026-12-02"},
        children=[("order_line__v", {"id": line["id"], "quantity__v": 9})],
    )
    world.poll_all()
    assert (air.record(line["id"]) or {})["quantity__v"] != 9
    air.leave_screen()
    assert (air.record(line["id"]) or {})["quantity__v"] == 9


@pytest.mark.rule("AS-22")
def test_an_order_merges_only_when_all_its_lines_have_arrived(world: World) -> None:
    pro, air = two_ipads(world)
    air.set_feed_page_records(2)
    order = new_order(world, pro, lines=3)
    world.poll_all()
    assert air.record(order) is None, "2 of 4 records: nothing merged"
    assert air.sync_state(order) == "update_waiting"
    assert any("not all of its records" in e.text for e in world.events("merge_deferred", air))
    world.poll_all()
    assert air.record(order) is not None
    assert len([r for r in air.records("order_line__v") if r["order__v"] == order]) == 3


@pytest.mark.rule("AS-24")
def test_an_action_forbidden_by_waiting_data_is_refused_with_the_reason(world: World) -> None:
    pro, air = two_ipads(world)
    order = new_order(world, pro)
    world.poll_all()
    air.open_record("order__v", order)
    pro.save("order__v", order, {}, submit=True)
    world.poll_all()
    with pytest.raises(ActionRefused, match="submitted on another device"):
        air.begin_edit("order__v", order)
    with pytest.raises(ActionRefused, match="submitted on another device"):
        air.delete("order__v", order)
    assert world.events("action_refused", air)
    assert air.queue() == []
    air.leave_screen()
    assert (air.record(order) or {})["status__v"] == "submitted__v"


@pytest.mark.rule("AS-26")
def test_a_download_for_a_record_with_a_pending_upload_is_discarded(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    air.set_network("lie-fi")
    air.save("account__v", account["id"], {"email__v": "air@example.org"})
    pro.save("account__v", account["id"], {"phone__v": "from pro"})
    world.settle()
    air.set_network("online")  # the lie-fi upload is still waiting for its timeout
    world.run(air.poller.poll())
    discarded = world.events("download_discarded", air)
    assert discarded and "newer change waiting to upload" in discarded[0].text
    assert (air.record(account["id"]) or {}).get("phone__v") != "from pro"


@pytest.mark.rule("AS-26")
def test_a_download_for_a_record_with_a_sync_error_is_discarded(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    air.save("account__v", account["id"], {"last_name__v": ""})  # refused: sync error
    world.settle()
    pro.save("account__v", account["id"], {"phone__v": "from pro"})
    world.poll_all()
    assert world.events("download_discarded", air)
    assert air.sync_state(account["id"]) == "sync_error"


@pytest.mark.rule("AS-27")
def test_online_changes_arrive_only_by_incremental_sync_with_progress(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    world.online("PATCH", f"/records/account__v/{account['id']}", json={"fields": {"phone__v": "online"}})
    world.online("POST", "/content", json={"kind": "clm", "name": "New Deck"})
    world.poll_all()
    assert (ipad.record(account["id"]) or {}).get("phone__v") != "online"
    report = world.sync(ipad)
    assert report.ok and report.updated >= 1
    assert (ipad.record(account["id"]) or {})["phone__v"] == "online"
    assert any(i["name"] == "New Deck" for i in ipad.store.setting("datasets")["clm_content"]["items"])
    progress = world.events("sync_progress", ipad)
    assert progress[-1].data["done"] == progress[-1].data["total"]


@pytest.mark.rule("AS-27")
def test_incremental_sync_uploads_first_then_follows_a_territory_alignment(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_traditional(True)
    ipad.save("account__v", account["id"], {"phone__v": "before move"})
    assert len(ipad.queue()) == 1
    world.sync(ipad)
    assert ipad.queue() == [], "the sync uploaded the queue first"
    assert world.online_record("account__v", account["id"])["phone__v"] == "before move"
    world.online("POST", "/territory-alignment", json={"account_ids": [account["id"]], "territory": "T-WC"})
    assert ipad.record(account["id"]) is not None, "nothing changes before the next sync"
    world.sync(ipad)
    assert ipad.record(account["id"]) is None, "the account left anna's territory"


@pytest.mark.rule("AS-29")
@pytest.mark.parametrize(("model", "ios"), [("iPad 4", "10.3"), ("iPad Air 2", "10.3")])
def test_an_ineligible_ipad_uses_traditional_sync_only(world: World, model: str, ios: str) -> None:
    old = world.device("Old iPad", model=model, ios_version=ios)
    assert old.traditional and not old.profile.autosync_eligible
    assert old.profile.ineligibility is not None
    with pytest.raises(ActionRefused):
        old.set_traditional(False)
    account = account_of(old)
    old.save("account__v", account["id"], {"phone__v": "by hand"})
    world.advance(minutes=5)
    assert len(old.queue()) == 1 and not world.events("polled", old)
    world.sync(old)
    assert old.queue() == []


@pytest.mark.rule("AS-32")
def test_a_device_can_switch_to_traditional_sync_to_compare(world: World) -> None:
    pro, air = two_ipads(world)
    account = account_of(pro)
    air.set_traditional(True)
    pro.save("account__v", account["id"], {"phone__v": "compare"})
    world.poll_all()
    assert (air.record(account["id"]) or {}).get("phone__v") != "compare"
    air.set_traditional(False)
    world.poll_all()
    assert (air.record(account["id"]) or {})["phone__v"] == "compare"


@pytest.mark.rule("AS-31")
@pytest.mark.rule("AS-30")
def test_what_a_lost_ipad_would_take_with_it(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    before = ipad.loss_report()
    assert before.at_risk == 0 and before.safe_records > 0
    ipad.set_network("offline")
    ipad.save("account__v", account["id"], {"phone__v": "at risk"})
    report = ipad.loss_report()
    assert report.queued == [f"Save Account {account['formatted_name__v']}"]
    assert report.safe_records == before.safe_records - 1
    ipad.set_network("online")
    world.settle()
    assert ipad.loss_report().at_risk == 0


@pytest.mark.rule("AS-20")
def test_a_poll_is_told_before_what_it_brought_and_names_the_ipad_it_came_from(world: World) -> None:
    pro, air = two_ipads(world)
    pro.save("account__v", account_of(pro)["id"], {"phone__v": "+1 555 0042"})
    world.poll_all()
    told = [e for e in world.events(device=air) if e.kind in ("polled", "downloaded")]
    kinds = [e.kind for e in told]
    assert kinds.index("polled") < kinds.index("downloaded"), "Checked the feed, then what it brought"
    (downloaded,) = [e for e in told if e.kind == "downloaded"]
    assert "a change from Anna iPad Pro" in downloaded.text
    assert "anna-ipad-pro" not in downloaded.text
