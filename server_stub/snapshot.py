"""Seeded in-memory databases kept as bytes, so that the next embedded server starts from a copy.

Seeding the sample world runs every sample record through the save logic (triggers, formulas,
auto-numbers, roll-ups): about a second. An embedded server (the emulator's default, one per
scenario in a scenario library) seeds an empty in-memory SQLite database; everything the seed
draws (IDs, auto-numbers, sequence numbers) comes from counters in that database, so the same
schema, the same sample and the same emulated time give the same database, byte for byte. The
first server of a process seeds and keeps :meth:`sqlite3.Connection.serialize`'s bytes here; the
next ones with the same key load them with ``deserialize`` instead of seeding again.

Only in-memory SQLite is kept this way: a database file or PostgreSQL is seeded as before.

A kept database is also written to a cache folder (``$AUTOSYNC_SEED_CACHE``, else
``$XDG_CACHE_HOME/autosync-emulator`` or ``~/.cache/autosync-emulator``; ``off`` writes and reads
none), so that the next process (the app's start-up, ``scenario run``) need not seed either. A
file's name is a digest of the key, of the server's code (every ``server_stub`` source file) and
of the Python, SQLite, SQLAlchemy and pydantic versions, so another version of any of them never reads it; its
content starts with a digest of the rest, so a damaged file is seeded anew and replaced.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import sqlite3
import sys
import tempfile
from collections import OrderedDict
from collections.abc import Hashable
from pathlib import Path

import pydantic
import sqlalchemy
from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection

#: How many seeded databases a process keeps (a few hundred kilobytes each); the oldest goes first.
KEEP = 8
#: How many the cache folder keeps; the least recently written go first.
KEEP_ON_DISK = 32
SUFFIX = ".seeded-sqlite"

_KEPT: OrderedDict[Hashable, bytes] = OrderedDict()


def _sqlite(engine: Engine) -> tuple[sqlite3.Connection, PoolProxiedConnection] | None:
    """The engine's one in-memory SQLite connection (a StaticPool's), or None for any other engine."""
    if engine.dialect.name != "sqlite" or engine.url.database not in (None, "", ":memory:"):
        return None
    proxy = engine.raw_connection()
    driver = proxy.driver_connection
    if not isinstance(driver, sqlite3.Connection) or not hasattr(driver, "serialize"):
        proxy.close()
        return None
    return driver, proxy


def cache_dir() -> Path | None:
    """The folder seeded databases are written to, or None when the cache is off."""
    chosen = os.environ.get("AUTOSYNC_SEED_CACHE", "")
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "autosync-emulator"


@functools.cache
def _code_digest() -> str:
    """A digest of the server's source files: what seeding does depends on all of them."""
    digest = hashlib.sha256()
    for source in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(source.name.encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()


def _disk_path(key: Hashable) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    libraries = (sqlite3.sqlite_version, sqlalchemy.__version__, pydantic.VERSION, sys.version)
    versions = (repr(key), _code_digest(), *libraries)
    name = hashlib.sha256("\n".join(versions).encode()).hexdigest()[:32]
    return folder / f"{name}{SUFFIX}"


def _read_disk(key: Hashable) -> bytes | None:
    path = _disk_path(key)
    if path is None:
        return None
    try:
        content = path.read_bytes()
    except OSError:
        return None
    digest, data = content[:32], content[32:]
    return data if hashlib.sha256(data).digest() == digest else None


def _write_disk(key: Hashable, data: bytes) -> None:
    """Write atomically (a whole file or none); a folder that cannot be written is no error."""
    path = _disk_path(key)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".partial")
        with os.fdopen(handle, "wb") as out:
            out.write(hashlib.sha256(data).digest() + data)
        os.replace(temporary, path)
        kept = sorted(path.parent.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime_ns)
        for old in kept[:-KEEP_ON_DISK]:
            old.unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(temporary)


def restore(engine: Engine, key: Hashable) -> bool:
    """Load the database kept under ``key`` into the engine's empty in-memory database, if kept."""
    data = _KEPT.get(key)
    if data is None:
        data = _read_disk(key)
        if data is None:
            return False
        _remember(key, data)
    found = _sqlite(engine)
    if found is None:
        return False
    connection, proxy = found
    try:
        connection.deserialize(data)
    finally:
        proxy.close()
    _KEPT.move_to_end(key)
    return True


def keep(engine: Engine, key: Hashable) -> None:
    """Keep a copy of the engine's in-memory database (committed, as it is now) under ``key``."""
    found = _sqlite(engine)
    if found is None:
        return
    connection, proxy = found
    try:
        data = connection.serialize()
    finally:
        proxy.close()
    _remember(key, data)
    _write_disk(key, data)


def _remember(key: Hashable, data: bytes) -> None:
    _KEPT[key] = data
    _KEPT.move_to_end(key)
    while len(_KEPT) > KEEP:
        _KEPT.popitem(last=False)


def forget() -> None:
    """Drop every database kept in this process (not the cache folder's)."""
    _KEPT.clear()
