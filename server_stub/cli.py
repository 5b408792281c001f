"""``autosync-stub``: the stub Vault CRM server on its own, under uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from server_stub.clock import Clock, ManualClock, RunningClock, parse_iso
from server_stub.schema import SchemaError

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autosync-stub",
        description="Run the Autosync stub server (Vault CRM server side) standalone.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    parser.add_argument(
        "--db",
        default="sqlite:///autosync-stub.db",
        help="SQLAlchemy database URL (default sqlite:///autosync-stub.db)",
    )
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("AUTOSYNC_ADMIN_TOKEN"),
        help="token for the online side (default: $AUTOSYNC_ADMIN_TOKEN, else a random one)",
    )
    parser.add_argument("--schema", type=Path, help="object schema YAML (default: bundled)")
    parser.add_argument("--sample", type=Path, help="sample data YAML (default: bundled)")
    parser.add_argument(
        "--no-sample", action="store_true", help="start with an empty server (no users, no data)"
    )
    parser.add_argument(
        "--user-tokens",
        choices=["sample", "random"],
        help="sample: the sample users' fixed development tokens (default on loopback); "
        "random: new random ones (default on any other address)",
    )
    parser.add_argument("--start", help="emulated time to start at, ISO 8601 (default: now, UTC)")
    parser.add_argument(
        "--clock",
        choices=["running", "manual"],
        default="running",
        help="running: time passes as in real life; manual: it moves only when advanced",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse and check the flags, exiting with a message that names any bad one."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error(f"--port must be between 1 and 65535, not {args.port}")
    try:
        make_url(args.db)
    except ArgumentError:
        parser.error(f"--db is not a database URL: {args.db!r} (try sqlite:///autosync-stub.db)")
    try:
        ipaddress.ip_address(args.host)
    except ValueError:
        if args.host != "localhost":
            parser.error(f"--host must be an IP address or localhost, not {args.host!r}")
    if args.user_tokens is None:
        args.user_tokens = "sample" if args.host in LOOPBACK else "random"
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import uvicorn

    from server_stub.app import create_app

    start = args.start or datetime.now(UTC).replace(microsecond=0)
    clock: Clock = ManualClock(start) if args.clock == "manual" else RunningClock(start)
    admin_token = args.admin_token or secrets.token_urlsafe(24)
    try:
        app = create_app(
            db_url=args.db,
            clock=clock,
            admin_token=admin_token,
            schema_path=args.schema,
            sample_path=args.sample,
            load_sample_data=not args.no_sample,
            random_user_tokens=args.user_tokens == "random",
        )
    except SchemaError as exc:
        print(f"autosync-stub: {exc}", file=sys.stderr)
        return 2
    if args.host not in LOOPBACK:
        print(
            f"autosync-stub: listening on {args.host}, reachable from other machines; "
            "anyone with a user token can upload as that user.",
            file=sys.stderr,
        )
    if args.user_tokens == "random" and not args.no_sample:
        print(
            "autosync-stub: the sample users have random tokens (new databases only); "
            "the app reads them with the admin token",
            flush=True,
        )
    print(f"autosync-stub: admin token {admin_token}", flush=True)
    print(f"autosync-stub: API docs at http://{args.host}:{args.port}/docs", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
