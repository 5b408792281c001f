"""Incremental sync and the online side through the HTTP API: AS-19, AS-27."""

from __future__ import annotations

from typing import Any

import pytest

from server_stub import sync as server_sync
from tests.server_stub.conftest import ADMIN, ANNA, BEN, CHLOE, Api, update
from tests.server_stub.test_saving import anna_account


def sync(api: Api, token: str, cursor: int | None = None) -> dict[str, Any]:
    return api.sync(token, cursor)


@pytest.mark.rule("AS-27")
def test_full_sync_returns_only_what_the_where_clauses_allow(api: Api) -> None:
    anna = sync(api, ANNA)
    chloe = sync(api, CHLOE)
    assert anna["full"] is True
    anna_accounts = {r["fields"]["territory__v"] for r in anna["records"] if r["object"] == "account__v"}
    assert anna_accounts == {"T-NE"}
    assert set(anna["visible_ids"]["account__v"]).isdisjoint(chloe["visible_ids"]["account__v"])
    owners = {r["fields"]["ownerid__v"] for r in anna["records"] if r["object"] == "call2__v"}
    assert owners == {"anna"}
    assert {d["kind"] for d in anna["datasets"]} >= {"clm", "approved_email", "xpages", "nitro"}
    assert "account__v" in anna["schema"]["objects"]


@pytest.mark.rule("AS-27")
def test_an_online_edit_reaches_devices_only_by_incremental_sync(api: Api) -> None:
    first = sync(api, ANNA)
    account = anna_account(api)
    api.advance(minutes=1)
    api.ok(
        "PATCH",
        f"/api/v1/admin/records/account__v/{account['id']}",
        ADMIN,
        json={"actor": "integration", "fields": {"phone__v": "+1 555 7777"}},
    )
    assert api.feed("anna", ANNA)["entries"] == [], "online edits never go on the feed"
    changed = sync(api, ANNA, cursor=first["cursor"])
    fields = next(r["fields"] for r in changed["records"] if r["id"] == account["id"])
    assert fields["phone__v"] == "+1 555 7777" and fields["modified_by__v"] == "integration"
    assert changed["full"] is False
    assert len(changed["records"]) < len(first["records"])


@pytest.mark.rule("AS-27")
def test_another_users_change_arrives_only_by_incremental_sync(api: Api) -> None:
    first = sync(api, ANNA)
    account = anna_account(api)
    api.advance(minutes=1)
    answer = api.upload(BEN, [update("account__v", account["id"], phone__v=(account.get("phone__v"), "42"))])
    assert answer["outcome"] == "saved"
    assert api.feed("anna", ANNA)["entries"] == []
    changed = sync(api, ANNA, cursor=first["cursor"])
    assert account["id"] in {r["id"] for r in changed["records"]}


@pytest.mark.rule("AS-27")
def test_territory_alignment_moves_accounts_between_users(api: Api) -> None:
    account = anna_account(api)
    api.ok(
        "POST",
        "/api/v1/admin/territory-alignment",
        ADMIN,
        json={"account_ids": [account["id"]], "territory": "T-WC"},
    )
    assert account["id"] not in sync(api, ANNA)["visible_ids"]["account__v"]
    chloe = sync(api, CHLOE)
    assert account["id"] in chloe["visible_ids"]["account__v"]
    fetched = api.ok("POST", "/api/v1/sync/fetch", CHLOE, json={"ids": [account["id"], "nope"]})
    assert [r["id"] for r in fetched] == [account["id"]]
    api.ok(
        "POST",
        "/api/v1/admin/territory-alignment",
        ADMIN,
        json={"user_id": "anna", "user_territories": ["T-NE", "T-WC"]},
    )
    assert account["id"] in sync(api, ANNA)["visible_ids"]["account__v"]


@pytest.mark.rule("AS-27")
def test_metadata_and_content_changes_arrive_by_incremental_sync(api: Api) -> None:
    first = sync(api, ANNA)
    version = first["schema"]["metadata_version"]
    api.advance(minutes=1)
    api.ok(
        "POST",
        "/api/v1/admin/metadata",
        ADMIN,
        json={
            "kind": "add_picklist_value",
            "object": "call2__v",
            "field": "call_type__v",
            "value": "virtual__v",
            "label": "Virtual",
        },
    )
    api.ok("POST", "/api/v1/admin/content", ADMIN, json={"kind": "clm", "name": "Restolar Launch"})
    api.ok("POST", "/api/v1/admin/datasets/xpages_sales/refresh", ADMIN)
    changed = sync(api, ANNA, cursor=first["cursor"])
    assert changed["schema"]["metadata_version"] == version + 1
    values = changed["schema"]["objects"]["call2__v"]["fields"]["call_type__v"]["values"]
    assert {"value": "virtual__v", "label": "Virtual"} in values
    names = {d["name"] for d in changed["datasets"]}
    assert names == {"clm_content", "xpages_sales"}
    clm = next(d for d in changed["datasets"] if d["name"] == "clm_content")
    assert any(item["name"] == "Restolar Launch" for item in clm["items"])
    account = anna_account(api)
    answer = api.upload(
        ANNA,
        [
            {
                "op": "create",
                "object": "call2__v",
                "id": "t",
                "fields": {
                    "account__v": account["id"],
                    "call_date__v": "2026-11-26",
                    "call_type__v": "virtual__v",
                },
            }
        ],
    )
    assert answer["outcome"] == "saved", "the new picklist value is accepted on upload"


