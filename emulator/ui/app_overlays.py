"""What the app draws over its own screens, inside the iPad: modal alerts, the blocking sync
window, and the iPad's home screen while the app is in the background.

Each overlay covers its host (the app, or the iPad's display) and takes its clicks, as a modal on
an iPad does. They show only what the real app shows; the emulator's explanations stay in the
X-ray view.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from emulator.ui.theme import scaled


class Overlay(QWidget):
    """A widget that covers its parent completely (following its size) and dims what is below."""

    DIM = QColor(0, 0, 0, 110)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)
        parent.installEventFilter(self)
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            self._cover()
        return False

    def _cover(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())

    def present(self) -> None:
        self._cover()
        self.show()
        self.raise_()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.DIM)
        painter.end()


class RoundedPanel(QFrame):
    """A rounded box painted in the palette's colours.

    Painted, not style-sheeted: the children of a style-sheeted widget stop following the
    window's font, and zoom and presenter mode must reach them.
    """

    RADIUS = 12.0

    def __init__(self, parent: QWidget | None = None, *, fill: bool = True) -> None:
        super().__init__(parent)
        self.fill = fill

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self.palette().mid().color())
        painter.setBrush(self.palette().base() if self.fill else Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), self.RADIUS, self.RADIUS)
        painter.end()


class Card(RoundedPanel):
    """The white rounded box of an iPad alert."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("alert-card")


class AppAlert(Overlay):
    """A modal alert of the app: a title, a message and one OK button.

    Signals:
        acknowledged(): the user tapped OK.
    """

    acknowledged = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("app-alert")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 18, 18, 18)
        outer.addStretch(1)
        self.card = Card(self)
        box = QVBoxLayout(self.card)
        box.setContentsMargins(16, 14, 16, 10)
        self.title = QLabel()
        self.title.setObjectName("alert-title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setObjectName("alert-text")
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.ok = QPushButton("OK")
        self.ok.setObjectName("alert-ok")
        self.ok.setDefault(True)
        box.addWidget(self.title)
        box.addWidget(self.text)
        box.addWidget(self.ok)
        outer.addWidget(self.card)
        outer.addStretch(1)
        self.ok.clicked.connect(self._ok)
        self._on_ok: Callable[[], None] | None = None

    def open_alert(self, title: str, text: str, on_ok: Callable[[], None] | None = None) -> None:
        self.title.setText(title)
        self.title.setFont(scaled(self.font(), 1.15, bold=True))
        self.text.setText(text)
        self._on_ok = on_ok
        self.present()
        self.ok.setFocus()

    def _ok(self) -> None:
        self.hide()
        on_ok, self._on_ok = self._on_ok, None
        if on_ok is not None:
            on_ok()
        self.acknowledged.emit()


class SyncWindow(Overlay):
    """The blocking sync's progress window (AS-35, AS-37) and Apply Update's (AS-36)."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("sync-window")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(18, 18, 18, 18)
        outer.addStretch(1)
        card = Card(self)
        box = QVBoxLayout(card)
        box.setContentsMargins(16, 14, 16, 14)
        self.title = QLabel("Syncing")
        self.title.setObjectName("sync-window-title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.phase = QLabel()
        self.phase.setObjectName("sync-window-phase")
        self.phase.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.bar = QProgressBar()
        self.bar.setObjectName("sync-window-progress")
        self.bar.setTextVisible(False)
        self.counts = QLabel()
        self.counts.setObjectName("sync-window-counts")
        self.counts.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.counts.setWordWrap(True)
        note = QLabel("Please wait. The app can be used again when the sync has finished.")
        note.setWordWrap(True)
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for widget in (self.title, self.phase, self.bar, self.counts, note):
            box.addWidget(widget)
        outer.addWidget(card)
        outer.addStretch(1)

    def show_progress(
        self, title: str, phase: str, uploaded: int, to_upload: int, downloaded: int, to_download: int
    ) -> None:
        self.title.setText(title)
        self.title.setFont(scaled(self.font(), 1.15, bold=True))
        self.phase.setText(phase)
        total = to_upload + to_download
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(uploaded + downloaded)
        else:
            self.bar.setRange(0, 0)  # busy: nothing counted yet
        self.counts.setText(f"Uploaded {uploaded} of {to_upload}\nDownloaded {downloaded} of {to_download}")
        if not self.isVisible():
            self.present()


class HomeScreen(Overlay):
    """The iPad's own home screen, shown while the app is in the background; tap the app to open it.

    Signals:
        app_tapped(): the user tapped the app's icon.
    """

    app_tapped = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("ios-home-screen")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.icon = QPushButton("CRM")
        self.icon.setObjectName("app-icon")
        self.icon.setToolTip("Open the app")
        self.icon.setFixedSize(64, 64)
        self.icon.setStyleSheet(
            "QPushButton#app-icon { background: #f58220; color: white; font-weight: bold;"
            " border-radius: 14px; border: none; }"
        )
        name = QLabel("Vault CRM")
        name.setStyleSheet("color: white;")
        name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(name, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        self.icon.clicked.connect(self.app_tapped)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        gradient = QLinearGradient(0, 0, self.width(), self.height())
        gradient.setColorAt(0, QColor("#1f3b73"))
        gradient.setColorAt(1, QColor("#6a3d8f"))
        painter.fillRect(QRectF(self.rect()), gradient)
        painter.end()
