"""A private PostgreSQL server for the test session: its own cluster in a temporary folder.

It listens only on a Unix socket in that folder, trusts local connections, and is stopped and
deleted at the end. The binaries come from Debian's ``postgresql`` package, which ``./dev test``
installs; the driver is ``psycopg`` (a test extra).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.fail("PostgreSQL is not installed: ./dev test installs Debian's postgresql package")
    return found[-1].parent


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def private_postgres() -> Iterator[str]:
    """Start a throwaway cluster; yield its SQLAlchemy URL (psycopg, Unix socket)."""
    bin_dir = _bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="autosync-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)

    def run(*command: str) -> None:
        done = subprocess.run(
            _as_server_user([str(bin_dir / command[0]), *command[1:]]),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    try:
        run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = f"-k {folder} -c listen_addresses='' -F"
        run("pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w", "start")
        try:
            yield f"postgresql+psycopg://postgres@/postgres?host={folder}"
        finally:
            run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
