"""Only a NotFound is a 404; any other exception while answering is a bug: logged, answered 500."""

from __future__ import annotations

import logging
from datetime import datetime

import pytest

from server_stub import online
from server_stub.store import Store
from tests.server_stub.conftest import ADMIN, Api

REFRESH = "/api/v1/admin/datasets/{name}/refresh"


def test_what_does_not_exist_is_a_404(api: Api) -> None:
    response = api.request("POST", REFRESH.format(name="no_such_data"), ADMIN)
    assert response.status_code == 404
    assert response.json() == {"detail": "no X-Pages or Nitro data set called 'no_such_data'"}
    for path in ("/api/v1/admin/users/nobody/token", "/api/v1/admin/records?object=nothing__v"):
        assert api.request("GET", path, ADMIN).status_code == 404, path


@pytest.mark.parametrize("bug", [KeyError("version"), LookupError("a lookup gone wrong"), TypeError("no")])
def test_a_bug_is_a_logged_500_not_a_404(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, bug: Exception
) -> None:
    def broken(_store: Store, _name: str, _now: datetime) -> None:
        raise bug

    monkeypatch.setattr(online, "refresh_dataset", broken)
    with caplog.at_level(logging.ERROR, logger="server_stub.app"):
        response = api.request("POST", REFRESH.format(name="xpages_sales"), ADMIN)
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error (logged on the server)"}
    (logged,) = [r for r in caplog.records if r.name == "server_stub.app"]
    assert logged.exc_info is not None and logged.exc_info[1] is bug
    assert "/datasets/xpages_sales/refresh" in logged.getMessage()


def test_the_server_answers_after_a_bug(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(online, "refresh_dataset", lambda *_a: {}["missing"])
        assert api.request("POST", REFRESH.format(name="xpages_sales"), ADMIN).status_code == 500
    assert api.ok("POST", REFRESH.format(name="xpages_sales"), ADMIN)["name"] == "xpages_sales"