def test_a_bad_metadata_change_is_refused_with_its_reason(api: Api) -> None:
    response = api.request(
        "POST",
        "/api/v1/admin/metadata",
        ADMIN,
        json={
            "kind": "add_picklist_value",
            "object": "call2__v",
            "field": "notes__v",
            "value": "x__v",
            "label": "X",
        },
    )
    assert response.status_code == 422 and "not a picklist" in response.json()["detail"]


def test_an_online_edit_that_breaks_a_rule_is_refused(api: Api) -> None:
    account = anna_account(api)
    response = api.request(
        "PATCH",
        f"/api/v1/admin/records/account__v/{account['id']}",
        ADMIN,
        json={"fields": {"last_name__v": ""}},
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("An HCP account needs a last name")


def test_reset_returns_to_the_sample_world(api: Api) -> None:
    account = anna_account(api)
    api.ok(
        "PATCH",
        f"/api/v1/admin/records/account__v/{account['id']}",
        ADMIN,
        json={"fields": {"phone__v": "changed"}},
    )
    api.ok("POST", "/api/v1/admin/reset", ADMIN)
    assert api.online("account__v", account["id"]).get("phone__v") != "changed"


def small_pages(monkeypatch: pytest.MonkeyPatch, records: int = 7, ids: int = 11) -> None:
    """Pages of a few records, so that the sample world takes many of them."""
    monkeypatch.setattr(server_sync, "PAGE_RECORDS", records)
    monkeypatch.setattr(server_sync, "PAGE_IDS", ids)


def edit_online(api: Api, record_id: str, phone: str) -> None:
    api.ok(
        "PATCH",
        f"/api/v1/admin/records/account__v/{record_id}",
        ADMIN,
        json={"actor": "integration", "fields": {"phone__v": phone}},
    )


@pytest.mark.rule("AS-27")
def test_the_pages_together_hold_exactly_the_changed_records_once_each(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = sync(api, CHLOE)  # one page of changes, one of IDs: the sample world is small
    assert whole["pages"] == 2
    small_pages(monkeypatch)
    first = sync(api, CHLOE)
    assert first["pages"] > 10
    ids = [r["id"] for r in first["records"]]
    assert len(ids) == len(set(ids)), "no record comes twice"
    assert sorted(ids) == sorted(r["id"] for r in whole["records"])
    assert {k: sorted(v) for k, v in first["visible_ids"].items()} == {
        k: sorted(v) for k, v in whole["visible_ids"].items()
    }
    assert set(ids) == {i for v in first["visible_ids"].values() for i in v}, "a full sync: all visible"

    api.advance(minutes=1)
    chloes = [a["id"] for a in api.all("account__v") if a.get("territory__v") == "T-WC"]
    annas = [a["id"] for a in api.all("account__v") if a.get("territory__v") == "T-NE"]
    assert len(chloes) >= 3 and annas
    for k, record_id in enumerate([*chloes[:3], annas[0], chloes[0]]):  # the first one twice
        edit_online(api, record_id, f"+1 555 {k:04d}")
    changed = sync(api, CHLOE, cursor=first["cursor"])
    assert sorted(r["id"] for r in changed["records"]) == sorted(chloes[:3]), "once each, hers only"
    assert next(r for r in changed["records"] if r["id"] == chloes[0])["fields"]["phone__v"] == "+1 555 0004"
    assert sync(api, CHLOE, cursor=changed["cursor"])["records"] == []


@pytest.mark.rule("AS-27")
def test_a_change_made_while_the_pages_are_read_comes_at_the_next_sync(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_pages(monkeypatch)
    first = api.ok("POST", "/api/v1/sync", CHLOE, json={"cursor": None})
    account = next(a["id"] for a in api.all("account__v") if a.get("territory__v") == "T-WC")
    edit_online(api, account, "+1 555 9999")  # between the first page and the next
    following = first["next"]
    while following is not None:
        page = api.ok("POST", "/api/v1/sync/page", CHLOE, json=following)
        following = page["next"]
    later = sync(api, CHLOE, cursor=first["cursor"])
    assert [r["id"] for r in later["records"]] == [account]
    assert later["records"][0]["fields"]["phone__v"] == "+1 555 9999"


@pytest.mark.rule("AS-19")
def test_a_page_never_carries_what_the_user_may_not_see_wherever_it_starts(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    small_pages(monkeypatch)
    anna = sync(api, ANNA)
    allowed = {i for v in anna["visible_ids"].values() for i in v}
    chloe = sync(api, CHLOE)
    chloes = {i for v in chloe["visible_ids"].values() for i in v}
    assert chloes - allowed, "Chloe sees records Anna does not"
    # Anna sends positions of her own making: anywhere in the changes, anywhere in the IDs
    starts = [
        {"upto": 2**53, "phase": "changes", "seq": -1},
        {"upto": 2**53, "phase": "changes", "seq": 3, "id": "V0A000000000001"},
        {"upto": 2**53, "phase": "visible"},
        {"upto": 0, "phase": "visible", "id": min(chloes)},
    ]
    for start in starts:
        following: dict[str, Any] | None = start
        while following is not None:
            page = api.ok("POST", "/api/v1/sync/page", ANNA, json=following)
            assert {r["id"] for r in page["records"]} <= allowed
            assert {i for v in page["visible_ids"].values() for i in v} <= allowed
            following = page["next"]
