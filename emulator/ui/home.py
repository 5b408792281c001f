"""The app's Home page: the Sync widget (AS-33) and Refresh mode's status (AS-36).

The widget shows one of four states: a green circle with a check (up to date), an orange circle
with spinning arrows and the records uploaded and downloaded (syncing), an orange circle with an
arrow and the pending count, red once pending longer than ``SYNC_WARN_INTERVAL`` (pending), or a
red circle with an exclamation point that opens the Errors tab (sync errors). It shows the last
successful incremental sync and the days since, and has a Sync button. The arrows spin with the
emulated clock, so a paused clock stands them still.
"""

from __future__ import annotations

import math
from datetime import datetime

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from emulator.engine.device import Device
from emulator.engine.refresh import ButtonColour
from emulator.engine.sync_widget import SyncWidget
from emulator.ui.app_overlays import RoundedPanel
from emulator.ui.theme import scaled

COLOURS = {"green": QColor("#2e9e44"), "orange": QColor("#f08c00"), "red": QColor("#d6341f")}
APPLY_COLOURS: dict[ButtonColour, str] = {"blue": "#1f6fd1", "orange": "#f08c00", "red": "#d6341f"}


def widget_title(widget: SyncWidget) -> str:
    if widget.state == "syncing":
        return "Syncing"
    if widget.state == "errors":
        return f"{widget.errors} sync error{'s' if widget.errors != 1 else ''}"
    if widget.state == "pending":
        return f"{widget.pending} pending upload{'s' if widget.pending != 1 else ''}"
    return "Up to date"


def last_sync_text(widget: SyncWidget) -> str:
    """``Last sync: Thu 26 Nov 2026 09:00:00 (today)``, days since in words."""
    if widget.last_sync is None:
        return "Last sync: never"
    days = widget.days_since or 0
    ago = "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"
    return f"Last sync: {widget.last_sync.strftime('%a %d %b %Y %H:%M:%S')} ({ago})"


