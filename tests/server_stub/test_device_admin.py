"""An admin's settings and client commands for a user's iPads, over HTTP (AS-33, AS-34, AS-36, AS-37)."""

from __future__ import annotations

import pytest

from tests.server_stub.conftest import ADMIN, ANNA, Api

SETTINGS = "/api/v1/admin/users/anna/settings"
COMMANDS = "/api/v1/admin/users/anna/commands"


def sync(api: Api, token: str = ANNA) -> dict[str, object]:
    return api.ok("POST", "/api/v1/sync", token, json={"cursor": None})  # type: ignore[no-any-return]


@pytest.mark.rule("AS-33")
@pytest.mark.rule("AS-36")
def test_settings_default_and_reach_the_device_at_incremental_sync(api: Api) -> None:
    assert api.ok("GET", SETTINGS, ADMIN) == {"sync_warn_interval_days": 3, "refresh_mode": False}
    changed = api.ok("PATCH", SETTINGS, ADMIN, json={"refresh_mode": True})
    assert changed == {"sync_warn_interval_days": 3, "refresh_mode": True}
    api.ok("PATCH", SETTINGS, ADMIN, json={"sync_warn_interval_days": 1})
    assert sync(api)["settings"] == {"sync_warn_interval_days": 1, "refresh_mode": True}
    other = api.ok("POST", "/api/v1/sync", "chloe-dev-token", json={"cursor": None})
    assert other["settings"]["refresh_mode"] is False, "settings are per user"


@pytest.mark.parametrize(
    "body",
    [
        {"sync_warn_interval_days": 0},
        {"sync_warn_interval_days": "3"},
        {"sync_warn_interval_days": True},
        {"refresh_mode": 1},
        {"mode": "on"},
    ],
)
def test_bad_settings_are_refused_and_change_nothing(api: Api, body: dict[str, object]) -> None:
    response = api.request("PATCH", SETTINGS, ADMIN, json=body)
    assert response.status_code == 422, response.text
    assert api.ok("GET", SETTINGS, ADMIN) == {"sync_warn_interval_days": 3, "refresh_mode": False}


@pytest.mark.rule("AS-34")
@pytest.mark.rule("AS-37")
def test_client_commands_are_numbered_and_delivered_to_every_device_of_the_user(api: Api) -> None:
    assert sync(api)["commands"] == []
    first = api.ok("POST", COMMANDS, ADMIN, json={"kind": "clear_sync_errors"})
    second = api.ok("POST", COMMANDS, ADMIN, json={"kind": "full_refresh"})
    assert (first["id"], second["id"]) == (1, 2)
    assert [c["kind"] for c in sync(api)["commands"]] == ["clear_sync_errors", "full_refresh"]
    chloe = api.ok("POST", "/api/v1/sync", "chloe-dev-token", json={"cursor": None})
    assert chloe["commands"] == []


def test_only_the_admin_sets_settings_or_issues_commands(api: Api) -> None:
    assert api.request("PATCH", SETTINGS, ANNA, json={"refresh_mode": True}).status_code == 403
    assert api.request("POST", COMMANDS, ANNA, json={"kind": "full_refresh"}).status_code == 403
    assert api.request("POST", COMMANDS, None, json={"kind": "full_refresh"}).status_code == 401
    assert api.request("GET", "/api/v1/admin/users/nobody/settings", ADMIN).status_code == 404
    assert api.request("POST", COMMANDS, ADMIN, json={"kind": "wipe"}).status_code == 422
    assert sync(api)["commands"] == []
