"""``autosync-stub load`` in CI size: ten iPads for ten seconds, nothing lost, doubled or reordered.

The driver starts the server itself (a real process on a loopback port), on SQLite and on the
session's private PostgreSQL cluster with two server processes; and once with a kill placed
exactly between the server's commit and its reply, where only idempotency saves the save.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from server_stub.load import Options, Room, SimDevice, parse_args
from tests.stub_process import free_port


def load(*flags: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "server_stub.cli",
            "load",
            "--server",
            f"http://127.0.0.1:{free_port()}",
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **(env or {})},
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("load-result: ")]
    assert lines, done.stdout + done.stderr
    return done.returncode, json.loads(lines[-1].removeprefix("load-result: ")), done.stdout + done.stderr


def assert_clean(result: dict[str, Any], devices: int, seconds: int) -> None:
    assert (result["lost"], result["duplicated"], result["reordered"]) == (0, 0, 0), result["problems"]
    assert result["answered"] == result["saves"] == devices * seconds
    assert result["refused"] == 0 and result["room"] == devices
    assert result["poll_requests"] >= devices * (seconds - 1)


def test_ten_ipads_for_ten_seconds_on_sqlite(tmp_path: Path) -> None:
    code, result, output = load(
        "--devices", "10", "--seconds", "10", "--db", f"sqlite:///{tmp_path / 'load.db'}"
    )
    assert code == 0, output
    assert_clean(result, 10, 10)
    assert "lost 0, duplicated 0, reordered 0 - OK" in output


def test_ten_ipads_for_ten_seconds_on_postgresql_with_two_server_processes(postgres_url: str) -> None:
    code, result, output = load("--devices", "10", "--seconds", "10", "--db", postgres_url, "--workers", "2")
    assert code == 0, output
    assert_clean(result, 10, 10)
    assert result["workers"] == 2


@pytest.mark.rule("AS-06")
def test_a_kill_between_commit_and_reply_is_answered_by_idempotency(tmp_path: Path) -> None:
    code, result, output = load(
        "--devices",
        "5",
        "--seconds",
        "8",
        "--db",
        f"sqlite:///{tmp_path / 'chaos.db'}",
        "--chaos",
        "1",
        "--seed",
        "3",
        env={"AUTOSYNC_STUB_FAULT": "kill-after-commit:12"},
    )
    assert code == 0, output
    assert_clean(result, 5, 8)
    assert result["server_deaths"] == 1, "the fault hook killed it right after the 12th commit"
    assert result["server_kills"] == 1, "and the driver killed it once at random"
    assert result["replayed"] >= 1, "the save committed but unanswered was answered on its retry"
    assert result["retries"] >= 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--server", "http://10.0.0.8:8765"], "not a loopback address"),
        (["--server", "http://192.168.1.20:8765"], "not a loopback address"),
        (["--server", "https://127.0.0.1:8765"], "--server must look like"),
        (["--devices", "501"], "--devices must be between 1 and 500"),
        (["--seconds", "0"], "--seconds must be between 1 and 900"),
        (["--chaos", "1"], "--chaos needs --db"),
    ],
)
def test_the_driver_targets_only_this_machine_and_is_bounded(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = {"--devices": "2", "--seconds": "2", "--server": "http://127.0.0.1:8765", "--admin-token": "t"}
    for flag, value in zip(flags[::2], flags[1::2], strict=True):
        base[flag] = value
    with pytest.raises(SystemExit) as exit_info:
        parse_args([part for pair in base.items() for part in pair])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_checks_count_lost_duplicated_and_reordered_saves() -> None:
    options = parse_args(
        ["--devices", "2", "--seconds", "3", "--server", "http://127.0.0.1:1", "--admin-token", "t"]
    )
    room = Room(options, "t")
    a = SimDevice(id=f"load-{room.run}-000", user="anna", token="x", territory="T-NE", model="m")
    b = SimDevice(id=f"load-{room.run}-001", user="anna", token="x", territory="T-NE", model="m")
    room.devices = [a, b]
    a.answered = {1: "V0A000000000101", 2: "V0A000000000102", 3: "V0A000000000103"}
    b.answered = {1: "V0A000000000104", 2: "V0A000000000105"}
    b.queue = deque([(3, 0.0)])  # never answered: lost
    online = [(a.id, 1, "V0A1"), (a.id, 3, "V0A2"), (a.id, 2, "V0A3"), (b.id, 1, "V0A4"), (b.id, 1, "V0A5")]
    a.seen = {a.id: [1, 2, 3], b.id: [1]}  # b's 2 never read: lost
    b.seen = {a.id: [1, 3, 2], b.id: [1, 2, 2]}  # reordered once, one read twice
    result = room.report(
        start=0.0,
        drained=3.0,
        still_queued=1,
        online=online,
        room=2,
        server_cpu=None,
        busy=(0.0, 0.0),
        busy_all=(0.0, 0.0),
        server=None,
    )
    # online: a's 3 before 2 (reordered 1), b's 1 twice (duplicated 1), b's 2 missing, 3 unanswered (lost 2)
    # feeds: a never read b's 2 (lost 1); b read a's 2 after 3 (reordered 1), its own 2 twice (duplicated 1)
    assert (result["lost"], result["duplicated"], result["reordered"]) == (3, 2, 2)
    assert result["ok"] is False
    assert isinstance(options, Options)
