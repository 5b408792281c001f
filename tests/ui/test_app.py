"""The command line: flags, clear refusals, and --screenshot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.app import SAMPLE_DEVICES, parse_args


def test_defaults_use_the_embedded_server() -> None:
    args = parse_args([])
    assert args.server is None and args.token is None and args.seed == 0


def test_a_standalone_server_and_its_token() -> None:
    args = parse_args(["--server", "http://127.0.0.1:8765", "--token", "secret", "--seed", "7"])
    assert (args.server, args.token, args.seed) == ("http://127.0.0.1:8765", "secret", 7)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--server", "http://x"], "--server needs --token"),
        (["--token", "t"], "--token is only used with --server"),
        (["--server", "ftp://x", "--token", "t"], "must be an http:// or https:// URL"),
        (["--screenshot", "shot.jpg"], "must name a .png file"),
        (["--seed", "many"], "invalid int value"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_flags_get_a_clear_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_the_sample_stage_has_two_users_and_three_ipads() -> None:
    assert [(name, user) for name, user, _m, _i in SAMPLE_DEVICES] == [
        ("Anna's iPad Pro", "anna"),
        ("Anna's iPad Air", "anna"),
        ("Chloe's iPad", "chloe"),
    ]


def test_screenshot_renders_the_window_and_exits(tmp_path: Path) -> None:
    shot = tmp_path / "stage.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "emulator.app", "--screenshot", str(shot), "--data-dir", str(tmp_path / "d")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
