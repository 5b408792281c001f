"""When downloaded feed data may be merged (AS-21 to AS-26), as pure functions.

``plan_merge`` decides for one staged feed entry; ``check_action`` decides whether waiting data
forbids an action the user is about to take. Both look only at what they are given.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

SUBMITTED = "submitted__v"
Action = Literal["edit", "submit", "delete"]


@dataclass(frozen=True)
class MergePlan:
    """What to do with one staged entry."""

    wait: str | None = None  # why it waits, if it does
    merge: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    delete: list[tuple[str, str]] = field(default_factory=list)
    discard: list[tuple[str, str, str]] = field(default_factory=list)  # object, id, why


def entry_ids(entry: Mapping[str, Any]) -> set[str]:
    return {r["id"] for r in entry.get("records", [])} | {d["id"] for d in entry.get("deleted", [])}


def plan_merge(
    entry: Mapping[str, Any],
    *,
    complete: bool,
    open_ids: Collection[str],
    blocked_ids: Collection[str],
    pending_ids: Collection[str],
    error_ids: Collection[str],
    local_versions: Mapping[str, int | None],
    unanswered_transactions: Collection[str] = (),
) -> MergePlan:
    """Decide for one downloaded entry.

    * AS-22: an entry not fully downloaded waits.
    * An entry made by one of this device's own uploads whose answer has not been applied yet
      (the poll overtook the reply) waits for that answer, rather than being discarded as
      older than the pending upload (AS-26): it is the upload's own result.
    * AS-23: an entry touching a record open on screen waits (so does one touching a record
      held by an earlier waiting entry, so versions never merge out of order).
    * AS-26: a record with a pending upload or a sync error is discarded.
    * A version the device already has (its own upload, applied from the answer) is skipped
      quietly; an older one (an incremental sync got there first) is discarded.
    """
    if not complete:
        return MergePlan(wait="not all of its records have arrived yet")
    if entry.get("transaction_id") in unanswered_transactions:
        return MergePlan(wait="the answer to this iPad's own upload has not been applied yet")
    news, same_or_older = [], []
    for record in entry.get("records", []):
        incoming = record["fields"].get("_version")
        local = local_versions.get(record["id"])
        if isinstance(local, int) and isinstance(incoming, int) and incoming <= local:
            same_or_older.append(record)
        else:
            news.append(record)
    deletions = list(entry.get("deleted", []))
    ids = {r["id"] for r in news} | {d["id"] for d in deletions}
    if ids & set(open_ids):
        return MergePlan(wait="the record is open on screen")
    if ids & set(blocked_ids):
        return MergePlan(wait="an earlier update to the same record is waiting")
    merge, delete, discard = [], [], []
    for record in same_or_older:
        if record["fields"].get("_version") != local_versions.get(record["id"]):
            discard.append((record["object"], record["id"], "this device already has a newer version"))
    for record in news:
        rid = record["id"]
        if rid in pending_ids:
            discard.append((record["object"], rid, "this device has a newer change waiting to upload"))
        elif rid in error_ids:
            discard.append((record["object"], rid, "this device has a sync error for the record"))
        else:
            merge.append((record["object"], dict(record["fields"])))
    for gone in deletions:
        if gone["id"] in pending_ids or gone["id"] in error_ids:
            discard.append((gone["object"], gone["id"], "this device has a newer change"))
        else:
            delete.append((gone["object"], gone["id"]))
    return MergePlan(merge=merge, delete=delete, discard=discard)


def check_action(
    action: Action,
    record_id: str,
    local: Mapping[str, Any] | None,
    waiting: Sequence[Mapping[str, Any]],
    label: str,
) -> str | None:
    """AS-24: the reason waiting data forbids ``action`` on the record, or None if it does not."""
    for entry in reversed(waiting):  # newest waiting version first
        if any(d["id"] == record_id for d in entry.get("deleted", [])):
            return f"This {label.lower()} was deleted on another device."
        for record in entry.get("records", []):
            if record["id"] != record_id:
                continue
            now_submitted = record["fields"].get("status__v") == SUBMITTED
            was_submitted = (local or {}).get("status__v") == SUBMITTED
            if now_submitted and not was_submitted:
                verb = {"edit": "edited", "submit": "submitted again", "delete": "deleted"}[action]
                return (
                    f"This {label.lower()} was submitted on another device and can no longer "
                    f"be {verb}. The submitted version will show when you leave this screen."
                )
            return None
    return None
