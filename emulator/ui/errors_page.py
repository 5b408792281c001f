"""The app's Errors tab (AS-34): one error per record, each with the actions it allows.

Undo (a refused update) and Undelete (a refused delete) are carried out at the next incremental
sync; while a record of the error still has an upload waiting, the error can only be cleared. The
conflicting values (what this iPad sent, what is online) are the emulator's X-ray view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from emulator.engine.device import Device
from emulator.engine.error_actions import LABELS, ErrorAction
from emulator.engine.events import EventLog, OnlineChangeData, transaction_of
from emulator.engine.localstore import SyncErrorRow
from emulator.ui.support import hhmmss
from emulator.ui.xray_style import XRayNote

REQUESTED = {
    "undo": "Undo requested: it is done at your next sync.",
    "undelete": "Undelete requested: your next sync refreshes the database.",
}


def who_won(events: EventLog, error: SyncErrorRow) -> str | None:
    """Whose save got there first, and when: read from the event stream (AS-07).

    The last save of the record online before this iPad's upload was refused: another iPad's
    upload, or an online edit. None when the stream does not tell (the record changed before
    the stage began, say).
    """
    stream = events.events
    refused = next(
        (
            n
            for n in range(len(stream) - 1, -1, -1)
            if stream[n].kind == "rejected" and transaction_of(stream[n]) == error.transaction_id
        ),
        len(stream),
    )
    for event in reversed(stream[:refused]):
        if event.kind == "uploaded" and event.record is not None and event.record[1] == error.record_id:
            return f"{events.name_of(event.actor)} at {hhmmss(event.time)}"
        if event.kind == "online_change" and error.record_id in event.data_as(OnlineChangeData)["path"]:
            return f"an online edit at {hhmmss(event.time)}"
    return None


def conflict_text(error: SyncErrorRow, winner: str | None = None) -> str:
    """X-ray: each conflicting field, what this iPad had, what it sent, what was online, who won."""
    first = f"saved first by {winner}" if winner else "saved first elsewhere"
    parts = []
    for c in error.conflicts:
        parts.append(
            f"{c.get('label', c.get('field'))}: this iPad sent {c.get('new')!r} over {c.get('previous')!r}, "
            f"but online it was already {c.get('online')!r} ({first})"
        )
    return "; ".join(parts)


class ErrorCard(QFrame):
    """One sync error: the record, the message, and its action buttons."""

    def __init__(
        self, error: SyncErrorRow, offered: tuple[ErrorAction, ...], act: Callable[[ErrorAction], None]
    ) -> None:
        super().__init__()
        self.error = error
        self.setObjectName(f"error-{error.id}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{error.label}</b>")
        title.setObjectName("error-title")
        title.setWordWrap(True)
        message = QLabel(error.message)
        message.setObjectName("error-message")
        message.setWordWrap(True)
        message.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(title)
        layout.addWidget(message)
        self.status = QLabel(REQUESTED.get(error.requested or "", ""))
        self.status.setObjectName("error-status")
        self.status.setWordWrap(True)
        self.status.setVisible(bool(self.status.text()))
        layout.addWidget(self.status)
        self.details = XRayNote("error-xray")
        layout.addWidget(self.details)
        row = QHBoxLayout()
        row.addStretch(1)
        self.buttons: dict[str, QPushButton] = {}
        for action in offered:
            button = QPushButton(LABELS[action])
            button.setObjectName(f"error-{action}")
            button.setEnabled(error.requested != action)
            button.clicked.connect(lambda _c=False, a=action: act(a))
            row.addWidget(button)
            self.buttons[action] = button
        layout.addLayout(row)


class ErrorsPage(QWidget):
    """The Errors tab.

    Signals:
        back(): the user left the tab (to Home).
        sync_clicked(): the Sync button.
        act(int, str): the user tapped an action (error ID, action) on an error.
    """

    back = Signal()
    sync_clicked = Signal()
    act = Signal(int, str)

    def __init__(self, device: Device, events: EventLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.events = events
        self.setObjectName("errors-page")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        header = QFrame()
        header.setObjectName("screen-header")
        header.setFrameShape(QFrame.Shape.StyledPanel)
        row = QHBoxLayout(header)
        row.setContentsMargins(4, 2, 4, 2)
        self.home = QPushButton("◀ Home")
        self.home.setObjectName("errors-back")
        title = QLabel("<b>Sync Errors</b>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.sync = QPushButton("Sync")
        self.sync.setObjectName("errors-sync")
        row.addWidget(self.home)
        row.addWidget(title, 1)
        row.addWidget(self.sync)
        layout.addWidget(header)
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.scroller, 1)
        self.cards: list[ErrorCard] = []
        self._shown: tuple[Any, ...] | None = None  # what the cards show, to rebuild only on a change
        self.home.clicked.connect(self.back)
        self.sync.clicked.connect(self.sync_clicked)

    def _actor(self, error_id: int) -> Callable[[ErrorAction], None]:
        return lambda action: self.act.emit(error_id, action)

    def refresh(self, *, xray: bool) -> None:
        """Rebuild the cards when what they show changed (a card under the finger stays put)."""
        device = self.device
        self.sync.setEnabled(device.blocking is None)
        errors = device.sync_errors()
        cards = [
            (error, device.error_actions(error), conflict_text(error, who_won(self.events, error)))
            for error in errors
        ]
        shown = (xray, tuple((e.id, e.requested, e.label, e.message, tuple(a), t) for e, a, t in cards))
        if shown == self._shown:
            return
        self._shown = shown
        body = QWidget()
        column = QVBoxLayout(body)
        self.cards = []
        if not errors:
            empty = QLabel("No sync errors.")
            empty.setObjectName("no-errors")
            empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
            column.addWidget(empty)
        for error, actions, text in cards:
            card = ErrorCard(error, actions, self._actor(error.id))
            card.details.say(text, shown=xray)
            column.addWidget(card)
            self.cards.append(card)
        column.addStretch(1)
        self.scroller.setWidget(body)
