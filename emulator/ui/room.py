"""The server console's room: every iPad that has talked to the server, as the server saw it.

A trainer running one ``autosync-stub`` for a whole room reads here which trainee's iPad is
online, which has uploads waiting and which has gone quiet. The figures are what each device last
reported in its requests' headers (``GET /api/v1/admin/devices``); ages are from the server's
clock at the moment the list was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from emulator.ui.records import HeaderedTableModel, Index

#: A device not heard from for this long is drawn as quiet (it polls its feed every 30 s when up).
QUIET_AFTER_S = 120.0
_WAITING = QColor("#b45309")
_QUIET = QColor("#6b7280")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def ago(seconds: float) -> str:
    """``42 s ago``, ``3 min 5 s ago``, ``2 h 5 min ago``, ``3 d ago`` (never negative).

    Seconds are told for the last hour: a poll every 30 s is what a trainer looks for.
    """
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s ago"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s ago" if rest else f"{minutes} min ago"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min ago" if minutes else f"{hours} h ago"
    return f"{hours // 24} d ago"


@dataclass(frozen=True)
class RoomRow:
    """One device, with its times as seconds before the server's clock (None: never)."""

    user: str
    device: str
    name: str  # the iPad's name on this stage, or "" for another trainee's
    model: str
    queue: int | None
    seen: float
    upload: float | None
    poll: float | None
    sync: float | None

    @property
    def quiet(self) -> bool:
        return self.seen > QUIET_AFTER_S


def room_rows(answer: dict[str, Any], names: dict[str, str]) -> list[RoomRow]:
    """The server's room answer as rows, most recently seen first; ``names``: device ID -> name."""
    now = _time(str(answer["server_time"]))

    def before(text: str | None) -> float | None:
        return None if text is None else (now - _time(text)).total_seconds()

    rows = [
        RoomRow(
            user=str(d["user_id"]),
            device=str(d["device_id"]),
            name=names.get(str(d["device_id"]), ""),
            model=str(d.get("model") or ""),
            queue=d.get("queue_length"),
            seen=before(d["last_seen_at"]) or 0.0,
            upload=before(d.get("last_upload_at")),
            poll=before(d.get("last_poll_at")),
            sync=before(d.get("last_sync_at")),
        )
        for d in answer["devices"]
    ]
    return sorted(rows, key=lambda r: (r.seen, r.user, r.device))


def room_summary(rows: list[RoomRow]) -> str:
    if not rows:
        return "No iPad has talked to this server yet."
    users = len({r.user for r in rows})
    waiting = sum(1 for r in rows if r.queue)
    quiet = sum(1 for r in rows if r.quiet)
    text = f"{len(rows)} iPads of {users} users have talked to this server"
    text += f"; {waiting} with uploads waiting" if waiting else "; no uploads waiting"
    if quiet:
        text += f"; {quiet} not heard from for over {int(QUIET_AFTER_S // 60)} minutes"
    return text + "."


class RoomModel(HeaderedTableModel):
    """The room as a table; a device with uploads waiting is amber, a quiet one grey."""

    HEADERS = (
        "User",
        "iPad",
        "Model",
        "Uploads waiting",
        "Last seen",
        "Last upload",
        "Last feed read",
        "Last sync",
    )

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[RoomRow] = []

    def set_rows(self, rows: list[RoomRow]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def row_count(self) -> int:
        return len(self.rows)

    def data(self, index: Index, role: int = 0) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return f"Device ID {row.device}"
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.quiet:
                return QBrush(_QUIET)
            if row.queue and index.column() == 3:
                return QBrush(_WAITING)
        if role == Qt.ItemDataRole.FontRole and row.queue and index.column() == 3:
            bold = QFont()
            bold.setBold(True)
            return bold
        return None

    @staticmethod
    def _text(row: RoomRow, column: int) -> str:
        if column == 0:
            return row.user
        if column == 1:
            return row.name or row.device
        if column == 2:
            return row.model
        if column == 3:
            return "not reported" if row.queue is None else str(row.queue)
        seconds = (row.seen, row.upload, row.poll, row.sync)[column - 4]
        return "never" if seconds is None else ago(seconds)


class RoomPage(QWidget):
    """The room tab: a summary line, the table and a Refresh button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.summary = QLabel("Not read yet.")
        self.summary.setObjectName("room-summary")
        self.summary.setWordWrap(True)
        self.refresh = QPushButton("Refresh")
        self.refresh.setObjectName("room-refresh")
        top.addWidget(self.refresh)
        top.addStretch(1)
        layout.addWidget(self.summary)  # on its own line: the console is often a narrow dock
        layout.addLayout(top)
        self.model = RoomModel(self)
        self.table = QTableView()
        self.table.setObjectName("room-table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        layout.addWidget(self.table, 1)

    def show_room(self, answer: dict[str, Any], names: dict[str, str]) -> None:
        rows = room_rows(answer, names)
        self.model.set_rows(rows)
        self.summary.setText(room_summary(rows))
