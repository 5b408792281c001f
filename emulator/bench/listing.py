"""The record list: refreshing the Qt model of 10,000 records, one stall of the window at most.

The model reads each record's sync state, title and subtitle; it is held to the 50 ms goal of a
stall, and the note compares it with the same rows built in plain Python from the same records.
Needs a QApplication (the model is a Qt object).
"""

from __future__ import annotations

from typing import Any

from emulator.bench.figures import Figure, best_of
from emulator.bench.stalls import GOAL as STALL_GOAL
from emulator.engine.schema import DeviceSchema

SCHEMA = {
    "objects": {
        "account__v": {
            "label": "Account",
            "title": "name__v",
            "subtitle": "city__v",
            "fields": {
                "name__v": {"type": "text", "label": "Name"},
                "city__v": {"type": "text", "label": "City"},
            },
        }
    },
    "families": {},
}


class _Device:
    """What the list model reads of a device: its schema, its records and their sync states."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.schema = DeviceSchema(SCHEMA)
        self._records = records

    def records(self, _object: str) -> list[dict[str, Any]]:
        return self._records

    def sync_states(self) -> dict[str, str]:
        return {self._records[3]["id"]: "queued"}


def figures(count: int) -> list[Figure]:
    from emulator.ui.records import RecordListModel

    records = [{"id": f"A{n:06d}", "name__v": f"Doctor {n}", "city__v": "Boston"} for n in range(count)]
    model = RecordListModel(_Device(records), "account__v")  # type: ignore[arg-type]
    measured = best_of(5, model.refresh)
    if model.rowCount() != count:
        raise RuntimeError(f"the record list shows {model.rowCount()} rows, not {count}")
    floor = best_of(5, lambda: [(r["id"], "synced", r["name__v"], r["city__v"]) for r in records])
    return [
        Figure(
            f"record list of {count:,} refreshed (one redraw of the list)",
            measured,
            STALL_GOAL,
            1.0,
            "the goal for a stall of the window",
            f"{measured / floor:.0f}x building the same rows in plain Python",
        )
    ]
