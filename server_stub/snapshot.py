"""Seeded in-memory databases kept as bytes, so that the next embedded server starts from a copy.

Seeding the sample world runs every sample record through the save logic (triggers, formulas,
auto-numbers, roll-ups): about a second. An embedded server (the emulator's default, one per
scenario in a scenario library) seeds an empty in-memory SQLite database; everything the seed
draws (IDs, auto-numbers, sequence numbers) comes from counters in that database, so the same
schema, the same sample and the same emulated time give the same database, byte for byte. The
first server of a process seeds and keeps :meth:`sqlite3.Connection.serialize`'s bytes here; the
next ones with the same key load them with ``deserialize`` instead of seeding again.

Only in-memory SQLite is kept this way: a database file or PostgreSQL is seeded as before.
"""

from __future__ import annotations

import sqlite3
from collections import OrderedDict
from collections.abc import Hashable

from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection

#: How many seeded databases a process keeps (a few hundred kilobytes each); the oldest goes first.
KEEP = 8

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


def restore(engine: Engine, key: Hashable) -> bool:
    """Load the database kept under ``key`` into the engine's empty in-memory database, if kept."""
    data = _KEPT.get(key)
    if data is None:
        return False
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
        _KEPT[key] = connection.serialize()
    finally:
        proxy.close()
    while len(_KEPT) > KEEP:
        _KEPT.popitem(last=False)


def forget() -> None:
    """Drop every kept database (tests use it to seed from scratch)."""
    _KEPT.clear()
