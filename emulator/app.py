"""``autosync-emulator``: the desktop app (QApplication + qasync loop + a stage of iPads).

By default the stage runs the stub server in-process; ``--server URL --token ADMIN_TOKEN`` joins
a standalone ``autosync-stub`` instead. ``--screenshot FILE.png`` renders the window after
start-up, saves it and exits (the README's screenshots are made this way). ``--scenario FILE``
opens a scenario in the player at start-up, ready to step.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from emulator.engine.profile import MODELS, ios_major

if TYPE_CHECKING:
    from emulator.stage import Stage

# Qt, the stage and the window are imported when the app starts, not by `autosync-emulator
# scenario ...`, which plays scenarios headless and needs none of Qt.

#: The iPads on the stage at start-up: (name, user, model, iOS version).
SAMPLE_DEVICES = (
    ("Anna's iPad Pro", "anna", "iPad Pro 11-inch", "17.5"),
    ("Anna's iPad Air", "anna", "iPad Air 2", "15.8"),
    ("Chloe's iPad", "chloe", "iPad (9th generation)", "17.5"),
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="autosync-emulator",
        description="Several virtual iPads, a Vault CRM stub server and its Autosync feed, side by side.",
    )
    parser.add_argument("--server", metavar="URL", help="join a standalone autosync-stub at URL")
    parser.add_argument("--token", metavar="ADMIN_TOKEN", help="the standalone server's admin token")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help="keep the iPads' files in DIR")
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="FILE.png",
        help="save the window after start-up as FILE.png and exit",
    )
    parser.add_argument(
        "--scenario",
        type=Path,
        metavar="FILE.yaml",
        help="open a scenario in the player at start-up (Space steps it)",
    )
    parser.add_argument("--width", type=int, default=1900, help=argparse.SUPPRESS)
    parser.add_argument("--height", type=int, default=1040, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.server and not args.token:
        parser.error("--server needs --token ADMIN_TOKEN (the admin token the server was started with)")
    if args.token and not args.server:
        parser.error("--token is only used with --server URL")
    if args.server and not args.server.startswith(("http://", "https://")):
        parser.error(f"--server must be an http:// or https:// URL, not {args.server!r}")
    if args.screenshot is not None and args.screenshot.suffix.lower() != ".png":
        parser.error(f"--screenshot must name a .png file, not {str(args.screenshot)!r}")
    if args.data_dir is not None and args.data_dir.exists() and not args.data_dir.is_dir():
        parser.error(f"--data-dir {str(args.data_dir)!r} exists and is not a directory")
    if args.scenario is not None:
        from emulator.scenarios.loader import ScenarioFileError, load_scenario

        try:
            load_scenario(args.scenario)
        except ScenarioFileError as exc:
            parser.error(f"--scenario: {exc}")
    for _name, _user, model, ios in SAMPLE_DEVICES:  # the sample must stay valid
        assert model in MODELS and ios_major(ios) >= 11
    return args


async def start_stage(args: argparse.Namespace, tell: Callable[[str], None] = lambda _doing: None) -> Stage:
    """The stage with its server started and the sample iPads on it; ``tell`` hears each step."""
    from emulator.stage import Stage

    stage = Stage(seed=args.seed, data_dir=args.data_dir, server_url=args.server, admin_token=args.token)
    await stage.start()
    tell("Starting the iPads: each syncs its data from the server…")
    for name, user, model, ios in SAMPLE_DEVICES:
        await stage.add_device(name, user, model=model, ios_version=ios)
    return stage


async def run(args: argparse.Namespace) -> int:
    from emulator.ui.splash import starting_splash

    # the first paint comes before the heavy imports and the stage; a screenshot needs none
    splash = None if args.screenshot else starting_splash(_starting_what(args))

    from PySide6.QtCore import QSettings

    from emulator.heap import keep_pauses_short
    from emulator.ui.main_window import MainWindow

    try:
        stage = await start_stage(args, splash.tell if splash is not None else lambda _doing: None)
    except Exception as exc:  # a remote server that does not answer, a bad token ...
        if splash is not None:
            splash.close()
        print(f"autosync-emulator: could not start the stage: {exc}", file=sys.stderr)
        return 2
    settings = None if args.screenshot else QSettings("Autosync Emulator", "autosync-emulator")
    window = MainWindow(stage, settings=settings, clock_running=args.screenshot is None)
    loop = asyncio.get_running_loop()
    closed: asyncio.Future[None] = loop.create_future()
    window.closed.connect(lambda: _resolve(closed))
    if args.screenshot:
        window.fit_to(args.width, args.height, within_screen=False)
    window.show()
    if splash is not None:
        splash.close()
    keep_pauses_short()
    opened = window.open_scenario(args.scenario) if args.scenario else None
    if args.screenshot:
        if opened is not None:
            await opened
        await stage.settle()
        await _let_qt_paint()
        ok = window.save_screenshot(str(args.screenshot))
        window.close()
        await closed
        if not ok:
            print(f"autosync-emulator: could not write {args.screenshot}", file=sys.stderr)
            return 1
        return 0
    await closed
    return 0


def _starting_what(args: argparse.Namespace) -> str:
    if args.server:
        return f"Joining the server at {args.server}…"
    return "Starting the server (the online side of Vault CRM)…"


async def _let_qt_paint(rounds: int = 5) -> None:
    """Give Qt a few event-loop turns (zero-delay timers) to lay out and paint."""
    from PySide6.QtCore import QTimer

    for _ in range(rounds):
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        QTimer.singleShot(0, lambda d=done: _resolve(d))
        await done


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


NO_DISPLAY = """autosync-emulator: {problem}

