"""The record list model: a badge per record, and smooth with 10,000 records."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from emulator.engine.schema import DeviceSchema
from emulator.ui.records import STATE_ROLE, RecordFilter, RecordListModel, XRayStateDelegate, display_value

SCHEMA = DeviceSchema(
    {
        "objects": {
            "account__v": {
                "label": "Account",
                "plural": "Accounts",
                "title": "name__v",
                "subtitle": "specialty__v",
                "fields": {
                    "name__v": {"type": "text", "label": "Name", "writable": True},
                    "specialty__v": {
                        "type": "picklist",
                        "label": "Specialty",
                        "writable": True,
                        "values": [{"value": "onc__v", "label": "Oncology"}],
                    },
                    "vip__v": {"type": "boolean", "label": "VIP", "writable": True},
                },
            }
        },
        "families": {},
    }
)


class ManyRecords:
    """Just enough of a Device for the list model: 10,000 accounts, a few not synced."""

    def __init__(self, count: int) -> None:
        self.schema = SCHEMA
        self._records = [
            {"id": f"A{n:05d}", "name__v": f"Doctor {n:05d}", "specialty__v": "onc__v"} for n in range(count)
        ]

    def records(self, _object_name: str) -> list[dict[str, Any]]:
        return self._records

    def sync_states(self) -> dict[str, str]:
        return {"A00003": "queued", "A00007": "sync_error", "A09999": "update_waiting"}


@pytest.mark.rule("AS-30")
def test_ten_thousand_records_load_and_each_shows_its_state(qtbot: QtBot) -> None:
    device = ManyRecords(10_000)
    model = RecordListModel(device, "account__v")  # type: ignore[arg-type]
    model.refresh()  # how fast: `autosync-emulator bench --only list` (a ratio against a floor)
    assert model.rowCount() == 10_000
    assert model.index(3, 0).data(STATE_ROLE) == "queued"
    assert model.index(7, 0).data() == "Sync error"
    tip = model.index(9999, 1).data(Qt.ItemDataRole.ToolTipRole)
    assert tip == "X-RAY · Doctor 09999: Update waiting to merge"
    assert model.index(0, 2).data() == "Oncology"
    assert model.state_counts() == {"synced": 9997, "queued": 1, "sync_error": 1, "update_waiting": 1}

    proxy = RecordFilter()
    proxy.setSourceModel(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setItemDelegateForColumn(0, XRayStateDelegate(view))
    view.resize(500, 700)
    view.show()
    for row in range(0, 10_000, 500):
        view.scrollTo(proxy.index(row, 0))
        view.viewport().repaint()
    assert view.rowAt(0) >= 0, "the view shows rows wherever it is scrolled"
    proxy.setFilterFixedString("Doctor 0999")
    assert proxy.rowCount() == 10
    proxy.setFilterFixedString("oncology")
    assert proxy.rowCount() == 10_000, "the details are searched"


@pytest.mark.rule("AS-30")
@pytest.mark.parametrize("xray", [True, False])
def test_search_and_tooltips_tell_only_what_the_rep_sees(xray: bool) -> None:
    """The sync state is the X-ray view's: Search never matches it, a tooltip tells it only in X-ray."""
    model = RecordListModel(ManyRecords(20), "account__v")  # type: ignore[arg-type]
    model.xray = xray
    model.refresh()
    proxy = RecordFilter()
    proxy.setSourceModel(model)
    for state in ("Queued", "Synced", "Update waiting", "Saved on", "Sync error"):
        proxy.setFilterFixedString(state)
        assert proxy.rowCount() == 0, state
    proxy.setFilterFixedString("doctor 0000")
    assert proxy.rowCount() == 10
    tip = model.index(3, 1).data(Qt.ItemDataRole.ToolTipRole)
    accessible = model.index(3, 0).data(Qt.ItemDataRole.AccessibleTextRole)
    if xray:
        assert tip == "X-RAY · Doctor 00003: Queued for upload" and accessible == "Queued for upload"
    else:
        assert tip is None and accessible is None


def test_values_are_shown_as_the_app_shows_them() -> None:
    assert display_value(SCHEMA, None, "account__v", "specialty__v", "onc__v") == "Oncology"
    assert display_value(SCHEMA, None, "account__v", "vip__v", True) == "Yes"
    assert display_value(SCHEMA, None, "account__v", "name__v", None) == "—"


def test_a_long_list_is_read_a_page_per_turn_of_the_loop_and_shows_the_same_rows(
    window: Any, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 11: after a large sync the list re-reads thousands of records without freezing the
    window; here "long" and the page are made small so the sample world's accounts take pages."""
    import asyncio

    from emulator.ui import records
    from tests.ui.conftest import run

    app = window.column(0).frame.app
    app.show_object("account__v")
    model = app.model
    model.refresh()
    at_once = [model.index(r, 1).data() for r in range(model.rowCount())]
    assert len(at_once) > 8

    monkeypatch.setattr(records, "READ_IN_TURNS_OVER", 5)
    monkeypatch.setattr(records, "LIST_PAGE", 4)
    assert model.is_long()
    turns = 0

    async def read_while_counting() -> None:
        nonlocal turns
        reading = asyncio.ensure_future(model.refresh_in_turns())
        while not reading.done():
            turns += 1
            await asyncio.sleep(0)
        await reading

    run(qtbot, read_while_counting())
    assert [model.index(r, 1).data() for r in range(model.rowCount())] == at_once
    assert turns >= len(at_once) // 4  # a turn per page at least

    calls: list[str] = []
    monkeypatch.setattr(type(model), "refresh", lambda _self: calls.append("at once"))
    app.refresh()  # the app reads a long list in turns, not at once
    qtbot.waitUntil(lambda: not app._listing)
    assert calls == []
