"""Server save logic through the HTTP API: AS-05, AS-07 to AS-14, idempotent uploads."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server_stub.conftest import ADMIN, ANNA, BEN, Api, create, update


def anna_account(api: Api) -> dict[str, Any]:
    return api.find("account__v", territory__v="T-NE", account_type__v="hcp__v")


def new_order(api: Api, token: str = ANNA, **order: Any) -> dict[str, Any]:
    account = anna_account(api)
    answer = api.upload(
        token,
        [
            create(
                "order__v",
                "tmp-o1",
                account__v=account["id"],
                order_date__v="2026-11-26",
                **order,
            ),
            create(
                "order_line__v",
                "tmp-l1",
                order__v="tmp-o1",
                product__v="cholecap__c",
                quantity__v=10,
                list_price__v=40.0,
                discount__v=10,
            ),
            create(
                "order_line__v",
                "tmp-l2",
                order__v="tmp-o1",
                product__v="restolar__c",
                quantity__v=2,
                list_price__v=15.5,
            ),
        ],
    )
    assert answer["outcome"] == "saved", answer
    return answer


def new_call(api: Api, token: str = ANNA, **call: Any) -> dict[str, Any]:
    account = anna_account(api)
    fields = {"account__v": account["id"], "call_date__v": "2026-11-25", **call}
    answer = api.upload(
        token,
        [
            create("call2__v", "tmp-c1", **fields),
            create("call2_discussion__v", "tmp-d1", call2__v="tmp-c1", product__v="cholecap__c"),
        ],
    )
    assert answer["outcome"] == "saved", answer
    return answer


@pytest.mark.rule("AS-14")
def test_create_gets_server_id_autonumber_formula_dates_and_trigger_fields(api: Api) -> None:
    answer = new_order(api)
    by_temp = {r["temp_id"]: r for r in answer["records"]}
    order = by_temp["tmp-o1"]["fields"]
    line = by_temp["tmp-l1"]["fields"]
    assert order["id"].startswith("V3O") and order["id"] == answer["id_map"]["tmp-o1"]
    assert order["name__v"].startswith("ORD-")
    assert line["order__v"] == order["id"], "the child's master now holds the server ID"
    assert line["net_amount__v"] == 360.0, "formula: 10 x 40.00 less 10 %"
    assert order["total_amount__v"] == 391.0 and order["line_count__v"] == 2, "roll-ups"
    assert order["delivery_date__v"] == "2026-11-29", "trigger: order date + 3 days"
    assert order["created_date__v"] == order["modified_date__v"] == "2026-11-26T09:00:00Z"
    assert order["ownerid__v"] == "anna"
    assert api.online("order__v", order["id"])["total_amount__v"] == 391.0


@pytest.mark.rule("AS-14")
def test_autonumbers_increase_and_modified_date_follows_the_clock(api: Api) -> None:
    first = new_call(api)["records"][0]["fields"]
    api.advance(minutes=5)
    second = new_call(api)["records"][0]["fields"]
    assert int(second["name__v"][2:]) == int(first["name__v"][2:]) + 1
    answer = api.upload(ANNA, [update("call2__v", first["id"], notes__v=(None, "Follow up"))])
    assert answer["records"][0]["fields"]["modified_date__v"] == "2026-11-26T09:05:00Z"
    assert answer["records"][0]["fields"]["created_date__v"] == "2026-11-26T09:00:00Z"


@pytest.mark.rule("AS-07")
def test_two_devices_racing_for_one_record_first_save_wins(api: Api) -> None:
    account = anna_account(api)
    old = account.get("phone__v")
    first = api.upload(ANNA, [update("account__v", account["id"], phone__v=(old, "+1 555 0101"))], device="a")
    second = api.upload(
        ANNA, [update("account__v", account["id"], phone__v=(old, "+1 555 0202"))], device="b"
    )
    assert first["outcome"] == "saved"
    assert second["outcome"] == "sync_error"
    error = second["error"]
    assert error["kind"] == "conflict" and error["record_id"] == account["id"]
    assert error["conflicts"] == [
        {
            "field": "phone__v",
            "label": "Phone",
            "previous": old,
            "online": "+1 555 0101",
            "new": "+1 555 0202",
        }
    ]
    assert api.online("account__v", account["id"])["phone__v"] == "+1 555 0101"


@pytest.mark.rule("AS-07")
def test_same_new_value_from_two_devices_is_not_a_conflict(api: Api) -> None:
    account = anna_account(api)
    old = account.get("email__v")
    for device in ("a", "b"):
        answer = api.upload(
            ANNA,
            [update("account__v", account["id"], email__v=(old, "x@example.com"))],
            device=device,
        )
        assert answer["outcome"] == "saved"


@pytest.mark.rule("AS-09")
@pytest.mark.rule("AS-08")
def test_different_fields_of_one_record_both_succeed(api: Api) -> None:
    account = anna_account(api)
    a = api.upload(ANNA, [update("account__v", account["id"], phone__v=(account.get("phone__v"), "1"))])
    b = api.upload(ANNA, [update("account__v", account["id"], email__v=(account.get("email__v"), "b@x.org"))])
    assert (a["outcome"], b["outcome"]) == ("saved", "saved")
    online = api.online("account__v", account["id"])
    assert (online["phone__v"], online["email__v"]) == ("1", "b@x.org")


@pytest.mark.rule("AS-09")
def test_one_stale_field_rejects_the_whole_record(api: Api) -> None:
    account = anna_account(api)
    api.upload(ANNA, [update("account__v", account["id"], phone__v=(account.get("phone__v"), "1"))])
    answer = api.upload(
        ANNA,
        [
            update(
                "account__v",
                account["id"],
                phone__v=(account.get("phone__v"), "2"),
                email__v=(account.get("email__v"), "never@saved.org"),
            )
        ],
    )
    assert answer["outcome"] == "sync_error"
    assert [c["field"] for c in answer["error"]["conflicts"]] == ["phone__v"]
    assert api.online("account__v", account["id"])["email__v"] == account.get("email__v")


@pytest.mark.rule("AS-10")
@pytest.mark.rule("AS-05")
def test_family_edits_override_without_previous_value_check(api: Api) -> None:
    order = new_order(api)["id_map"]["tmp-o1"]
    api.upload(ANNA, [update("order__v", order, delivery_date__v=("2026-11-29", "2026-12-01"))])
    stale = api.upload(ANNA, [update("order__v", order, delivery_date__v=("2026-11-29", "2026-12-24"))])
    assert stale["outcome"] == "saved", "families override: no previous-value check"
    assert api.online("order__v", order)["delivery_date__v"] == "2026-12-24"


@pytest.mark.rule("AS-11")
def test_submitted_call_edited_elsewhere_becomes_a_duplicate_with_its_children(api: Api) -> None:
    created = new_call(api)
    call_id = created["id_map"]["tmp-c1"]
    discussion_id = created["id_map"]["tmp-d1"]
    submitted = api.upload(
        ANNA, [update("call2__v", call_id, status__v=("saved__v", "submitted__v"))], device="a"
    )
    assert submitted["records"][0]["fields"]["submitted_date__v"] == "2026-11-26T09:00:00Z"
    answer = api.upload(
        ANNA,
        [
            update("call2__v", call_id, notes__v=(None, "Edited on the other iPad")),
            update("call2_discussion__v", discussion_id, discussion_topic__v=(None, "Dosing")),
            create(
                "call2_sample__v",
                "tmp-s1",
                call2__v=call_id,
                product__v="cholecap__c",
                quantity__v=2,
            ),
        ],
        device="b",
    )
    assert answer["outcome"] == "duplicated", answer
    duplicate_id = answer["id_map"][call_id]
    assert duplicate_id != call_id
    duplicate = api.online("call2__v", duplicate_id)
    assert duplicate["duplicate_of__v"] == call_id
    assert duplicate["notes__v"] == "Edited on the other iPad"
    assert duplicate["account__v"] == api.online("call2__v", call_id)["account__v"]
    children = {(r["call2__v"], r.get("discussion_topic__v")) for r in api.all("call2_discussion__v")}
    assert (duplicate_id, "Dosing") in children
    assert (call_id, None) in children, "the submitted call's discussion is untouched"
    samples = [r for r in api.all("call2_sample__v") if r["call2__v"] == duplicate_id]
    assert len(samples) == 1
    original = api.online("call2__v", call_id)
    assert original["status__v"] == "submitted__v" and original.get("notes__v") is None
    assert duplicate["status__v"] == "saved__v", "the editing iPad only saved: so is the duplicate"
    assert duplicate.get("submitted_date__v") is None


@pytest.mark.rule("AS-11")
def test_a_duplicate_is_submitted_only_when_the_editing_device_submitted_it_too(api: Api) -> None:
    call_id = new_call(api)["id_map"]["tmp-c1"]
    api.upload(ANNA, [update("call2__v", call_id, status__v=("saved__v", "submitted__v"))], device="a")
    api.advance(minutes=5)
    answer = api.upload(
        ANNA,
        [update("call2__v", call_id, notes__v=(None, "Also"), status__v=("saved__v", "submitted__v"))],
        device="b",
    )
    duplicate = api.online("call2__v", answer["id_map"][call_id])
    assert duplicate["status__v"] == "submitted__v"
    assert duplicate["submitted_date__v"] == "2026-11-26T09:05:00Z", "stamped when the duplicate was saved"


@pytest.mark.rule("AS-12")
def test_submitted_order_edited_elsewhere_is_discarded_and_fed_back(api: Api) -> None:
    order = new_order(api)["id_map"]["tmp-o1"]
    api.upload(ANNA, [update("order__v", order, status__v=("saved__v", "submitted__v"))])
    before = api.feed("anna", ANNA)["latest_seq"]
    answer = api.upload(ANNA, [update("order__v", order, delivery_date__v=("2026-11-29", "2027-01-01"))])
    assert answer["outcome"] == "discarded"
    assert "discarded" in answer["message"]
    assert api.online("order__v", order)["delivery_date__v"] == "2026-11-29"
    entries = api.feed("anna", ANNA, after=before)["entries"]
    assert [e["reason"] for e in entries] == ["submitted_version"]
    fed = {r["id"]: r["fields"] for r in entries[0]["records"]}
    assert fed[order]["status__v"] == "submitted__v"
    assert len(fed) == 3, "the order travels with its two lines"


@pytest.mark.rule("AS-13")
@pytest.mark.rule("AS-05")
def test_validation_error_is_a_sync_error_and_saves_nothing_of_the_transaction(api: Api) -> None:
    account = anna_account(api)
    orders_before = len(api.all("order__v"))
    answer = api.upload(
        ANNA,
        [
            create("order__v", "tmp-o", account__v=account["id"], order_date__v="2026-11-26"),
            create(
                "order_line__v",
                "tmp-l",
                order__v="tmp-o",
                product__v="cholecap__c",
                quantity__v=0,
                list_price__v=1,
            ),
        ],
    )
    assert answer["outcome"] == "sync_error"
    assert answer["error"]["kind"] == "validation"
    assert answer["error"]["rule"] == "order_line_quantity_positive"
    assert answer["error"]["message"] == "Order line quantity must be at least 1."
    assert len(api.all("order__v")) == orders_before


@pytest.mark.rule("AS-13")
def test_a_switched_off_validation_rule_no_longer_refuses(api: Api) -> None:
    call = new_call(api)["id_map"]["tmp-c1"]
    sample = create("call2_sample__v", "tmp-s", call2__v=call, product__v="cholecap__c", quantity__v=99)
    assert api.upload(ANNA, [sample])["outcome"] == "sync_error"
    api.ok(
        "PUT",
        "/api/v1/admin/validation-rules/call_sample_quantity_range",
        ADMIN,
        json={"enabled": False},
    )
    assert api.upload(ANNA, [sample])["outcome"] == "saved"


@pytest.mark.rule("AS-13")
def test_future_call_cannot_be_submitted(api: Api) -> None:
    account = anna_account(api)
    answer = api.upload(
        ANNA,
        [
            create(
                "call2__v",
                "tmp",
                account__v=account["id"],
                call_date__v="2026-12-24",
                status__v="submitted__v",
            )
        ],
    )
    assert answer["error"]["message"] == "A call dated in the future cannot be submitted."


def test_retried_transaction_id_gets_the_original_answer_and_changes_nothing(api: Api) -> None:
    account = anna_account(api)
    items = [create("call2__v", "tmp-r", account__v=account["id"], call_date__v="2026-11-20")]
    first = api.upload(ANNA, items, txn="txn-retry-1")
    calls = len(api.all("call2__v"))
    seq = api.feed("anna", ANNA)["latest_seq"]
    again = api.upload(ANNA, items, txn="txn-retry-1")
    assert again["replayed"] is True and first["replayed"] is False
    assert again["id_map"] == first["id_map"] and again["records"] == first["records"]
    assert len(api.all("call2__v")) == calls
    assert api.feed("anna", ANNA)["latest_seq"] == seq


@pytest.mark.rule("AS-05")
def test_a_transaction_mixing_families_is_refused_as_malformed(api: Api) -> None:
    account = anna_account(api)
    response = api.request(
        "POST",
        "/api/v1/transactions",
        ANNA,
        json={
            "transaction_id": "mixed",
            "device_id": "x",
            "items": [
                create("call2__v", "t1", account__v=account["id"], call_date__v="2026-11-20"),
                create("order__v", "t2", account__v=account["id"], order_date__v="2026-11-20"),
            ],
        },
    )
    assert response.status_code == 422 and "different families" in response.json()["detail"]


def test_editing_a_record_deleted_online_is_a_sync_error(api: Api) -> None:
    call = new_call(api)["id_map"]["tmp-c1"]
    assert api.upload(ANNA, [{"op": "delete", "object": "call2__v", "id": call}])["outcome"] == "saved"
    answer = api.upload(ANNA, [update("call2__v", call, notes__v=(None, "late"))])
    assert answer["error"]["kind"] == "not_found"
    assert all(r["call2__v"] != call for r in api.all("call2_discussion__v")), "cascade delete"


def test_another_users_record_cannot_be_edited(api: Api) -> None:
    call = new_call(api)["id_map"]["tmp-c1"]
    answer = api.upload(BEN, [update("call2__v", call, notes__v=(None, "not mine"))])
    assert answer["error"]["kind"] == "access"