The app needs a screen. On a machine without one:
  xvfb-run -a -s "-screen 0 1600x1000x24" ./dev app      a virtual screen (Debian: apt install xvfb)
  ./dev app --screenshot stage.png                        a picture of the window, made offscreen
  .venv/bin/autosync-emulator scenario run FILE.yaml      scenarios, headless
"""
NOT_SET = "no display found (neither $DISPLAY nor $WAYLAND_DISPLAY is set)."


def display_sockets(environ: Mapping[str, str]) -> list[tuple[str, tuple[int, object]]]:
    """Where the displays the environment names listen: (its name, (address family, address)).

    ``$WAYLAND_DISPLAY`` is a socket in ``$XDG_RUNTIME_DIR`` (or a path); ``$DISPLAY`` is
    ``[host]:N[.screen]``: on this machine the X server's socket ``/tmp/.X11-unix/XN`` (also in
    Linux's abstract namespace), on another host TCP port 6000 + N.
    """
    found: list[tuple[str, tuple[int, object]]] = []
    wayland = environ.get("WAYLAND_DISPLAY", "")
    if wayland:
        path = (
            wayland if wayland.startswith("/") else os.path.join(environ.get("XDG_RUNTIME_DIR", "/"), wayland)
        )
        found.append((f"$WAYLAND_DISPLAY={wayland}", (socket.AF_UNIX, path)))
    display = environ.get("DISPLAY", "")
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if display and display.startswith("/"):
        found.append((f"$DISPLAY={display}", (socket.AF_UNIX, display)))
    elif display and number.isdigit():
        name = f"$DISPLAY={display}"
        if host in ("", "unix"):
            local = f"/tmp/.X11-unix/X{number}"
            found += [(name, (socket.AF_UNIX, "\0" + local)), (name, (socket.AF_UNIX, local))]
        else:
            found.append((name, (socket.AF_INET, (host, 6000 + int(number)))))
    elif display:
        found.append((f"$DISPLAY={display}", (socket.AF_UNIX, "")))  # not a display's name
    return found


def answers(family: int, address: object) -> bool:
    """Whether something listens at a display's address (a second at most)."""
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(1.0)
            probe.connect(address)  # type: ignore[arg-type]
    except (OSError, ValueError):
        return False
    return True


def display_problem(environ: Mapping[str, str], reach: Callable[[int, object], bool] = answers) -> str | None:
    """Why there is no screen to show the window on (None: a display answers)."""
    sockets = display_sockets(environ)
    if not sockets:
        return NOT_SET
    if any(reach(family, address) for _name, (family, address) in sockets):
        return None
    names = " and ".join(dict.fromkeys(name for name, _address in sockets))
    return f"no display answers at {names}: the display server is not running, or not here."


def choose_platform(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    reach: Callable[[int, object], bool] = answers,
) -> str | None:
    """The Qt platform to use, or None when there is no screen to show the window on.

    ``--screenshot`` needs no screen: it renders offscreen. Otherwise Qt's default (xcb or
    wayland) needs a display that answers; without one Qt would abort with a misleading
    message (a core dump naming xcb-cursor).
    """
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen and chosen.split(":")[0] not in ("xcb", "wayland"):
        return chosen  # offscreen, vnc, ...: no display to check
    if args.screenshot is not None and not chosen:
        return "offscreen"
    return None if display_problem(environ, reach) else chosen


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["scenario"]:  # headless: autosync-emulator scenario run FILE...
        from emulator.scenarios.cli import main as scenario_cli

        return scenario_cli(words[1:])
    if words[:1] == ["bench"]:  # headless: autosync-emulator bench [--quick]
        from emulator.bench.cli import main as bench_cli

        return bench_cli(words[1:])
    args = parse_args(argv)
    platform = choose_platform(args, os.environ)
    if platform is None:
        print(NO_DISPLAY.format(problem=display_problem(os.environ)), file=sys.stderr, end="")
        return 2
    if platform:
        os.environ["QT_QPA_PLATFORM"] = platform
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Autosync Emulator")
    app.setOrganizationName("Autosync Emulator")
    app.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        code: int = loop.run_until_complete(run(args))
    return code


if __name__ == "__main__":
    sys.exit(main())
