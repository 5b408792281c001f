"""Saving on a device and uploading: AS-01 to AS-06, AS-08, AS-14, AS-30."""

from __future__ import annotations

import pytest

from emulator.engine.device import ActionRefused
from tests.engine.conftest import World, account_of, save_order


@pytest.mark.rule("AS-01")
@pytest.mark.rule("AS-03")
def test_a_save_is_queued_and_uploaded_at_once(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    item = ipad.save("account__v", account["id"], {"phone__v": "+1 555 0100"})
    assert item is not None and item.items[0]["op"] == "update"
    world.settle()  # no clock movement: uploaded without waiting for a timer
    assert ipad.queue() == []
    assert world.online_record("account__v", account["id"])["phone__v"] == "+1 555 0100"
    kinds = [e.kind for e in world.events(device=ipad) if e.kind != "screen"][-4:]
    assert kinds == ["saved", "queued", "uploading", "uploaded"]


@pytest.mark.rule("AS-01")
def test_custom_objects_and_submitted_records_are_queued_too(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_network("offline")
    ipad.save(
        "competitor_activity__c", None, {"account__v": account["id"], "competitor__c": "acme_pharma__c"}
    )
    ipad.save(
        "call2__v",
        None,
        {"account__v": account["id"], "call_date__v": "2026-11-26"},
        submit=True,
    )
    assert [i.items[0]["object"] for i in ipad.queue()] == ["competitor_activity__c", "call2__v"]
    assert ipad.queue()[1].items[0]["fields"]["status__v"] == "submitted__v"


@pytest.mark.rule("AS-08")
def test_an_edit_sends_only_changed_fields_with_previous_values(world: World) -> None:
    ipad = world.device("Anna iPad")
    ipad.set_network("offline")
    account = account_of(ipad)
    ipad.save(
        "account__v",
        account["id"],
        {"phone__v": "+1 555 0199", "last_name__v": account["last_name__v"]},
    )
    (item,) = ipad.queue()
    assert item.items == [
        {
            "op": "update",
            "object": "account__v",
            "id": account["id"],
            "changes": {"phone__v": {"old": account.get("phone__v"), "new": "+1 555 0199"}},
        }
    ]


@pytest.mark.rule("AS-02")
def test_nothing_is_queued_while_related_edits_are_open_and_cancel_queues_nothing(world: World) -> None:
    ipad = world.device("Anna iPad")
    ipad.set_network("offline")
    account = account_of(ipad)
    session = ipad.begin_edit("order__v")
    session.set("account__v", account["id"])
    session.set("order_date__v", "2026-11-26")
    session.add_child("order_line__v", {"product__v": "cholecap__c", "quantity__v": 2, "list_price__v": 10.0})
    assert ipad.queue() == [], "lines open: nothing queued"
    session.cancel()
    assert ipad.queue() == []
    assert ipad.screen is None


@pytest.mark.rule("AS-05")
@pytest.mark.rule("AS-04")
def test_families_are_one_transaction_other_objects_one_item_per_record(world: World) -> None:
    ipad = world.device("Anna iPad")
    ipad.set_network("offline")
    save_order(ipad, ("cholecap__c", 2, 10.0), ("restolar__c", 1, 5.0))
    event = next(r for r in ipad.records("medical_event__v"))
    ipad.save("event_attendee__v", None, {"medical_event__v": event["id"], "attendee_name__v": "Dr. A"})
    ipad.save("event_attendee__v", None, {"medical_event__v": event["id"], "attendee_name__v": "Dr. B"})
    queue = ipad.queue()
    assert [len(i.items) for i in queue] == [3, 1, 1]
    assert [i["object"] for i in queue[0].items] == ["order__v", "order_line__v", "order_line__v"]


@pytest.mark.rule("AS-14")
def test_server_ids_replace_temporary_ids_everywhere_and_fields_come_back(world: World) -> None:
    ipad = world.device("Anna iPad")
    ipad.set_network("offline")
    save_order(ipad, ("cholecap__c", 4, 25.0))
    temp_order = ipad.queue()[0].items[0]["id"]
    assert temp_order.startswith("tmp-")
    ipad.set_network("online")
    world.settle()
    assert ipad.record(temp_order) is None
    order = next(
        r
        for r in ipad.records("order__v")
        if r.get("name__v")
        and r["created_date__v"] == "2026-11-26T09:00:00Z"
        and r.get("total_amount__v") == 100.0
    )
    assert order["id"].startswith("V3O") and order["name__v"].startswith("ORD-")
    assert order["delivery_date__v"] == "2026-11-29", "trigger result applied locally"
    (line,) = [r for r in ipad.records("order_line__v") if r["order__v"] == order["id"]]
    assert line["net_amount__v"] == 100.0, "formula applied locally"


@pytest.mark.rule("AS-14")
def test_a_record_created_and_edited_offline_keeps_both_changes(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_network("offline")
    ipad.save("call2__v", None, {"account__v": account["id"], "call_date__v": "2026-11-26"})
    temp = ipad.queue()[0].items[0]["id"]
    ipad.save("call2__v", temp, {"notes__v": "second thoughts"})
    ipad.set_network("online")
    world.settle()
    assert ipad.queue() == [] and ipad.sync_errors() == []
    call = next(r for r in ipad.records("call2__v") if r.get("notes__v") == "second thoughts")
    assert world.online_record("call2__v", call["id"])["notes__v"] == "second thoughts"


@pytest.mark.rule("AS-01")
@pytest.mark.rule("AS-14")
def test_a_deleted_record_stays_deleted_when_the_server_answers(world: World) -> None:
    """The server returns the record it deleted; the iPad must not put it back. Nor may the
    answer to an earlier save bring back a record deleted while that save was on its way."""
    ipad = world.device("Anna iPad")
    calls = [r for r in ipad.records("call2__v") if r.get("status__v") != "submitted__v"][:2]
    first, second = (c["id"] for c in calls)
    ipad.delete("call2__v", first)
    world.settle()
    assert ipad.queue() == [] and ipad.record(first) is None, "deleted here and online"
    assert first not in {r["id"] for r in ipad.records("call2__v")}
    ipad.set_network("offline")
    ipad.save("call2__v", second, {"notes__v": "about to go"})
    ipad.delete("call2__v", second)
    ipad.set_network("online")
    world.settle()
    assert ipad.queue() == [] and ipad.sync_errors() == []
    assert ipad.record(second) is None, "the save's answer did not bring it back"


@pytest.mark.rule("AS-06")
@pytest.mark.rule("AS-30")
def test_offline_items_wait_then_drain_first_in_first_out(world: World) -> None:
    ipad = world.device("Anna iPad")
    accounts = [a for a in ipad.records("account__v") if a.get("territory__v") == "T-NE"][:3]
    ipad.set_network("offline")
    for n, account in enumerate(accounts):
        ipad.save("account__v", account["id"], {"phone__v": f"+1 555 010{n}"})
    world.advance(minutes=5)
    assert len(ipad.queue()) == 3, "offline: nothing leaves"
    assert {ipad.sync_state(a["id"]) for a in accounts} == {"saved_locally"}
    ipad.set_network("online")
    world.settle()
    uploaded = [e.record[1] for e in world.events("uploaded", ipad) if e.record]
    assert uploaded[-3:] == [a["id"] for a in accounts], "first in, first out"
    assert {ipad.sync_state(a["id"]) for a in accounts} == {"synced"}


@pytest.mark.rule("AS-06")
def test_in_the_background_items_wait_until_the_foreground(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_foreground(False)
    ipad.save("account__v", account["id"], {"phone__v": "bg"})
    world.advance(minutes=2)
    assert len(ipad.queue()) == 1
    ipad.set_foreground(True)
    world.settle()
    assert ipad.queue() == []


@pytest.mark.rule("AS-06")
def test_a_transport_failure_keeps_the_item_first_and_retries_with_backoff(world: World) -> None:
    ipad = world.device("Anna iPad")
    a, b = [a for a in ipad.records("account__v") if a.get("territory__v") == "T-NE"][:2]
    ipad.inject_fault("server_error")
    ipad.save("account__v", a["id"], {"phone__v": "first"})
    ipad.save("account__v", b["id"], {"phone__v": "second"})
    world.settle()
    assert [i.items[0]["id"] for i in ipad.queue()] == [a["id"], b["id"]], "order kept"
    assert ipad.queue()[0].attempts == 1
    world.advance(seconds=4)
    assert len(ipad.queue()) == 2, "backoff: not before 5 s"
    world.advance(seconds=1)
    assert ipad.queue() == []
    assert world.online_record("account__v", a["id"])["phone__v"] == "first"


@pytest.mark.rule("AS-06")
def test_a_lost_reply_is_retried_under_the_same_id_and_applied_once(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.inject_fault("reply_lost")
    ipad.save(
        "call2__v", None, {"account__v": account["id"], "call_date__v": "2026-11-26", "notes__v": "once"}
    )
    world.settle()
    assert len(ipad.queue()) == 1, "the server committed but the device does not know"
    world.advance(seconds=5)
    assert ipad.queue() == []
    calls = world.online("GET", "/records?object=call2__v&limit=5000")["records"]
    assert [c["fields"].get("notes__v") for c in calls].count("once") == 1
    assert any(e.data.get("replayed") for e in world.events("uploaded", ipad))


@pytest.mark.rule("AS-06")
def test_a_sync_error_does_not_block_the_items_behind_it(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_network("offline")
    ipad.save(
        "call2__v",
        None,
        {"account__v": account["id"], "call_date__v": "2026-11-26"},
        children=[("call2_sample__v", {"product__v": "cholecap__c", "quantity__v": 99})],
    )
    ipad.save("account__v", account["id"], {"phone__v": "behind"})
    ipad.set_network("online")
    world.settle()
    assert ipad.queue() == []
    (error,) = ipad.sync_errors()
    assert error.message == "Sample quantity must be between 1 and 50."
    assert world.online_record("account__v", account["id"])["phone__v"] == "behind"


@pytest.mark.rule("AS-06")
def test_lie_fi_times_out_in_emulated_time_and_recovers(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_network("lie-fi")
    ipad.save("account__v", account["id"], {"phone__v": "lie-fi"})
    world.settle()
    assert ipad.queue()[0].state == "uploading", "the app thinks it is online and waits"
    world.advance(seconds=30)
    assert ipad.queue()[0].state == "waiting" and "timed out" in (ipad.queue()[0].last_error or "")
    ipad.set_network("online")
    world.advance(seconds=5)
    assert ipad.queue() == []


def test_saving_nothing_changed_queues_nothing(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    assert ipad.save("account__v", account["id"], {"phone__v": account.get("phone__v")}) is None
    assert ipad.queue() == []


def test_an_unknown_field_is_refused_on_the_edit_screen(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    with pytest.raises(ActionRefused, match="no editable field"):
        ipad.save("account__v", account["id"], {"formatted_name__v": "x"})
    assert ipad.edit is None, "the failed edit screen is closed"
