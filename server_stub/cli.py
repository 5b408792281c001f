"""``autosync-stub``: the stub Vault CRM server on its own, under uvicorn; and ``autosync-stub load``.

The server process prepares the database once (tables, the sample world, tokens, the clock), then
serves it with one uvicorn process or, on PostgreSQL, several (``--workers N``): every piece of
state is in the database, so any of them answers any request. ``autosync-stub load ...`` is the
load driver (:mod:`server_stub.load`).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from server_stub.clock import parse_iso
from server_stub.schema import SchemaError

#: The configuration every worker process reads (the parent sets it before starting them).
WORKER_ENV = "AUTOSYNC_STUB_WORKER"
#: A fault for tests: ``kill-after-commit:N`` makes the server kill itself (SIGKILL) right
#: after the N-th upload it ever committed, before it replies.
FAULT_ENV = "AUTOSYNC_STUB_FAULT"
MAX_WORKERS = 16
#: An admin token for a server other machines can reach: at least this long ...
ADMIN_TOKEN_LENGTH = 32
#: ... and made of at least this many different characters (not "aaaa...", not "12341234...").
ADMIN_TOKEN_VARIETY = 12


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an IP address or localhost) is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def weak_token(token: str) -> str | None:
    """Why ``token`` is too weak for a server other machines can reach, or None."""
    if len(token) < ADMIN_TOKEN_LENGTH:
        return f"it has {len(token)} characters, fewer than {ADMIN_TOKEN_LENGTH}"
    if len(set(token)) < ADMIN_TOKEN_VARIETY:
        return f"it uses only {len(set(token))} different characters; a random one uses many more"
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autosync-stub",
        description="Run the Autosync stub server (Vault CRM server side) standalone. "
        "'autosync-stub load --help' describes the load driver.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument(
        "--db",
        default="sqlite:///autosync-stub.db",
        help="SQLAlchemy database URL (default sqlite:///autosync-stub.db)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help=f"server processes on the one database (PostgreSQL only; default 1, at most {MAX_WORKERS})",
    )
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("AUTOSYNC_ADMIN_TOKEN"),
        help="token for the online side (default: $AUTOSYNC_ADMIN_TOKEN, else a random one); "
        f"on an address other machines can reach, at least {ADMIN_TOKEN_LENGTH} random characters",
    )
    parser.add_argument("--schema", type=Path, help="object schema YAML (default: bundled)")
    parser.add_argument("--sample", type=Path, help="sample data YAML (default: bundled)")
    parser.add_argument(
        "--no-sample", action="store_true", help="start with an empty server (no users, no data)"
    )
    parser.add_argument(
        "--user-tokens",
        choices=["sample", "random"],
        help="sample: the sample users' fixed development tokens (loopback only, the default there); "
        "random: random ones, the development tokens refused (always on any other address)",
    )
    parser.add_argument(
        "--start", help="emulated time a new database's clock starts at, ISO 8601 (default: now, UTC)"
    )
    parser.add_argument(
        "--clock",
        choices=["running", "manual"],
        default="running",
        help="running: time passes as in real life; manual: it moves only when advanced",
    )
    parser.add_argument("--access-log", action="store_true", help="log every request (off by default)")
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse and check the flags, exiting with a message that names any bad one."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be between 1 and 65535, not {args.port}")
    try:
        url = make_url(args.db)
    except ArgumentError:
        parser.error(f"--db is not a database URL: {args.db!r} (try sqlite:///autosync-stub.db)")
    if not 1 <= args.workers <= MAX_WORKERS:
        parser.error(f"--workers must be between 1 and {MAX_WORKERS}, not {args.workers}")
    if args.workers > 1 and url.get_backend_name() != "postgresql":
        parser.error(
            f"--workers {args.workers} needs PostgreSQL: SQLite has one writer at a time, so several "
            "server processes would only wait for each other; use --db postgresql+psycopg://... "
            "or leave --workers out"
        )
    try:
        ipaddress.ip_address(args.host)
    except ValueError:
        if args.host != "localhost":
            parser.error(f"--host must be an IP address or localhost, not {args.host!r}")
    reachable = not is_loopback(args.host)
    if reachable:
        if args.user_tokens == "sample":
            parser.error(
                f"--user-tokens sample: on {args.host} other machines can reach the server, and "
                "everyone knows the sample users' development tokens; leave it out (random tokens)"
            )
        if args.admin_token is not None and (why := weak_token(args.admin_token)) is not None:
            parser.error(
                f"--admin-token (or $AUTOSYNC_ADMIN_TOKEN) is too weak for {args.host}, which other "
                f"machines can reach: {why}. Leave it out for a random one, or make one with: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
    if args.user_tokens is None:
        args.user_tokens = "random" if reachable else "sample"
    if args.start is not None:
        try:
            args.start = parse_iso(args.start)
        except ValueError:
            parser.error(f"--start must be a time like 2026-11-26T09:00:00Z, not {args.start!r}")
    for flag in ("schema", "sample"):
        path = getattr(args, flag)
        if path is not None and not path.is_file():
            parser.error(f"--{flag}: no such file {path}")
    return args


def app_config(args: argparse.Namespace, admin_token: str) -> dict[str, Any]:
    """What every server process needs to build the app (JSON, handed over in WORKER_ENV)."""
    return {
        "db_url": args.db,
        "admin_token": admin_token,
        "schema_path": str(args.schema) if args.schema else None,
        "sample_path": str(args.sample) if args.sample else None,
        "load_sample_data": not args.no_sample,
        "random_user_tokens": args.user_tokens == "random",
    }


def _create(config: dict[str, Any], **extra: Any) -> Any:
    from server_stub.app import create_app

    return create_app(
        db_url=config["db_url"],
        admin_token=config["admin_token"],
        schema_path=Path(config["schema_path"]) if config["schema_path"] else None,
        sample_path=Path(config["sample_path"]) if config["sample_path"] else None,
        load_sample_data=config["load_sample_data"],
        random_user_tokens=config["random_user_tokens"],
        **extra,
    )


def prepare(args: argparse.Namespace, admin_token: str) -> datetime:
    """Prepare the database once, before any server process starts; returns the emulated time.

    Tables, the sample world in an empty database, random tokens for the sample users when
    asked (whatever the database's age), and the clock: a new database's starts at ``--start``
    (or now), an existing one's goes on from where it stands.
    """
    start = args.start or datetime.now(UTC).replace(microsecond=0)
    app = _create(app_config(args, admin_token), clock_start=start, clock_running=args.clock == "running")
    state = app.state.server
    state.start()
    try:
        with state.transaction() as store:
            return state.now(store)  # type: ignore[no-any-return]
    finally:
        state.engine.dispose()


def worker_app() -> Any:
    """The app of one server process (uvicorn's factory), from the parent's WORKER_ENV."""
    config = json.loads(os.environ[WORKER_ENV])
    fault = os.environ.get(FAULT_ENV, "")
    after = int(fault.removeprefix("kill-after-commit:")) if fault.startswith("kill-after-commit:") else None
    return _create(config, prepared=True, fault_after_commit=after)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["load"]:
        from server_stub.load import main as load_main

        return load_main(argv[1:])
    args = parse_args(argv)
    import secrets

    import uvicorn

    admin_token = args.admin_token or secrets.token_urlsafe(32)
    try:
        now = prepare(args, admin_token)
    except SchemaError as exc:
        print(f"autosync-stub: {exc}", file=sys.stderr)
        return 2
    os.environ[WORKER_ENV] = json.dumps(app_config(args, admin_token))
    if not is_loopback(args.host):
        print(
            f"autosync-stub: listening on {args.host}, reachable from other machines; "
            "anyone with a user token can upload as that user.",
            file=sys.stderr,
        )
    if args.user_tokens == "random":
        print(
            "autosync-stub: the sample users' development tokens are refused; read each user's "
            "token with the admin token: GET /api/v1/admin/users/USER/token (the app does this "
            "when it joins: ./dev app --server URL --token ADMIN_TOKEN)",
            flush=True,
        )
    print(f"autosync-stub: admin token {admin_token}", flush=True)
    print(f"autosync-stub: emulated time {now.isoformat()} ({args.clock} clock)", flush=True)
    print(f"autosync-stub: {args.workers} server process(es) on {_redacted(args.db)}", flush=True)
    print(f"autosync-stub: API docs at http://{args.host}:{args.port}/docs", flush=True)
    uvicorn.run(
        "server_stub.cli:worker_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=args.access_log,
    )
    return 0


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    raise SystemExit(main())
