"""``autosync-stub`` as a real process on loopback, and its refusal of bad flags."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from server_stub.cli import parse_args
from tests.stub_process import ADMIN_TOKEN, running_stub


def test_standalone_server_answers_health_over_loopback(tmp_path: Path) -> None:
    db = tmp_path / "stub.db"
    with running_stub(db) as url:
        health = httpx.get(f"{url}/health", timeout=10).json()
        assert health == {"status": "ok", "server_time": "2026-11-26T09:00:00Z", "version": "0.1.0"}
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": "Bearer anna-dev-token"}, timeout=10)
        assert me.json()["id"] == "anna"
        admin = httpx.post(
            f"{url}/api/v1/admin/clock/advance",
            json={"seconds": 86400},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        )
        assert admin.json() == {"server_time": "2026-11-27T09:00:00Z"}
        assert db.exists(), "the standalone server keeps its data in the --db file"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "--port must be between 1 and 65535"),
        (["--db", "not a url"], "--db is not a database URL"),
        (["--start", "yesterday"], "--start must be a time like"),
        (["--host", "my laptop"], "--host must be an IP address"),
        (["--sample", "/nonexistent.yaml"], "--sample: no such file"),
        (["--host", "192.168.1.20", "--user-tokens", "sample"], "development tokens"),
        (["--workers", "2"], "--workers 2 needs PostgreSQL"),
        (["--workers", "0"], "--workers must be between 1 and"),
    ],
)
def test_bad_flags_are_refused_with_a_message_naming_them(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_defaults_bind_to_loopback() -> None:
    args = parse_args([])
    assert (args.host, args.port) == ("127.0.0.1", 8765)


@pytest.mark.parametrize(
    ("argv", "tokens"),
    [
        ([], "sample"),
        (["--host", "0.0.0.0"], "random"),
        (["--host", "192.168.1.20"], "random"),
        (["--user-tokens", "random"], "random"),
    ],
)
def test_fixed_sample_tokens_only_on_loopback_unless_asked(argv: list[str], tokens: str) -> None:
    assert parse_args(argv).user_tokens == tokens
