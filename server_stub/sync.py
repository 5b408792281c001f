"""Incremental sync: what a device gets only when its user asks for it (AS-15, AS-19, AS-27).

Unlike the feed, incremental sync applies the VMOC where clauses, and returns everything that
changed online since the device's last sync whoever changed it: other users, online users,
integrations and territory alignments, plus metadata, CLM / Approved Email content and the
X-Pages and Nitro data sets. It also lists every record ID the user may see, so that a device can
drop what left its where clause.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server_stub import device_admin
from server_stub.access import Access, Member
from server_stub.clock import iso
from server_stub.feed import latest_seq
from server_stub.schema import Schema
from server_stub.store import Store


def incremental_sync(
    schema: Schema, store: Store, user: Member, cursor: int | None, now: datetime
) -> dict[str, Any]:
    """The answer to one incremental sync: changes after ``cursor`` (all when it is None).

    The cursor is a number from the server's change sequence (the ``cursor`` of the previous
    answer), so nothing saved in the same second as the last sync is ever missed. Both cursors
    are read before the records: a change committed meanwhile comes again next time rather than
    never (writers commit in the order of their numbers, see :mod:`server_stub.store`).
    """
    new_cursor = store.last_change()
    feed_seq = latest_seq(store)
    visibility = Access(schema, store, user, now)
    records = []
    visible_ids: dict[str, list[str]] = {name: [] for name in schema.objects}
    for row in store.records():
        if row.object not in schema.objects or not visibility.downloadable(row.object, row.data):
            continue
        visible_ids[row.object].append(row.id)
        if cursor is None or row.change_seq > cursor:
            records.append({"object": row.object, "id": row.id, "fields": row.data})
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
        "records": records,
        "visible_ids": visible_ids,
        "schema": schema.to_json(),
        "datasets": datasets,
        "settings": device_admin.user_settings(store, user.id),
        "commands": device_admin.commands(store, user.id),
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
