"""The per-user data feed through the HTTP API: AS-15 to AS-19."""

from __future__ import annotations

import pytest

from server_stub.app import create_app
from server_stub.clock import ManualClock
from tests.server_stub.conftest import ADMIN, ANNA, BEN, CHLOE, Api, create, update
from tests.server_stub.test_saving import anna_account, new_call


@pytest.mark.rule("AS-16")
def test_every_uploaded_record_goes_on_the_users_feed_at_once(api: Api) -> None:
    answer = new_call(api)
    page = api.feed("anna", ANNA)
    entry = page["entries"][-1]
    assert entry["transaction_id"] == answer["transaction_id"]
    assert entry["origin_device"] == "ipad-1"
    assert {r["id"] for r in entry["records"]} >= set(answer["id_map"].values())
    assert entry["added_at"] == "2026-11-26T09:00:00Z"
    assert entry["expires_at"] == "2026-12-03T09:00:00Z"


@pytest.mark.rule("AS-15")
def test_a_device_reads_only_its_own_users_feed(api: Api) -> None:
    new_call(api)
    assert api.request("GET", "/api/v1/feeds/anna", CHLOE).status_code == 403
    assert api.request("GET", "/api/v1/feeds/anna", BEN).status_code == 403
    assert api.feed("chloe", CHLOE)["entries"] == []
    assert api.feed("ben", BEN)["entries"] == [], "same territory, still not ben's feed"


@pytest.mark.rule("AS-15")
def test_a_device_cannot_read_another_users_record(api: Api) -> None:
    call = new_call(api)["id_map"]["tmp-c1"]
    assert api.request("GET", f"/api/v1/records/call2__v/{call}", ANNA).status_code == 200
    response = api.request("GET", f"/api/v1/records/call2__v/{call}", CHLOE)
    assert response.status_code == 403 and "another user" in response.json()["detail"]


@pytest.mark.rule("AS-17")
def test_a_saved_child_puts_its_master_on_the_feed_with_its_rollup(api: Api) -> None:
    event = api.find("medical_event__v", territory__v="T-NE")
    count = event["attendee_count__v"]
    answer = api.upload(
        ANNA,
        [
            create(
                "event_attendee__v",
                "tmp-a",
                medical_event__v=event["id"],
                attendee_name__v="Dr. New",
            )
        ],
    )
    assert answer["outcome"] == "saved"
    records = {r["id"]: r["fields"] for r in api.feed("anna", ANNA)["entries"][-1]["records"]}
    assert records[event["id"]]["attendee_count__v"] == count + 1
    assert api.online("medical_event__v", event["id"])["attendee_count__v"] == count + 1


@pytest.mark.rule("AS-18")
def test_entries_expire_after_seven_days_and_a_late_reader_is_told(api: Api) -> None:
    new_call(api)
    seq = api.feed("anna", ANNA)["latest_seq"]
    api.advance(days=6, hours=23)
    assert len(api.feed("anna", ANNA)["entries"]) == 1, "still there after 6 days 23 hours"
    api.advance(hours=1)
    page = api.feed("anna", ANNA, after=0)
    assert page["entries"] == []
    assert page["missed"] is True, "a device that never read it has missed changes"
    assert page["purged_through"] == seq
    assert api.feed("anna", ANNA, after=seq)["missed"] is False, "one that read it has not"


@pytest.mark.rule("AS-18")
def test_expiry_is_shown_to_the_admin_with_ages(api: Api) -> None:
    new_call(api)
    api.advance(days=2)
    new_call(api)
    page = api.ok("GET", "/api/v1/admin/feeds/anna", ADMIN)
    assert [e["added_at"] for e in page["entries"]] == [
        "2026-11-26T09:00:00Z",
        "2026-11-28T09:00:00Z",
    ]
    assert page["server_time"] == "2026-11-28T09:00:00Z"


@pytest.mark.rule("AS-19")
def test_a_record_outside_the_where_clause_still_reaches_the_feed(api: Api) -> None:
    account = anna_account(api)
    answer = api.upload(
        ANNA,
        [create("call2__v", "tmp-old", account__v=account["id"], call_date__v="2026-06-01")],
    )
    call_id = answer["id_map"]["tmp-old"]
    fed = [r["id"] for e in api.feed("anna", ANNA)["entries"] for r in e["records"]]
    assert call_id in fed, "the feed does not re-check the where clause"
    synced = api.sync(ANNA)
    assert call_id not in synced["visible_ids"]["call2__v"], "incremental sync does"
    assert call_id not in {r["id"] for r in synced["records"]}


@pytest.mark.rule("AS-28")
def test_every_device_of_the_user_gets_the_same_feed(api: Api) -> None:
    account = anna_account(api)
    api.upload(
        ANNA,
        [update("account__v", account["id"], phone__v=(account.get("phone__v"), "9"))],
        device="ipad-a",
    )
    entries = api.feed("anna", ANNA)["entries"]
    assert entries[-1]["origin_device"] == "ipad-a"
    assert api.feed("anna", ANNA) == api.feed("anna", ANNA), "any device reading sees the same"


def test_random_user_tokens_replace_the_development_ones() -> None:
    clock = ManualClock()
    server = Api(create_app(clock=clock, admin_token=ADMIN, random_user_tokens=True), clock)
    try:
        assert server.request("GET", "/api/v1/me", ANNA).status_code == 401
        token = server.ok("GET", "/api/v1/admin/users/anna/token", ADMIN)["token"]
        assert token != ANNA and len(token) >= 24
        assert server.ok("GET", "/api/v1/me", token)["id"] == "anna"
        server.ok("POST", "/api/v1/admin/reset", ADMIN)  # a reset keeps the random tokens
        assert server.ok("GET", "/api/v1/admin/users/anna/token", ADMIN)["token"] == token
    finally:
        server.close()
