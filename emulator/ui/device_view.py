"""A virtual iPad drawn as a device: a rounded bezel, a status bar and the CRM app inside."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from emulator.engine.device import Device
from emulator.engine.events import Event
from emulator.ui.crm_app import CrmApp
from emulator.ui.support import Coalescer, Context
from emulator.ui.theme import BEZEL, BEZEL_EDGE, NETWORK, STATES

BEZEL_WIDTH = 18


class StatusBar(QWidget):
    """The iPad's status bar: emulated time, device name, network, pending uploads and errors."""

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.context = context
        self.setObjectName("status-bar")
        self.setAutoFillBackground(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 8, 2)
        self.time = QLabel()
        self.time.setObjectName("status-time")
        self.name = QLabel(device.profile.name)
        self.name.setObjectName("status-name")
        self.name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.mode = QLabel()
        self.mode.setObjectName("status-mode")
        self.network = QLabel()
        self.network.setObjectName("status-network")
        self.pending = QLabel()
        self.pending.setObjectName("status-pending")
        self.errors = QLabel()
        self.errors.setObjectName("status-errors")
        for label in (self.time, self.name, self.mode, self.network, self.pending, self.errors):
            label.setStyleSheet("font-weight:bold;")
        row.addWidget(self.time)
        row.addWidget(self.name, 1)
        row.addWidget(self.mode)
        row.addWidget(self.network)
        row.addWidget(self.pending)
        row.addWidget(self.errors)
        self._refresh = Coalescer(self.refresh, self)
        context.bridge.happened.connect(self._on_event)
        context.bridge.time_changed.connect(lambda _moment: self._show_time())
        self.refresh()

    def _on_event(self, event: Event) -> None:
        if event.actor == self.device.actor:
            self._refresh.request()

    def _show_time(self) -> None:
        self.time.setText(self.context.stage.clock.now().strftime("%H:%M:%S"))

    def refresh(self) -> None:
        self._show_time()
        device = self.device
        net = NETWORK[device.conditions.mode]
        text = net.short
        if device.conditions.mode == "online" and device.conditions.latency:
            text += f" +{device.conditions.latency.total_seconds():g}s"
        self.network.setText(f"{net.glyph} {text}")
        self.network.setStyleSheet(f"color:{net.colour}; font-weight:bold;")
        self.network.setToolTip(device.conditions.describe())
        modes = []
        if device.traditional:
            modes.append("Traditional sync")
        if not device.foreground:
            modes.append("Background")
        self.mode.setText(" · ".join(modes))
        self.mode.setVisible(bool(modes))
        queued = len(device.queue())
        errors = len(device.sync_errors())
        self._badge(self.pending, queued, STATES["queued"].colour, "↑", "upload waiting", "uploads waiting")
        self._badge(self.errors, errors, STATES["sync_error"].colour, "✕", "sync error", "sync errors")

    @staticmethod
    def _badge(label: QLabel, count: int, colour: str, glyph: str, one: str, many: str) -> None:
        label.setVisible(count > 0)
        label.setText(f" {glyph} {count} ")
        label.setToolTip(f"{count} {one if count == 1 else many}")
        label.setStyleSheet(
            f"background:{colour}; color:#000; border-radius:8px; padding:0 4px; font-weight:bold;"
        )


class DeviceFrame(QWidget):
    """The iPad: a bezel painted around the status bar and the app.

    Attributes:
        device: the engine device it shows.
        app: the CRM app inside.
    """

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.setObjectName(f"ipad-{device.id}")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(BEZEL_WIDTH, BEZEL_WIDTH + 6, BEZEL_WIDTH, BEZEL_WIDTH + 6)
        layout.setSpacing(0)
        self.display = QWidget()
        self.display.setObjectName("ipad-screen")
        self.display.setAutoFillBackground(True)
        inner = QVBoxLayout(self.display)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.setSpacing(0)
        self.status = StatusBar(device, context)
        self.app = CrmApp(device, context)
        inner.addWidget(self.status)
        inner.addWidget(self.app, 1)
        layout.addWidget(self.display)
        self.setToolTip(
            f"{device.profile.name}: {device.profile.model}, iOS {device.profile.ios_version}, "
            f"signed in as {device.profile.user_id}"
        )

    def sizeHint(self) -> QSize:
        em = self.fontMetrics().height()
        return QSize(em * 27, em * 34)

    def minimumSizeHint(self) -> QSize:
        em = self.fontMetrics().height()
        return QSize(em * 20, em * 22)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.setPen(QPen(BEZEL_EDGE, 2))
        painter.setBrush(BEZEL)
        painter.drawRoundedRect(rect, 26, 26)
        # the front camera
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BEZEL_EDGE)
        painter.drawEllipse(QRectF(rect.center().x() - 3, rect.top() + BEZEL_WIDTH / 2 - 1, 7, 7))
        painter.end()