class SyncIcon(QWidget):
    """The widget's circle: check, spinning arrows, arrow, or exclamation point."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sync-icon")
        self.state = "up_to_date"
        self.colour = "green"
        self.angle = 0.0

    def sizeHint(self) -> QSize:
        side = self.fontMetrics().height() * 3
        return QSize(side, side)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def show_state(self, state: str, colour: str, now: datetime) -> None:
        self.state, self.colour = state, colour
        self.angle = (now.timestamp() * 180.0) % 360.0  # half a turn per emulated second
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = min(self.width(), self.height()) - 4
        box = QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(COLOURS[self.colour])
        painter.drawEllipse(box)
        pen = QPen(QColor("white"), max(2.0, side / 12), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        c, r = box.center(), side / 2
        if self.state == "up_to_date":
            path = QPainterPath(QPointF(c.x() - r * 0.4, c.y()))
            path.lineTo(c.x() - r * 0.1, c.y() + r * 0.3)
            path.lineTo(c.x() + r * 0.45, c.y() - r * 0.3)
            painter.drawPath(path)
        elif self.state == "syncing":
            ring = QRectF(c.x() - r * 0.5, c.y() - r * 0.5, r, r)
            for start in (self.angle, self.angle + 180):
                painter.drawArc(ring, int(start * 16), 120 * 16)
                tip = math.radians(start + 120)
                x, y = c.x() + r * 0.5 * math.cos(tip), c.y() - r * 0.5 * math.sin(tip)
                painter.setBrush(QColor("white"))
                painter.drawPolygon(QPolygonF([QPointF(x, y), QPointF(x + 3, y + 3), QPointF(x - 3, y + 3)]))
                painter.setBrush(Qt.BrushStyle.NoBrush)
        elif self.state == "pending":
            painter.drawLine(QPointF(c.x(), c.y() + r * 0.45), QPointF(c.x(), c.y() - r * 0.4))
            painter.drawLine(QPointF(c.x(), c.y() - r * 0.45), QPointF(c.x() - r * 0.3, c.y() - r * 0.12))
            painter.drawLine(QPointF(c.x(), c.y() - r * 0.45), QPointF(c.x() + r * 0.3, c.y() - r * 0.12))
        else:
            painter.drawLine(QPointF(c.x(), c.y() - r * 0.5), QPointF(c.x(), c.y() + r * 0.15))
            painter.drawPoint(QPointF(c.x(), c.y() + r * 0.42))
        painter.end()


class SyncWidgetView(RoundedPanel):
    """The Sync widget card.

    Signals:
        sync_clicked(): the Sync button.
        errors_clicked(): the widget tapped while it shows sync errors.
        apply_clicked(): Apply Update (Refresh mode).
    """

    sync_clicked = Signal()
    errors_clicked = Signal()
    apply_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, fill=False)
        self.setObjectName("sync-widget")
        self.state = "up_to_date"
        outer = QVBoxLayout(self)
        heading = QLabel("Sync")
        heading.setObjectName("sync-widget-heading")
        outer.addWidget(heading)
        row = QHBoxLayout()
        self.icon = SyncIcon()
        row.addWidget(self.icon)
        words = QVBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("sync-widget-title")
        self.detail = QLabel()
        self.detail.setObjectName("sync-widget-detail")
        self.detail.setWordWrap(True)
        self.last = QLabel()
        self.last.setObjectName("sync-widget-last")
        self.last.setWordWrap(True)
        for label in (self.title, self.detail, self.last):
            words.addWidget(label)
        row.addLayout(words, 1)
        outer.addLayout(row)
        buttons = QHBoxLayout()
        self.refresh_status = QLabel()
        self.refresh_status.setObjectName("refresh-status")
        self.refresh_status.setWordWrap(True)
        self.apply = QPushButton("Apply Update")
        self.apply.setObjectName("apply-update")
        self.sync = QPushButton("Sync")
        self.sync.setObjectName("sync-button")
        buttons.addWidget(self.refresh_status, 1)
        buttons.addWidget(self.apply)
        buttons.addWidget(self.sync)
        outer.addLayout(buttons)
        self.sync.clicked.connect(self.sync_clicked)
        self.apply.clicked.connect(self.apply_clicked)
        self.heading = heading

    def show_widget(self, widget: SyncWidget, now: datetime, *, blocked: bool) -> None:
        self.state = widget.state
        self.icon.show_state(widget.state, widget.colour, now)
        self.title.setText(widget_title(widget))
        self.title.setFont(scaled(self.font(), 1.2, bold=True))
        self.heading.setFont(scaled(self.font(), 1.0, bold=True))
        self.title.setStyleSheet(
            "" if widget.colour == "green" else f"color:{COLOURS[widget.colour].name()};"
        )
        if widget.progress is not None:
            p = widget.progress
            self.detail.setText(
                f"Uploaded {p.uploaded} of {p.to_upload} · Downloaded {p.downloaded} of {p.to_download}"
            )
        elif widget.state == "errors":
            self.detail.setText("Tap to see the errors.")
        else:
            self.detail.setText("")
        self.detail.setVisible(bool(self.detail.text()))
        self.last.setText(last_sync_text(widget))
        self.sync.setEnabled(not blocked)
        self.setCursor(
            Qt.CursorShape.PointingHandCursor if widget.state == "errors" else Qt.CursorShape.ArrowCursor
        )

    def show_refresh(self, device: Device) -> None:
        """Refresh mode's status and the Apply Update button in its colour (AS-36)."""
        refresh = device.refresh
        state = refresh.state
        done, total = refresh.progress
        text = {
            "downloading": f"Downloading updates in the background ({done} of {total})"
            if total
            else "Downloading updates in the background",
            "paused": "Update download paused",
            "ready": "Update ready to apply",
            "applying": "Applying update",
        }.get(state, "")
        self.refresh_status.setText(text)
        self.refresh_status.setVisible(bool(text))
        colour = refresh.colour()
        self.apply.setVisible(colour is not None)
        if colour is not None:  # why this colour is the X-ray view's (CrmApp's Home note)
            self.apply.setStyleSheet(
                f"QPushButton#apply-update {{ background:{APPLY_COLOURS[colour]}; color:white;"
                " font-weight:bold; border-radius:6px; padding:4px 10px; }"
            )

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if self.state == "errors" and event.button() == Qt.MouseButton.LeftButton:
            self.errors_clicked.emit()


class HomePage(QWidget):
    """Home: a greeting, the Sync widget, and the reminder to sync."""

    def __init__(self, device: Device, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.setObjectName("home-page")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        self.greeting = QLabel()
        self.greeting.setObjectName("greeting")
        layout.addWidget(self.greeting)
        self.reminder = QLabel()
        self.reminder.setObjectName("sync-reminder")
        self.reminder.setWordWrap(True)
        self.reminder.setStyleSheet("color:#b45309; font-weight:bold;")
        layout.addWidget(self.reminder)
        self.widget = SyncWidgetView()
        layout.addWidget(self.widget)
        self.xray_box = QVBoxLayout()  # the X-ray notes the app adds here (see CrmApp)
        layout.addLayout(self.xray_box)
        layout.addStretch(1)

    def refresh(self, now: datetime) -> None:
        device = self.device
        widget = device.sync_widget()
        part = "morning" if now.hour < 12 else "afternoon" if now.hour < 18 else "evening"
        self.greeting.setText(f"Good {part}, {device.profile.user_id.capitalize()}")
        self.greeting.setFont(scaled(self.font(), 1.3, bold=True))
        self.widget.show_widget(widget, now, blocked=device.blocking is not None)
        self.widget.show_refresh(device)
        if widget.remind and widget.days_since:
            self.reminder.setText(
                f"Please sync: your last sync was {widget.days_since} day"
                f"{'s' if widget.days_since != 1 else ''} ago."
            )
        elif widget.remind:
            self.reminder.setText("Please sync: this iPad has not synced yet.")
        else:
            self.reminder.setText("")
        self.reminder.setVisible(bool(self.reminder.text()))
