"""A virtual iPad drawn as a device: a rounded bezel, a status bar and the CRM app inside."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from emulator.engine.device import Device
from emulator.engine.events import Event
from emulator.ui.crm_app import CrmApp
from emulator.ui.support import Coalescer, Context
from emulator.ui.theme import BEZEL, BEZEL_EDGE, NETWORK, NOTICE, STATES

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
        context.bridge.time_changed.connect(self._show_time)  # a bound slot: disconnected on deletion
        self.refresh()

    def _on_event(self, event: Event) -> None:
        if event.actor == self.device.actor:
            self._refresh.request()

    def _show_time(self, _moment: object = None) -> None:
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


class NoticeBanner(QFrame):
    """What the device told its user (edits discarded, changes missed ...), across the screen.

    Shows the device's unread notices (dismissing them is remembered by the device), newest
    last, so the audience sees AS-12 and AS-18 happen. While the device knows
    it missed feed changes (AS-18) the banner offers Sync now.

    Signals:
        sync_requested(): the user tapped Sync now on the banner.
    """

    sync_requested = Signal()
    SHOWN = 3

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.setObjectName("notice-banner")
        self.setAutoFillBackground(True)
        self.setStyleSheet(
            f"QFrame#notice-banner {{ background:{NOTICE.colour}; border-bottom:2px solid #000; }}"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 6, 6)
        self.text = QLabel()
        self.text.setObjectName("notice-text")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        # its own style sheet, so that zoom hands it the window font (see MainWindow._fix_fonts)
        self.text.setStyleSheet(f"color:{NOTICE.text_colour.name()}; font-weight:bold;")
        buttons = QVBoxLayout()
        buttons.setSpacing(2)
        self.sync = QPushButton("⟳ Sync now")
        self.sync.setObjectName("notice-sync")
        self.sync.setToolTip("Run an incremental sync to get the changes the feed no longer has (AS-18)")
        self.dismiss = QPushButton("OK")
        self.dismiss.setObjectName("notice-dismiss")
        self.dismiss.setToolTip("Hide these messages (new ones show again)")
        buttons.addWidget(self.sync)
        buttons.addWidget(self.dismiss)
        buttons.addStretch(1)
        row.addWidget(self.text, 1)
        row.addLayout(buttons)
        self.sync.clicked.connect(self.sync_requested)
        self.dismiss.clicked.connect(self.dismiss_all)
        self._refresh = Coalescer(self.refresh, self)
        context.bridge.happened.connect(self._on_event)
        self.refresh()

    def _on_event(self, event: Event) -> None:
        if event.actor == self.device.actor:
            self._refresh.request()

    def dismiss_all(self) -> None:
        self.device.dismiss_notices()
        self.refresh()

    def refresh(self) -> None:
        fresh = self.device.unread_notices()
        missed = bool(self.device.store.setting("feed_missed", False))
        self.sync.setVisible(missed)
        if not fresh:
            self.hide()
            return
        lines = [f"{NOTICE.glyph} {n.time[11:16]}  {n.text}" for n in fresh[-self.SHOWN :]]
        if len(fresh) > self.SHOWN:
            lines.insert(0, f"(+{len(fresh) - self.SHOWN} earlier)")
        self.text.setText("\n".join(lines))
        self.setToolTip("\n".join(f"{n.time[:19].replace('T', ' ')}  {n.text}" for n in fresh))
        self.show()


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
        self.notice = NoticeBanner(device, context)
        self.app = CrmApp(device, context)
        inner.addWidget(self.status)
        inner.addWidget(self.notice)
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
