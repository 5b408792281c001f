"""The Errors tab on the device: Undo, Undelete and Clear, carried out by incremental sync (AS-34).

Also AS-07's revised decision: there is no "keep mine"; to win, the user undoes, syncs, edits
again and saves.
"""

from __future__ import annotations

import pytest

from emulator.engine.device import ActionRefused, Device
from tests.engine.conftest import World, account_of, save_order


def conflict(world: World) -> tuple[Device, Device, str]:
    """Anna's Pro and offline Air save different phones for one account: the Air gets an error."""
    pro = world.device("Anna iPad Pro")
    air = world.device("Anna iPad Air", model="iPad Air 2")
    account = account_of(pro)["id"]
    air.set_network("offline")
    pro.save("account__v", account, {"phone__v": "+1 555 0100"})
    air.save("account__v", account, {"phone__v": "+1 555 0199"})
    air.set_network("online")
    world.settle()
    assert len(air.sync_errors()) == 1
    return pro, air, account


@pytest.mark.rule("AS-34")
@pytest.mark.rule("AS-07")
def test_undo_is_carried_out_by_the_next_incremental_sync(world: World) -> None:
    _pro, air, account = conflict(world)
    (error,) = air.sync_errors()
    assert air.error_actions(error) == ("undo",)
    air.act_on_error(error.id, "undo")
    assert (air.record(account) or {})["phone__v"] == "+1 555 0199", "nothing happens before the sync"
    assert air.sync_errors()[0].requested == "undo"
    report = world.sync(air)
    assert report.ok and report.errors == 0
    assert air.sync_errors() == []
    assert air.record(account) == world.online_record("account__v", account), "the record equals online"
    assert [e.data["how"] for e in world.events("error_resolved", air)] == ["undo"]


@pytest.mark.rule("AS-07")
@pytest.mark.rule("AS-34")
def test_to_win_the_user_undoes_syncs_edits_again_and_saves(world: World) -> None:
    _pro, air, account = conflict(world)
    air.act_on_error(air.sync_errors()[0].id, "undo")
    world.sync(air)
    air.save("account__v", account, {"phone__v": "+1 555 0199"})
    world.settle()
    assert air.sync_errors() == []
    assert world.online_record("account__v", account)["phone__v"] == "+1 555 0199"


@pytest.mark.rule("AS-34")
def test_an_error_whose_record_has_a_pending_upload_can_only_be_cleared(world: World) -> None:
    _pro, air, account = conflict(world)
    air.set_network("offline")
    air.save("account__v", account, {"email__v": "later@example.org"})  # a new edit waits in the queue
    (error,) = air.sync_errors()
    assert air.error_actions(error) == ("clear",)
    with pytest.raises(ActionRefused, match="can only be cleared"):
        air.act_on_error(error.id, "undo")
    air.act_on_error(error.id, "clear")
    assert air.sync_errors() == []
    assert (air.record(account) or {})["phone__v"] == "+1 555 0199", "clearing leaves the data as it is"
    assert len(air.queue()) == 1, "the new edit still waits to upload"


@pytest.mark.rule("AS-34")
def test_a_new_edit_of_a_record_with_an_error_does_not_take_the_error_away(world: World) -> None:
    _pro, air, account = conflict(world)
    air.save("account__v", account, {"email__v": "new@example.org"})
    world.settle()
    (error,) = air.sync_errors()
    assert error.kind == "conflict", "the failed phone change is not sent again behind the user's back"
    assert world.online_record("account__v", account)["phone__v"] == "+1 555 0100"
    assert world.online_record("account__v", account)["email__v"] == "new@example.org"
    assert air.error_actions(error) == ("undo",), "once the new edit is answered, Undo is offered again"


@pytest.mark.rule("AS-34")
def test_undelete_turns_the_next_sync_into_a_database_refresh(world: World) -> None:
    pro = world.device("Anna iPad Pro")
    air = world.device("Anna iPad Air", model="iPad Air 2")
    save_order(pro, ("cholecap__c", 2, 10.0), ("restolar__c", 1, 20.0))
    world.settle()
    order = next(e.record[1] for e in world.events("uploaded", pro) if e.record)
    world.poll_all()
    air.set_network("offline")
    air.delete("order__v", order)  # the Air deletes the order and its lines ...
    pro.save("order__v", order, {}, submit=True)  # ... which the Pro submits meanwhile
    air.set_network("online")
    world.settle()
    (error,) = air.sync_errors()
    assert error.kind == "submitted" and air.record(order) is None
    assert air.error_actions(error) == ("undelete",)
    air.act_on_error(error.id, "undelete")
    report = world.sync(air)
    assert report.full, "the sync became a full database refresh"
    assert air.sync_errors() == []
    assert air.record(order) == world.online_record("order__v", order)
    lines = [r for r in air.records("order_line__v") if r["order__v"] == order]
    assert len(lines) == 2, "its relationships came back too"
    assert [e.data["how"] for e in world.events("error_resolved", air)] == ["undelete"]


@pytest.mark.rule("AS-34")
def test_every_sync_ends_in_the_error_state_until_each_error_is_dealt_with(world: World) -> None:
    _pro, air, _account = conflict(world)
    (alert,) = air.unread_notices()
    assert alert.kind == "sync_error", "a new sync error shows the modal"
    air.dismiss_notices(alert.id)  # OK: on to the Errors tab
    report = world.sync(air)
    assert not report.ok and report.errors == 1
    assert [n.kind for n in air.unread_notices()] == ["sync_error"], "the modal shows again"
    assert air.sync_widget().state == "errors"


@pytest.mark.rule("AS-34")
def test_an_admin_clears_client_sync_errors_from_online(world: World) -> None:
    _pro, air, account = conflict(world)
    world.online("POST", "/users/anna/commands", json={"kind": "clear_sync_errors"})
    assert len(air.sync_errors()) == 1, "it takes effect at the device's next incremental sync"
    report = world.sync(air)
    assert report.ok and air.sync_errors() == []
    assert [e.data["how"] for e in world.events("error_resolved", air)] == ["admin_clear"]
    assert air.record(account) == world.online_record("account__v", account), (
        "no error holds the record back any more: the sync brings its newer online version"
    )
    world.sync(air)
    assert air.store.setting("last_command_id") == 1, "each command runs once"


@pytest.mark.rule("AS-37")
def test_an_admin_forces_a_full_refresh_at_the_next_sync(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)["id"]
    ipad.store.put("account__v", {**(ipad.record(account) or {}), "phone__v": "corrupt"})
    assert not world.sync(ipad).full
    assert (ipad.record(account) or {})["phone__v"] == "corrupt", "an incremental sync brings only changes"
    world.online("POST", "/users/anna/commands", json={"kind": "full_refresh"})
    report = world.sync(ipad)
    assert report.full
    assert ipad.record(account) == world.online_record("account__v", account)
    assert not world.sync(ipad).full, "the command ran once"
