"""An embedded server starts from a kept copy of the seeded database, on an app used before.

Both are only about cost (issue 11: the scenario library starts one embedded server per
scenario); these tests hold them to giving exactly what a fresh server gives.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from server_stub import app as server_app
from server_stub import seed as seed_module
from server_stub import snapshot
from server_stub.clock import ManualClock
from server_stub.schema import default_schema_path, file_key, load_schema
from server_stub.seed import default_sample_path, load_sample
from tests.server_stub.conftest import ADMIN, ANNA, Api


def dump(state: server_app.ServerState) -> list[str]:
    """Every table's schema and rows, as SQL text."""
    assert state.engine is not None
    proxy = state.engine.raw_connection()
    try:
        connection = proxy.driver_connection
        assert isinstance(connection, sqlite3.Connection)
        return list(connection.iterdump())
    finally:
        proxy.close()


@pytest.fixture
def nothing_kept() -> Iterator[None]:
    snapshot.forget()
    yield
    snapshot.forget()


def move_first_account(api: Api, admin: str) -> None:
    """Anna's iPad moves her first account to another city."""
    records = api.ok("GET", "/api/v1/admin/records?object=account__v", admin)["records"]
    account = next(r for r in records if r["fields"].get("territory__v") == "T-NE")
    changes = {"phone__v": {"old": account["fields"].get("phone__v"), "new": "+1 000-000-0000"}}
    api.upload(ANNA, [{"op": "update", "object": "account__v", "id": account["id"], "changes": changes}])
    moved = api.ok("GET", "/api/v1/admin/records?object=account__v", admin)["records"]
    assert any(r["fields"].get("phone__v") == "+1 000-000-0000" for r in moved)


def started(clock: ManualClock) -> Api:
    return Api(server_app.create_app(clock=clock, admin_token=ADMIN), clock)


def test_a_server_started_from_the_kept_copy_holds_what_seeding_makes(nothing_kept: None) -> None:
    first = started(ManualClock())
    try:
        seeded = dump(first.app.state.server)
    finally:
        first.close()
    assert len(snapshot._KEPT) == 1
    second = started(ManualClock())
    try:
        copied = dump(second.app.state.server)
        # the copy is a database of its own: a save on it does not reach the kept bytes
        move_first_account(second, ADMIN)
    finally:
        second.close()
    assert copied == seeded
    third = started(ManualClock())
    try:
        assert dump(third.app.state.server) == seeded
    finally:
        third.close()


def test_another_time_seeds_again(nothing_kept: None) -> None:
    """Sample dates are relative to the emulated clock (``today-3``): another start, another seed."""
    clock = ManualClock()
    first = started(clock)
    first.close()
    later = ManualClock()
    later.advance(timedelta(days=2))
    second = started(later)
    second.close()
    assert len(snapshot._KEPT) == 2


def test_only_an_in_memory_embedded_server_is_copied(nothing_kept: None) -> None:
    api = Api(server_app.create_app(admin_token=ADMIN), ManualClock())  # the stored clock: no copy
    api.close()
    api = Api(
        server_app.create_app(clock=ManualClock(), admin_token=ADMIN, random_user_tokens=True), ManualClock()
    )
    api.close()
    assert snapshot._KEPT == {}


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    sample = tmp_path / "sample.yaml"
    sample.write_text(default_sample_path().read_text(encoding="utf-8"), encoding="utf-8")
    before = load_sample(sample)
    before["users"].clear()  # the caller's copy: the next caller gets the file's users
    assert load_sample(sample)["users"]
    sample.write_text("users: [{id: solo, token: solo-token}]\n", encoding="utf-8")
    assert [u["id"] for u in load_sample(sample)["users"]] == ["solo"]
    assert load_schema() is load_schema(default_schema_path())
    assert file_key(sample) != file_key(default_sample_path())


def test_an_embedded_app_is_handed_out_again_only_after_its_lifespan_ended() -> None:
    server_app._IDLE.clear()
    first = server_app.embedded_app(clock=ManualClock(), admin_token="one")
    api = Api(first, ManualClock())
    try:
        second = server_app.embedded_app(clock=ManualClock(), admin_token="two")
        assert second is not first  # the first is in use
        move_first_account(api, "one")
    finally:
        api.close()
    third = server_app.embedded_app(clock=ManualClock(), admin_token="three")
    assert third is first
    again = Api(third, ManualClock())
    try:
        # a new state: the new admin token, the old one refused, the sample world as seeded
        assert again.request("GET", "/api/v1/admin/users", "one").status_code == 403
        assert again.request("GET", "/api/v1/admin/users", "three").status_code == 200
        fresh = again.ok("GET", "/api/v1/admin/records?object=account__v", "three")["records"]
        assert all(r["fields"].get("phone__v") != "+1 000-000-0000" for r in fresh)
    finally:
        again.close()


def test_the_next_process_reads_the_seeded_database_from_the_cache_folder(
    nothing_kept: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTOSYNC_SEED_CACHE", str(tmp_path))
    first = started(ManualClock())
    seeded = dump(first.app.state.server)
    first.close()
    (written,) = tmp_path.glob(f"*{snapshot.SUFFIX}")
    snapshot.forget()  # as if another process
    calls: list[object] = []
    monkeypatch.setattr(seed_module, "seed", lambda *args: calls.append(args))
    second = started(ManualClock())
    try:
        assert dump(second.app.state.server) == seeded
    finally:
        second.close()
    assert calls == [], "read from the cache folder, not seeded"
    monkeypatch.undo()
    monkeypatch.setenv("AUTOSYNC_SEED_CACHE", str(tmp_path))
    # a damaged file is seeded anew and replaced
    written.write_bytes(written.read_bytes()[:-100])
    snapshot.forget()
    third = started(ManualClock())
    try:
        assert dump(third.app.state.server) == seeded
    finally:
        third.close()
    assert written.read_bytes()[32:] == snapshot._KEPT[next(iter(snapshot._KEPT))]


def test_no_cache_folder_when_it_is_off(nothing_kept: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOSYNC_SEED_CACHE", "off")
    assert snapshot.cache_dir() is None
    started(ManualClock()).close()
    snapshot.forget()
    calls: list[object] = []
    real = seed_module.seed
    monkeypatch.setattr(seed_module, "seed", lambda *args: calls.append(args) or real(*args))
    started(ManualClock()).close()
    assert len(calls) == 1


def test_an_app_started_again_by_its_old_holder_is_not_handed_out() -> None:
    server_app._IDLE.clear()
    first = server_app.embedded_app(clock=ManualClock(), admin_token="one")
    Api(first, ManualClock()).close()
    assert len(server_app._IDLE) == 1 and server_app._IDLE[0] is first
    again = Api(first, ManualClock())  # the same app's lifespan once more
    try:
        assert server_app._IDLE == []
        assert server_app.embedded_app(clock=ManualClock(), admin_token="two") is not first
    finally:
        again.close()
    assert len(server_app._IDLE) == 1 and server_app._IDLE[0] is first
