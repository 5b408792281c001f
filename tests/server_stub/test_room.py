"""The room: every device that talked to the server, as the trainer's console lists it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server_stub.conftest import ADMIN, ANNA, BEN, Api, create

ROOM = "/api/v1/admin/devices"


def device(api: Api, device_id: str) -> dict[str, Any]:
    listed = api.ok("GET", ROOM, ADMIN)["devices"]
    return next(d for d in listed if d["device_id"] == device_id)  # type: ignore[no-any-return]


def headers(device_id: str, model: str = "iPad Air 2", queue: int = 0) -> dict[str, str]:
    return {"X-Autosync-Device": device_id, "X-Autosync-Model": model, "X-Autosync-Queue": str(queue)}


def test_the_room_lists_each_device_with_user_model_times_and_queue(api: Api) -> None:
    assert api.ok("GET", ROOM, ADMIN)["devices"] == [], "nobody has talked yet"
    api.request("GET", "/api/v1/feeds/anna", ANNA, headers=headers("anna-air", queue=3))
    seen = device(api, "anna-air")
    assert seen == {
        "user_id": "anna",
        "device_id": "anna-air",
        "model": "iPad Air 2",
        "queue_length": 3,
        "last_seen_at": "2026-11-26T09:00:00Z",
        "last_upload_at": None,
        "last_poll_at": "2026-11-26T09:00:00Z",
        "last_sync_at": None,
    }
    api.advance(minutes=2)
    account = api.find("account__v", territory__v="T-NE")
    body = {
        "transaction_id": "t-room",
        "device_id": "anna-air",
        "items": [create("call2__v", "tmp", account__v=account["id"], call_date__v="2026-11-25")],
    }
    api.request("POST", "/api/v1/transactions", ANNA, headers=headers("anna-air", queue=1), json=body)
    api.request(
        "POST", "/api/v1/sync", BEN, headers=headers("ben-pro", "iPad Pro 11-inch"), json={"cursor": None}
    )
    after = device(api, "anna-air")
    assert (after["last_upload_at"], after["last_poll_at"]) == (
        "2026-11-26T09:02:00Z",
        "2026-11-26T09:00:00Z",
    )
    assert after["queue_length"] == 1
    assert device(api, "ben-pro")["last_sync_at"] == "2026-11-26T09:02:00Z"
    assert [d["device_id"] for d in api.ok("GET", ROOM, ADMIN)["devices"]] == ["anna-air", "ben-pro"]


def test_an_upload_without_headers_is_listed_by_its_body_device_id(api: Api) -> None:
    account = api.find("account__v", territory__v="T-NE")
    api.upload(
        ANNA,
        [create("call2__v", "tmp", account__v=account["id"], call_date__v="2026-11-25")],
        device="old-app",
    )
    listed = device(api, "old-app")
    assert listed["model"] is None and listed["queue_length"] is None and listed["last_upload_at"] is not None


@pytest.mark.parametrize(
    "bad",
    [
        {"X-Autosync-Queue": "-1"},
        {"X-Autosync-Queue": "many"},
        {"X-Autosync-Device": "two words"},
        {"X-Autosync-Model": "x" * 65},
    ],
)
def test_a_device_report_that_does_not_fit_is_refused(api: Api, bad: dict[str, str]) -> None:
    response = api.request("GET", "/api/v1/feeds/anna", ANNA, headers={**headers("anna-air"), **bad})
    assert response.status_code == 422
    assert api.ok("GET", ROOM, ADMIN)["devices"] == []


def test_only_the_admin_sees_the_room(api: Api) -> None:
    assert api.request("GET", ROOM, ANNA).status_code == 403
    assert api.request("GET", ROOM).status_code == 401
