"""Turning a user's edit into upload items (AS-01, AS-04, AS-05, AS-08), as pure functions."""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]


def create_item(object_name: str, temp_id: str, fields: Record) -> Record:
    return {
        "op": "create",
        "object": object_name,
        "id": temp_id,
        "fields": {k: v for k, v in fields.items() if v is not None},
    }


def update_item(object_name: str, before: Record, after: Record) -> Record | None:
    """AS-08: only the changed fields, each with its previous and new value; None if unchanged."""
    changes = {
        name: {"old": before.get(name), "new": value}
        for name, value in after.items()
        if before.get(name) != value
    }
    if not changes:
        return None
    return {"op": "update", "object": object_name, "id": before["id"], "changes": changes}


def delete_item(object_name: str, record_id: str) -> Record:
    return {"op": "delete", "object": object_name, "id": record_id}


def merge_retry(failed: list[Record], new: list[Record]) -> list[Record]:
    """Fold a new edit into the items of a sync error ("edit and retry").

    A create stays a create with the newest values; an update keeps the previous values the
    server never saw replaced and takes the newest values; items of other records are kept.
    """
    merged: dict[str, Record] = {item["id"]: _copy(item) for item in failed}
    for item in new:
        existing = merged.get(item["id"])
        if existing is None:
            merged[item["id"]] = _copy(item)
        elif item["op"] == "delete":
            merged[item["id"]] = _copy(item) if existing["op"] != "create" else {"op": "drop"}
        elif existing["op"] == "create":
            existing["fields"].update({k: ch["new"] for k, ch in item.get("changes", {}).items()})
        elif existing["op"] == "update":
            for name, change in item.get("changes", {}).items():
                if name in existing["changes"]:
                    existing["changes"][name]["new"] = change["new"]
                else:
                    existing["changes"][name] = dict(change)
    return [item for item in merged.values() if item.get("op") != "drop"]


def apply_items(record: Record, items: list[Record]) -> Record:
    """The record with the new values of later queued edits laid over it."""
    out = dict(record)
    for item in items:
        if item.get("id") != out.get("id"):
            continue
        if item["op"] == "update":
            out.update({k: ch["new"] for k, ch in item["changes"].items()})
        elif item["op"] == "create":
            out.update(item["fields"])
    return out


def _copy(item: Record) -> Record:
    out = dict(item)
    if "fields" in out:
        out["fields"] = dict(out["fields"])
    if "changes" in out:
        out["changes"] = {k: dict(v) for k, v in out["changes"].items()}
    return out
