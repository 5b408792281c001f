"""The command line: flags, clear refusals, and --screenshot."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from emulator import app as app_module
from emulator.app import SAMPLE_DEVICES, parse_args
from emulator.scenarios.loader import library_dir
from emulator.ui.splash import StartingSplash, starting_splash
from tests.ui.conftest import run


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
        (["--scenario", "nowhere.yaml"], "--scenario: nowhere.yaml:0: cannot read the file"),
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
    image = _screenshot(shot, "--data-dir", str(tmp_path / "d"))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000
    assert (image.width(), image.height()) == (1900, 1040)


def test_a_bad_scenario_file_is_refused_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: Bad\ndevices: [{id: ipad, user: anna}]\nsteps:\n  - {device: ipad, fly: true}\n")
    with pytest.raises(SystemExit):
        parse_args(["--scenario", str(bad)])
    assert f"{bad}:4: unknown step" in capsys.readouterr().err


def _screenshot(path: Path, *flags: str) -> QImage:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "emulator.app", *flags, "--screenshot", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return QImage(str(path))


def test_screenshot_with_a_scenario_opened_at_start_up(tmp_path: Path) -> None:
    scenario = library_dir() / "as07_first_save_wins.yaml"
    plain = _screenshot(tmp_path / "plain.png")
    opened = _screenshot(tmp_path / "scenario.png", "--scenario", str(scenario))
    assert not opened.isNull() and opened.size() == plain.size()
    assert opened != plain  # the player dock and the scenario's two iPads instead of the sample three


def nothing_answers(_family: int, _address: object) -> bool:
    return False


def all_answer(_family: int, _address: object) -> bool:
    return True


@pytest.mark.parametrize(
    ("argv", "environ", "reach", "platform"),
    [
        ([], {"DISPLAY": ":0"}, all_answer, ""),
        ([], {"WAYLAND_DISPLAY": "wayland-0"}, all_answer, ""),
        ([], {}, all_answer, None),
        ([], {"DISPLAY": ":99"}, nothing_answers, None),
        ([], {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":99"}, nothing_answers, None),
        ([], {"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"}, all_answer, "xcb"),
        (["--screenshot", "s.png"], {}, nothing_answers, "offscreen"),
        ([], {"QT_QPA_PLATFORM": "offscreen"}, nothing_answers, "offscreen"),
    ],
    ids=[
        "x11",
        "wayland",
        "no display",
        "stale display",
        "xcb chosen, stale",
        "xcb chosen",
        "screenshot",
        "chosen",
    ],
)
def test_the_qt_platform_fits_the_machine(
    argv: list[str], environ: dict[str, str], reach: Callable[[int, object], bool], platform: str | None
) -> None:
    from emulator.app import choose_platform

    assert choose_platform(parse_args(argv), environ, reach) == platform


@pytest.mark.parametrize(
    ("environ", "where"),
    [
        ({"DISPLAY": ":7"}, [(socket.AF_UNIX, "\0/tmp/.X11-unix/X7"), (socket.AF_UNIX, "/tmp/.X11-unix/X7")]),
        (
            {"DISPLAY": "unix:3.0"},
            [(socket.AF_UNIX, "\0/tmp/.X11-unix/X3"), (socket.AF_UNIX, "/tmp/.X11-unix/X3")],
        ),
        ({"DISPLAY": "projector.local:2"}, [(socket.AF_INET, ("projector.local", 6002))]),
        (
            {"WAYLAND_DISPLAY": "wayland-1", "XDG_RUNTIME_DIR": "/run/user/1000"},
            [(socket.AF_UNIX, "/run/user/1000/wayland-1")],
        ),
    ],
)
def test_a_display_is_looked_for_where_it_listens(
    environ: dict[str, str], where: list[tuple[int, object]]
) -> None:
    from emulator.app import display_sockets

    assert [address for _name, address in display_sockets(environ)] == where


def test_a_display_that_listens_is_found_and_one_that_does_not_is_named(tmp_path: Path) -> None:
    from emulator.app import answers, display_problem

    path = tmp_path / "wayland-9"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        assert answers(socket.AF_UNIX, str(path))
        assert display_problem({"WAYLAND_DISPLAY": str(path)}) is None
    problem = display_problem({"WAYLAND_DISPLAY": str(path)})
    assert problem is not None and f"$WAYLAND_DISPLAY={path}" in problem


@pytest.mark.parametrize(
    ("environ", "says"),
    [({}, "no display found"), ({"DISPLAY": ":97"}, "no display answers at $DISPLAY=:97")],
    ids=["unset", "stale"],
)
def test_without_a_display_the_app_says_how_to_run_it_instead_of_crashing(
    tmp_path: Path, environ: dict[str, str], says: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run(
        [sys.executable, "-m", "emulator.app"],
        env={**env, **environ},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "xvfb-run" in done.stderr and "--screenshot" in done.stderr
    assert "core dumped" not in done.stderr and "qt.qpa" not in done.stderr


def _splashes() -> list[StartingSplash]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, StartingSplash) and w.isVisible()]


def test_the_first_paint_is_a_splash_saying_what_starts(
    qt_loop: object, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Starting the stage takes a second or two: the app answers a click at once, before the heavy
    imports and the stage, and the splash goes when the stage cannot start (or the window shows)."""
    seen: list[str] = []

    async def failing_start(_args: object, tell: Callable[[str], None]) -> None:
        seen.extend(s.message().strip() for s in _splashes())
        tell("Starting the iPads: each syncs its data from the server…")
        seen.extend(s.message().strip() for s in _splashes())
        raise RuntimeError("no answer from http://192.0.2.1:8765")

    monkeypatch.setattr(app_module, "start_stage", failing_start)
    code = run(qtbot, app_module.run(parse_args(["--server", "http://192.0.2.1:8765", "--token", "t"])))
    assert code == 2
    assert seen == [
        "Joining the server at http://192.0.2.1:8765…",
        "Starting the iPads: each syncs its data from the server…",
    ], seen
    assert not _splashes(), "the splash goes with the failure"
    assert "could not start the stage: no answer" in capsys.readouterr().err


def test_the_splash_says_which_server_it_joins(qtbot: QtBot) -> None:
    splash = starting_splash(
        app_module._starting_what(parse_args(["--server", "http://10.0.0.5:8765", "--token", "t"]))
    )
    qtbot.addWidget(splash)
    assert splash.isVisible() and splash.message().strip() == "Joining the server at http://10.0.0.5:8765…"
    embedded = app_module._starting_what(parse_args([]))
    assert embedded == "Starting the server (the online side of Vault CRM)…"
