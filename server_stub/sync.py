"""Incremental sync: what a device gets only when its user asks for it (AS-15, AS-19, AS-27).

Unlike the feed, incremental sync applies the VMOC where clauses, and returns everything that
changed online since the device's last sync whoever changed it: other users, online users,
integrations and territory alignments, plus metadata, CLM / Approved Email content and the
X-Pages and Nitro data sets. It also lists every record ID the user may see, so that a device can
drop what left its where clause.

The answer comes in pages, so that no request reads or sends more than a page of records however
many there are (a 10,000-record sync is fifty small answers, not one that holds up the server and
the device). The first page holds everything but records: the new cursor, the schema, data sets,
settings and commands, as read when the sync started. Every page then carries its share of two
parts, read one after the other:

1. *changes*: the records the user may download changed after the device's cursor and at or
   before the new one, in change order, from the change index (:meth:`Store.changed_page`);
2. *visible*: the IDs of every live record the user may download, by ID
   (:meth:`Store.live_page`).

Each page ends with the position (:class:`Position`) where the next one starts, which the
device sends back for it; None after the last page. A page is judged by the where clauses of the
user who asks for it: a position names where to read, never what may be read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from server_stub import device_admin
from server_stub.access import Access, Member
from server_stub.clock import iso
from server_stub.feed import latest_seq
from server_stub.schema import Schema
from server_stub.store import Store

#: The most records one page of the changes reads (and so answers).
PAGE_RECORDS = 200
#: The most records one page of the visible IDs reads (it answers their IDs only).
PAGE_IDS = 500

Phase = Literal["changes", "visible"]


@dataclass(frozen=True)
class Position:
    """Where a page of an incremental sync starts.

    Attributes:
        upto: the new cursor: changes after it come at the next sync, not in this one.
        phase: the part being read.
        seq: in the changes, the change number read up to (the device's cursor at first).
        id: the ID read up to: in the changes, within change ``seq`` (None: all of it); in the
            visible IDs, the last ID read (None: none yet).
    """

    upto: int
    phase: Phase
    seq: int = 0
    id: str | None = None


def incremental_sync(
    schema: Schema, store: Store, user: Member, cursor: int | None, now: datetime
) -> dict[str, Any]:
    """The first page of an incremental sync: changes after ``cursor`` (all when it is None).

    The cursor is a number from the server's change sequence (the ``cursor`` of the previous
    answer), so nothing saved in the same second as the last sync is ever missed. Both cursors
    are read before the records: a change committed meanwhile, even while the device reads the
    later pages, comes again next time rather than never (writers commit in the order of their
    numbers, see :mod:`server_stub.store`).
    """
    new_cursor = store.last_change()
    feed_seq = latest_seq(store)
    start = Position(upto=new_cursor, phase="changes", seq=-1 if cursor is None else cursor)
    datasets = [
        {
            "name": d.name,
            "kind": d.kind,
            "version": d.version,
            "updated_at": d.updated_at,
            "items": d.items,
        }
        for d in store.datasets()
        if cursor is None or d.change_seq > cursor
    ]
    return {
        "user_id": user.id,
        "server_time": iso(now),
        "feed_seq": feed_seq,
        "full": cursor is None,
        "cursor": new_cursor,
        **sync_page(schema, store, user, start, now),
        "schema": schema.to_json(),
        "datasets": datasets,
        "settings": device_admin.user_settings(store, user.id),
        "commands": device_admin.commands(store, user.id),
    }


def sync_page(schema: Schema, store: Store, user: Member, at: Position, now: datetime) -> dict[str, Any]:
    """One page from ``at``: its records, its visible IDs and where the next page starts."""
    visibility = Access(schema, store, user, now)
    records: list[dict[str, Any]] = []
    visible_ids: dict[str, list[str]] = {name: [] for name in schema.objects}
    following: Position | None
    if at.phase == "changes":
        rows = store.changed_page(at.seq, at.id, at.upto, PAGE_RECORDS)
        for row in rows:
            if row.object in schema.objects and visibility.downloadable(row.object, row.data):
                records.append({"object": row.object, "id": row.id, "fields": row.data})
        if len(rows) < PAGE_RECORDS:
            following = Position(upto=at.upto, phase="visible")
        else:
            following = Position(upto=at.upto, phase="changes", seq=rows[-1].change_seq, id=rows[-1].id)
    else:
        rows = store.live_page(at.id or "", PAGE_IDS)
        for row in rows:
            if row.object in schema.objects and visibility.downloadable(row.object, row.data):
                visible_ids[row.object].append(row.id)
        following = None if len(rows) < PAGE_IDS else Position(upto=at.upto, phase="visible", id=rows[-1].id)
    return {
        "records": records,
        "visible_ids": visible_ids,
        "next": None if following is None else asdict(following),
    }


def fetch(schema: Schema, store: Store, user: Member, ids: list[str], now: datetime) -> list[dict[str, Any]]:
    """The records among ``ids`` that exist and the user may download, in the order asked."""
    visibility = Access(schema, store, user, now)
    out = []
    for record_id in ids:
        found = store.get_any(record_id)
        if found is None or found[0] not in schema.objects:
            continue
        object_name, record = found
        if visibility.downloadable(object_name, record):
            out.append({"object": object_name, "id": record_id, "fields": record})
    return out
