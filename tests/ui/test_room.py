"""The server console's room: every iPad the server has heard from, as the server saw it (issue 12)."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from emulator.ui.main_window import MainWindow
from emulator.ui.room import QUIET_AFTER_S, RoomModel, ago, room_rows, room_summary
from tests.ui.conftest import run
from tests.ui.test_main_window import columns


def _answer(*devices: dict[str, object]) -> dict[str, object]:
    return {"server_time": "2026-03-02T09:10:00Z", "devices": list(devices)}


def _device(device_id: str, user: str, seen: str, queue: int | None, **times: str) -> dict[str, object]:
    return {
        "user_id": user,
        "device_id": device_id,
        "model": "iPad Air 2",
        "queue_length": queue,
        "last_seen_at": seen,
        "last_upload_at": times.get("upload"),
        "last_poll_at": times.get("poll"),
        "last_sync_at": times.get("sync"),
    }


def test_ages_read_as_people_say_them() -> None:
    assert [ago(s) for s in (0, 59, 60, 95, 3599, 3600, 3660, 86400 * 3 + 5)] == [
        "0 s ago",
        "59 s ago",
        "1 min ago",
        "1 min 35 s ago",
        "59 min 59 s ago",
        "1 h ago",
        "1 h 1 min ago",
        "3 d ago",
    ]
    assert ago(-5) == "0 s ago"  # a device's clock a little ahead of the server's


def test_the_room_reads_the_servers_answer_waiting_uploads_and_quiet_ipads_stand_out() -> None:
    answer = _answer(
        _device("t1-ipad", "trainee1", "2026-03-02T09:00:00Z", 2, upload="2026-03-02T08:59:00Z"),
        _device("anna-pro", "anna", "2026-03-02T09:09:50Z", 0, poll="2026-03-02T09:09:50Z"),
        _device("t2-ipad", "trainee2", "2026-03-02T09:09:00Z", None),
    )
    rows = room_rows(answer, {"anna-pro": "Anna's iPad Pro"})
    assert [r.device for r in rows] == ["anna-pro", "t2-ipad", "t1-ipad"]  # most recently seen first
    assert [r.quiet for r in rows] == [False, False, True]
    assert room_summary(rows) == (
        "3 iPads of 3 users have talked to this server; 1 with uploads waiting; "
        f"1 not heard from for over {int(QUIET_AFTER_S // 60)} minutes."
    )

    model = RoomModel()
    model.set_rows(rows)
    cell = [[model.index(r, c).data() for c in range(model.columnCount())] for r in range(3)]
    assert cell[0][:5] == ["anna", "Anna's iPad Pro", "iPad Air 2", "0", "10 s ago"]
    assert cell[0][5:] == ["never", "10 s ago", "never"]
    assert cell[1][1:4] == ["t2-ipad", "iPad Air 2", "not reported"]  # another trainee's: its ID
    assert cell[2][3:6] == ["2", "10 min ago", "11 min ago"]
    waiting = model.index(2, 3).data(Qt.ItemDataRole.ForegroundRole)
    assert waiting is not None and model.index(0, 3).data(Qt.ItemDataRole.ForegroundRole) is None
    assert room_summary([]) == "No iPad has talked to this server yet."


def test_the_room_tab_lists_the_stages_ipads_and_follows_the_clock(window: MainWindow, qtbot: QtBot) -> None:
    console = window.console
    console.setCurrentWidget(console.room)
    model = console.room.model
    qtbot.waitUntil(lambda: model.row_count() == 3)
    names = {model.index(r, 1).data() for r in range(3)}
    assert names == {"Anna's iPad Pro", "Anna's iPad Air", "Chloe's iPad"}
    assert console.room.summary.text().startswith("3 iPads of 2 users have talked to this server")

    _pro, _air, chloe = columns(window)
    chloe.panel.set_network("offline")
    run(qtbot, window.stage.advance(timedelta(minutes=5)))  # the others poll their feeds meanwhile
    qtbot.waitUntil(lambda: "1 not heard from" in console.room.summary.text())
    quiet = [r for r in model.rows if r.quiet]
    assert [r.name for r in quiet] == ["Chloe's iPad"]


def test_every_console_page_fits_the_narrowest_console_dock(window: MainWindow) -> None:
    """On a 1366-pixel projector the console is a narrow dock: no page may need more width."""
    from emulator.ui.main_window import CONSOLE_MIN_WIDTH

    console = window.console
    widths = {console.tabText(i): console.widget(i).minimumSizeHint().width() for i in range(console.count())}
    assert "Room" in widths
    too_wide = {name: width for name, width in widths.items() if width > CONSOLE_MIN_WIDTH}
    assert not too_wide, f"wider than the {CONSOLE_MIN_WIDTH}-pixel console: {too_wide}"
