"""Each user's Autosync data feed (AS-15 to AS-18).

Every transaction saved from a device becomes one entry on its user's feed, holding every saved
record whole (plus masters whose roll-ups changed), so a device can merge it all-or-nothing.
Entries older than the retention period (seven days) are removed, lazily, whenever the feed is
written or read; the highest removed sequence number is kept so that a device whose cursor is
behind it knows it has missed changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server_stub.clock import iso, parse_iso
from server_stub.store import Record, Store, StoredRow

RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class FeedPage:
    """What a device gets when it reads its feed after a cursor."""

    entries: list[StoredRow]
    latest_seq: int
    purged_through: int
    missed: bool
    oldest_added_at: str | None


def put_on_feed(
    store: Store,
    user_id: str,
    *,
    now: datetime,
    transaction_id: str,
    origin_device: str,
    reason: str,
    records: list[tuple[str, Record]],
    deleted: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> int:
    """Add one entry to ``user_id``'s feed (AS-16); return its sequence number."""
    purge_expired(store, user_id, now)
    seq = store.next_feed_seq()
    store.add_feed_entry(
        seq=seq,
        user_id=user_id,
        added_at=iso(now),
        transaction_id=transaction_id,
        origin_device=origin_device,
        reason=reason,
        payload={
            "records": [{"object": obj, "id": rec["id"], "fields": rec} for obj, rec in records],
            "deleted": [{"object": obj, "id": rid} for obj, rid in deleted],
        },
    )
    return seq


def purge_expired(store: Store, user_id: str, now: datetime) -> int:
    """Remove entries older than the retention period (AS-18); return how many went.

    Only looks unless something expired: then it takes the write lock and removes it.
    """
    return store.purge_feed(user_id, iso(now - RETENTION))


def latest_seq(store: Store) -> int:
    """The highest sequence number ever used on any feed (0 if none)."""
    return store.last_feed_seq()


def read_feed(store: Store, user_id: str, *, after: int, limit: int, now: datetime) -> FeedPage:
    """Entries of ``user_id``'s feed after the cursor ``after`` (AS-15), oldest first.

    The position (latest number, purged through, oldest entry) is read first, in one statement:
    an entry committed meanwhile is read next time. Expired entries are purged first when the
    oldest entry says there are any.
    """
    latest, purged, oldest = store.feed_position(user_id)
    if oldest is not None and oldest <= iso(now - RETENTION):
        purge_expired(store, user_id, now)
        latest, purged, oldest = store.feed_position(user_id)
    entries = store.feed_entries(user_id, after, limit)
    return FeedPage(
        entries=entries,
        latest_seq=max(latest, entries[-1].seq if entries else 0),
        purged_through=purged,
        missed=after < purged,
        oldest_added_at=oldest,
    )


def paged_entries(entries: list[StoredRow], *, skip: int, max_records: int) -> list[dict[str, Any]]:
    """Entries as the API returns them, cut to at most ``max_records`` records in all.

    A large transaction can so arrive over several reads (AS-22): each part says which of the
    entry's records it carries (``first_record`` of ``total_records``); the deletions come with
    the last part. ``skip`` is how many records of the first entry the device already has.
    """
    out = []
    budget = max_records
    for index, entry in enumerate(entries):
        records = entry.payload.get("records", [])
        start = min(skip, len(records)) if index == 0 else 0
        if budget <= 0 and start < len(records):
            break
        end = min(len(records), start + budget)
        budget -= end - start
        part = entry_json(entry)
        part.update(
            records=records[start:end],
            first_record=start,
            total_records=len(records),
            deleted=part["deleted"] if end == len(records) else [],
        )
        out.append(part)
        if end < len(records):
            break
    return out


def entry_json(entry: StoredRow) -> dict[str, Any]:
    """A feed entry as the API returns it (whole)."""
    added = parse_iso(entry.added_at)
    records = entry.payload.get("records", [])
    return {
        "first_record": 0,
        "total_records": len(records),
        "seq": entry.seq,
        "added_at": entry.added_at,
        "expires_at": iso(added + RETENTION),
        "transaction_id": entry.transaction_id,
        "origin_device": entry.origin_device,
        "reason": entry.reason,
        "records": records,
        "deleted": entry.payload.get("deleted", []),
    }
