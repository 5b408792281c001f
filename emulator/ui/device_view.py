"""A virtual iPad drawn as a device: its name above it, a rounded bezel, the iPad's status bar and
the CRM app inside.

Inside the bezel there is only what an iPad shows: the time and date, Wi-Fi (or airplane) and the
battery in the status bar; the app; the iPad's home screen while the app is in the background.
The device's name, user and model are the stage's caption, above the bezel.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from emulator.engine.device import Device
from emulator.engine.events import Event
from emulator.ui.app_overlays import HomeScreen
from emulator.ui.crm_app import CrmApp
from emulator.ui.support import Coalescer, Context
from emulator.ui.theme import BEZEL, BEZEL_EDGE

BEZEL_WIDTH = 18


class NetworkIcon(QWidget):
    """The status bar's Wi-Fi fan, or an airplane when the iPad is offline.

    Lie-fi shows Wi-Fi: the iPad believes it is connected.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("status-network")
        self.offline = False

    def sizeHint(self) -> QSize:
        em = self.fontMetrics().height()
        return QSize(int(em * 1.3), em)

    def set_offline(self, offline: bool) -> None:
        self.offline = offline
        self.setToolTip("Airplane mode: no connection" if offline else "Wi-Fi")
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = self.palette().windowText().color()
        h = self.height()
        if self.offline:
            painter.setPen(colour)
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "✈")
        else:
            painter.setPen(QPen(colour, max(1.5, h / 9), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            cx, base = self.width() / 2, h * 0.85
            for n in (1, 2, 3):
                r = h * 0.25 * n
                painter.drawArc(QRectF(cx - r, base - r, 2 * r, 2 * r), 45 * 16, 90 * 16)
        painter.end()


class StatusBar(QWidget):
    """The iPad's status bar: the emulated time and date, the network and the battery."""

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.context = context
        self.setObjectName("status-bar")
        self.setAutoFillBackground(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 2, 10, 2)
        self.time = QLabel()
        self.time.setObjectName("status-time")
        self.time.setStyleSheet("font-weight:bold;")
        self.network = NetworkIcon()
        self.battery = QLabel("100 % ▮")
        self.battery.setObjectName("status-battery")
        row.addWidget(self.time)
        row.addStretch(1)
        row.addWidget(self.network)
        row.addWidget(self.battery)
        self._refresh = Coalescer(self.refresh, self)
        context.bridge.happened.connect(self._on_event)
        context.bridge.time_changed.connect(self._show_time)  # a bound slot: disconnected on deletion
        self.refresh()

    def _on_event(self, event: Event) -> None:
        if event.actor == self.device.actor and event.kind == "network":
            self._refresh.request()

    def _show_time(self, _moment: object = None) -> None:
        self.time.setText(self.context.stage.clock.now().strftime("%H:%M:%S  %a %d %b"))

    def refresh(self) -> None:
        self._show_time()
        self.network.set_offline(not self.device.conditions.app_thinks_online)


class Bezel(QWidget):
    """The iPad itself: a bezel painted around the status bar and the app."""

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.setObjectName(f"bezel-{device.id}")
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
        self.app_area = QWidget()
        area = QVBoxLayout(self.app_area)
        area.setContentsMargins(0, 0, 0, 0)
        area.addWidget(self.app)
        inner.addWidget(self.status)
        inner.addWidget(self.app_area, 1)
        layout.addWidget(self.display)
        self.home_screen = HomeScreen(self.app_area)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        painter.setPen(QPen(BEZEL_EDGE, 2))
        painter.setBrush(BEZEL)
        painter.drawRoundedRect(rect, 26, 26)
        painter.setPen(Qt.PenStyle.NoPen)  # the front camera
        painter.setBrush(BEZEL_EDGE)
        painter.drawEllipse(QRectF(rect.center().x() - 3, rect.top() + BEZEL_WIDTH / 2 - 1, 7, 7))
        painter.end()


class DeviceFrame(QWidget):
    """One iPad on the stage: its caption (name, user, model) over the iPad.

    Attributes:
        device: the engine device it shows.
        bezel: the iPad (everything inside it is the real app, or the X-ray view).
        app: the CRM app inside.
        status: the iPad's status bar.
    """

    def __init__(self, device: Device, context: Context, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device = device
        self.context = context
        self.setObjectName(f"ipad-{device.id}")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        profile = device.profile
        self.caption = QLabel()
        self.caption.setObjectName("ipad-caption")
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setToolTip(
            f"{profile.name}: {profile.model}, iOS {profile.ios_version}, signed in as {profile.user_id}"
        )
        layout.addWidget(self.caption)
        self.bezel = Bezel(device, context)
        layout.addWidget(self.bezel, 1)
        self.display = self.bezel.display
        self.status = self.bezel.status
        self.app = self.bezel.app
        self.home_screen = self.bezel.home_screen
        self.home_screen.app_tapped.connect(lambda: device.set_foreground(True))
        self._refresh = Coalescer(self.refresh, self)
        context.bridge.happened.connect(self._on_event)
        self.refresh()

    def _on_event(self, event: Event) -> None:
        if event.actor == self.device.actor and event.kind in ("foreground", "mode", "network"):
            self._refresh.request()

    def refresh(self) -> None:
        device = self.device
        profile = device.profile
        words = [f"<b>{profile.name}</b>", f"{profile.user_id} · {profile.model}"]
        if device.traditional:
            words.append("<span style='color:#b45309'>comparing: traditional sync</span>")
        self.caption.setText(" · ".join(words))
        if device.foreground:
            self.home_screen.hide()
        else:
            self.home_screen.present()

    def sizeHint(self) -> QSize:
        em = self.fontMetrics().height()
        return QSize(em * 27, em * 35)

    def minimumSizeHint(self) -> QSize:
        em = self.fontMetrics().height()
        return QSize(em * 20, em * 15)  # lower than this, the iPad's screens scroll
