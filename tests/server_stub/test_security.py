"""The server as an attacker meets it: each finding of issue 12, reproduced over HTTP.

Cross-user reads and writes through references, a poisoned endpoint, development tokens and weak
admin tokens on a reachable bind, authentication after the body, a reused transaction ID, loose
types and an undocumented answer. Each test failed against the server before the fix.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from server_stub import cli
from server_stub.clock import ManualClock
from tests.server_stub.conftest import ADMIN, ANNA, BEN, CHLOE, Api, create, update
from tests.server_stub.test_saving import anna_account

UPLOAD = "/api/v1/transactions"
STRONG_ADMIN = "k3J9x-Qw2_Lm8Zp4Rt7Vb1Nc6Yh0Gs5Df"


def chloe_account(api: Api) -> dict[str, Any]:
    return api.find("account__v", territory__v="T-WC", account_type__v="hcp__v")


def chloe_submitted_call(api: Api) -> dict[str, Any]:
    return api.find("call2__v", ownerid__v="chloe", status__v="submitted__v")


def raw_upload(api: Api, token: str | None, body: str, **headers: str) -> Any:
    """Send a body exactly as written (JSON escapes such as \\ud800 included)."""
    return api.request(
        "POST", UPLOAD, token, headers={"Content-Type": "application/json", **headers}, content=body.encode()
    )


def feed_after(api: Api, user: str, token: str, seq: int) -> list[dict[str, Any]]:
    return api.feed(user, token, after=seq)["entries"]  # type: ignore[no-any-return]


# 1. cross-user read and write through references ------------------------------------------------
@pytest.mark.rule("AS-15")
@pytest.mark.rule("AS-17")
def test_a_call_on_another_users_account_is_an_access_error_that_changes_nothing(api: Api) -> None:
    account = chloe_account(api)
    calls_before = len(api.all("call2__v"))
    seq = api.feed("anna", ANNA)["latest_seq"]
    call = create("call2__v", "tmp-c", account__v=account["id"], call_date__v="2026-11-25")
    answer = api.upload(ANNA, [call])
    assert answer["outcome"] == "sync_error" and answer["error"]["kind"] == "access", answer
    assert len(api.all("call2__v")) == calls_before, "nothing saved"
    assert api.online("account__v", account["id"])["call_count__v"] == account["call_count__v"], "no roll-up"
    assert feed_after(api, "anna", ANNA, seq) == [], "nothing of Chloe's on Anna's feed"
    assert feed_after(api, "chloe", CHLOE, 0) == [], "nor on Chloe's"
    assert api.feed("anna", ANNA)["latest_seq"] == seq, "no feed entry anywhere"
    nowhere = api.upload(ANNA, [{**call, "fields": {**call["fields"], "account__v": "V0A999999999999"}}])
    assert nowhere["error"]["kind"] == "access"
    assert nowhere["error"]["message"].replace("V0A999999999999", "ID") == answer["error"]["message"].replace(
        account["id"], "ID"
    ), "an ID that exists and one that does not read the same"


@pytest.mark.rule("AS-11")
@pytest.mark.rule("AS-15")
def test_a_child_under_another_users_submitted_call_is_refused_and_copies_nothing(api: Api) -> None:
    call = chloe_submitted_call(api)
    calls_before = len(api.all("call2__v"))
    seq = api.feed("anna", ANNA)["latest_seq"]
    task = create("task__v", "tmp-t", call2__v=call["id"], subject__v="Follow up")
    answer = api.upload(ANNA, [task])
    assert answer["outcome"] == "sync_error" and answer["error"]["kind"] == "access", answer
    assert len(api.all("call2__v")) == calls_before, "no duplicate Call"
    assert feed_after(api, "anna", ANNA, seq) == [], "Chloe's Call and its children stay off Anna's feed"
    assert all(t["call2__v"] != call["id"] for t in api.all("task__v"))


def test_editing_someone_elses_record_and_a_missing_one_read_the_same(api: Api) -> None:
    account = chloe_account(api)
    theirs = api.upload(ANNA, [update("account__v", account["id"], phone__v=(account.get("phone__v"), "1"))])
    missing = api.upload(ANNA, [update("account__v", "V0A999999999999", phone__v=(None, "1"))])
    assert theirs["error"]["kind"] == missing["error"]["kind"] == "access"
    assert theirs["error"]["message"] == missing["error"]["message"]
    assert api.online("account__v", account["id"]).get("phone__v") == account.get("phone__v")


def test_a_create_under_a_server_id_is_refused_whether_it_exists_or_not(api: Api) -> None:
    answers = [
        api.request(
            "POST",
            UPLOAD,
            ANNA,
            json={
                "transaction_id": f"probe-{record_id}",
                "device_id": "x",
                "items": [create("account__v", record_id, account_type__v="hcp__v", last_name__v="X")],
            },
        )
        for record_id in (chloe_account(api)["id"], "V0A999999999999")
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json()["detail"].split(":", 1)[1] == answers[1].json()["detail"].split(":", 1)[1]


@pytest.mark.rule("AS-17")
def test_a_master_reaches_the_feed_only_if_its_user_may_see_it(api: Api) -> None:
    call = api.find("call2__v", ownerid__v="anna", status__v="saved__v")
    api.ok(
        "POST",
        "/api/v1/admin/territory-alignment",
        ADMIN,
        json={"account_ids": [call["account__v"]], "territory": "T-WC"},
    )
    seq = api.feed("anna", ANNA)["latest_seq"]
    answer = api.upload(ANNA, [update("call2__v", call["id"], notes__v=(call.get("notes__v"), "Edited"))])
    assert answer["outcome"] == "saved", answer
    (entry,) = feed_after(api, "anna", ANNA, seq)
    assert {r["id"] for r in entry["records"]} == {call["id"]}, "the account, now Chloe's, stays off"


# 2. a poisoned endpoint ---------------------------------------------------------------------------
@pytest.mark.parametrize("text", ["\\ud800", "x\\udfffy", "\\udc00\\ud800"])
def test_text_that_cannot_be_answered_is_refused_and_poisons_nothing(api: Api, text: str) -> None:
    account = anna_account(api)
    body = (
        '{"transaction_id": "poison", "device_id": "ipad-1", "items": [{"op": "update", '
        f'"object": "account__v", "id": "{account["id"]}", "changes": {{"phone__v": '
        f'{{"old": {json.dumps(account.get("phone__v"))}, "new": "{text}"}}}}}}]}}'
    )
    for _retry in range(2):
        response = raw_upload(api, ANNA, body)
        assert response.status_code == 422, response.text
        assert "surrogate" in response.json()["detail"]
    assert api.online("account__v", account["id"]).get("phone__v") == account.get("phone__v")
    assert api.request("GET", "/api/v1/feeds/anna", ANNA).status_code == 200
    assert api.request("POST", "/api/v1/sync", BEN, json={"cursor": None}).status_code == 200
    assert api.request("GET", "/api/v1/admin/records", ADMIN).status_code == 200
    fixed = raw_upload(api, ANNA, body.replace(text, "+1 555 0100").replace("poison", "fixed"))
    assert fixed.status_code == 200 and fixed.json()["outcome"] == "saved"


def test_a_nul_in_text_is_refused_unless_the_schema_allows_it(api: Api) -> None:
    account = anna_account(api)
    change = update("account__v", account["id"], phone__v=(account.get("phone__v"), "555\x000100"))
    response = api.request(
        "POST", UPLOAD, ANNA, json={"transaction_id": "nul", "device_id": "x", "items": [change]}
    )
    assert response.status_code == 422 and "NUL" in response.json()["detail"]
    assert api.request("GET", "/api/v1/admin/records", ADMIN).status_code == 200


def test_a_lone_surrogate_in_a_path_is_answered_not_a_server_error(api: Api) -> None:
    for path in ("/api/v1/records/%ED%A0%80/x", "/api/v1/admin/feeds/%ED%A0%80", "/api/v1/feeds/%00"):
        token = ADMIN if "/admin/" in path else ANNA
        response = api.request("GET", path, token)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)


# 3. tokens that fit the bind ------------------------------------------------------------------------
@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[FastAPI]:
    """``autosync-stub`` run in-process: uvicorn.run hands over the app instead of serving it."""
    apps: list[FastAPI] = []

    def run(app: Any, **kwargs: Any) -> None:
        if isinstance(app, str):
            module, _, name = app.partition(":")
            target = getattr(importlib.import_module(module), name)
            app = target() if kwargs.get("factory") else target
        apps.append(app)

    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.setenv("AUTOSYNC_STUB_WORKER", "")
    monkeypatch.delenv("AUTOSYNC_ADMIN_TOKEN", raising=False)
    return apps


def test_development_tokens_are_refused_on_a_reachable_bind_whatever_the_databases_age(
    served: list[FastAPI], tmp_path: Path
) -> None:
    db = f"sqlite:///{tmp_path / 'room.db'}"
    cli.main(["--db", db, "--admin-token", STRONG_ADMIN])  # created on loopback: development tokens
    first = Api(served[0], ManualClock())
    try:
        assert first.request("GET", "/api/v1/me", ANNA).status_code == 200
    finally:
        first.close()
    cli.main(["--host", "0.0.0.0", "--db", db, "--admin-token", STRONG_ADMIN])
    room = Api(served[1], ManualClock())
    try:
        assert room.request("GET", "/api/v1/me", ANNA).status_code == 401
        token = room.ok("GET", "/api/v1/admin/users/anna/token", STRONG_ADMIN)["token"]
        assert token != ANNA and len(token) >= 24
        assert room.ok("GET", "/api/v1/me", token)["id"] == "anna"
        room.ok("POST", "/api/v1/admin/reset", STRONG_ADMIN)
        assert room.request("GET", "/api/v1/me", ANNA).status_code == 401, "a reset brings none back"
        assert room.ok("GET", "/api/v1/me", token)["id"] == "anna", "joined iPads keep their token"
    finally:
        room.close()


@pytest.mark.parametrize("token", ["x", "secret-admin", "a" * 40, "0123456789" * 4])
def test_a_weak_admin_token_is_refused_on_a_reachable_bind(
    served: list[FastAPI], tmp_path: Path, token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'room.db'}"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--host", "0.0.0.0", "--db", db, "--admin-token", token])
    assert exit_info.value.code == 2
    assert "--admin-token" in capsys.readouterr().err
    assert served == []


# 4. authentication first, idempotency keys, strict types, documented answers -----------------------
@pytest.mark.parametrize("body", ["{not json", '{"x": 1}', "[]", ""])
def test_no_token_and_a_bad_body_is_401(api: Api, body: str) -> None:
    assert raw_upload(api, None, body).status_code == 401
    assert raw_upload(api, "not-a-token", body).status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/sync", "/api/v1/sync/page", "/api/v1/sync/fetch"])
def test_a_sync_request_without_a_token_is_401_before_its_body_is_looked_at(api: Api, path: str) -> None:
    bad = {"content": b"{not json", "headers": {"Content-Type": "application/json"}}
    assert api.request("POST", path, None, **bad).status_code == 401
    assert api.request("POST", path, "not-a-token", json={"upto": "x"}).status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/admin/clock/advance", "/api/v1/admin/metadata"])
def test_a_user_token_on_the_online_side_is_403_before_the_body_is_looked_at(api: Api, path: str) -> None:
    response = api.request(
        "POST", path, ANNA, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 403
    assert api.request("POST", path, None, json={"seconds": "x"}).status_code == 401


def test_a_reused_transaction_id_with_another_body_is_409_and_changes_nothing(api: Api) -> None:
    account = anna_account(api)
    first = create("call2__v", "tmp-1", account__v=account["id"], call_date__v="2026-11-20")
    api.upload(ANNA, [first], txn="txn-1")
    calls, seq = len(api.all("call2__v")), api.feed("anna", ANNA)["latest_seq"]
    other = {**first, "fields": {**first["fields"], "call_date__v": "2026-11-21"}}
    response = api.request(
        "POST", UPLOAD, ANNA, json={"transaction_id": "txn-1", "device_id": "ipad-1", "items": [other]}
    )
    assert response.status_code == 409
    assert "idempotency key reused" in response.json()["detail"]
    assert (len(api.all("call2__v")), api.feed("anna", ANNA)["latest_seq"]) == (calls, seq)
    assert api.upload(ANNA, [first], txn="txn-1")["replayed"] is True, "the original body still replays"


def test_another_users_transaction_id_is_answered_as_an_unknown_one(api: Api) -> None:
    account = anna_account(api)
    items = [create("call2__v", "tmp-r", account__v=account["id"], call_date__v="2026-11-20")]
    api.upload(ANNA, items, txn="shared-id")
    known = api.request(
        "POST", UPLOAD, BEN, json={"transaction_id": "shared-id", "device_id": "x", "items": items}
    )
    unknown = api.request(
        "POST", UPLOAD, BEN, json={"transaction_id": "fresh-id", "device_id": "x", "items": items}
    )
    assert known.status_code == unknown.status_code == 200
    a, b = known.json(), unknown.json()
    assert (a["outcome"], a["replayed"]) == (b["outcome"], b["replayed"]) == ("saved", False)
    assert a["records"][0]["fields"]["ownerid__v"] == "ben", "Ben's own save, nothing of Anna's"


@pytest.mark.parametrize(
    ("path", "token", "body"),
    [
        ("/api/v1/sync", ANNA, {"cursor": False}),
        ("/api/v1/sync", ANNA, {"cursor": True}),
        ("/api/v1/sync", ANNA, {"cursor": "5"}),
        ("/api/v1/sync", ANNA, {"cursor": 5.0}),
        ("/api/v1/sync/page", ANNA, {"upto": "5", "phase": "changes"}),
        ("/api/v1/sync/page", ANNA, {"upto": True, "phase": "changes"}),
        ("/api/v1/sync/page", ANNA, {"upto": 5, "phase": "changes", "seq": 1.0}),
        ("/api/v1/sync/page", ANNA, {"upto": 5, "phase": "changes", "seq": -2}),
        ("/api/v1/sync/page", ANNA, {"upto": 5, "phase": "everything"}),
        ("/api/v1/sync/page", ANNA, {"upto": 5, "phase": "visible", "id": "' OR 1=1 --"}),
        ("/api/v1/sync/page", ANNA, {"upto": 5, "phase": "visible", "user": "chloe"}),
        ("/api/v1/admin/clock/advance", ADMIN, {"seconds": True}),
        ("/api/v1/admin/validation-rules/call_expense_limit", ADMIN, {"enabled": 0}),
        (UPLOAD, ANNA, {"transaction_id": 7, "device_id": "x", "items": []}),
    ],
)
def test_booleans_are_not_integers_and_nothing_is_coerced(api: Api, path: str, token: str, body: Any) -> None:
    method = "PUT" if "validation-rules" in path else "POST"
    assert api.request(method, path, token, json=body).status_code == 422


@pytest.mark.parametrize(
    ("method", "path", "token", "body"),
    [
        ("GET", "/api/v1/records/nope__v/V0A000000000001", ANNA, None),
        ("GET", "/api/v1/admin/records?object=nope__v", ADMIN, None),
        ("POST", "/api/v1/admin/records/nope__v", ADMIN, {"owner": "anna", "fields": {"x": 1}}),
        ("PATCH", "/api/v1/admin/records/nope__v/V0A000000000001", ADMIN, {"fields": {"x": 1}}),
    ],
)
def test_an_unknown_object_is_a_documented_404(
    api: Api, method: str, path: str, token: str, body: Any
) -> None:
    response = api.request(method, path, token, json=body)
    assert response.status_code == 404 and "no object called nope__v" in response.json()["detail"]
    template = {
        "/api/v1/records/nope__v/V0A000000000001": "/api/v1/records/{object_name}/{record_id}",
        "/api/v1/admin/records?object=nope__v": "/api/v1/admin/records",
        "/api/v1/admin/records/nope__v": "/api/v1/admin/records/{object_name}",
        "/api/v1/admin/records/nope__v/V0A000000000001": "/api/v1/admin/records/{object_name}/{record_id}",
    }[path]
    documented = api.ok("GET", "/openapi.json")["paths"][template][method.lower()]["responses"]
    assert "object" in documented["404"]["description"]


def test_each_endpoint_documents_only_the_errors_it_can_answer(api: Api) -> None:
    paths = api.ok("GET", "/openapi.json")["paths"]
    assert set(paths["/health"]["get"]["responses"]) == {"200"}
    assert set(paths["/api/v1/me"]["get"]["responses"]) == {"200", "401", "422"}
    assert "409" in paths[UPLOAD]["post"]["responses"]
    assert "409" not in paths["/api/v1/sync"]["post"]["responses"]
    assert "403" in paths["/api/v1/admin/users"]["get"]["responses"]
