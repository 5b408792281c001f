"""The first paint: a splash shown at once while the stage (server, iPads) starts.

Starting the stage takes a second or two (importing SQLAlchemy and FastAPI, the embedded
server, three iPads' first sync); the splash says what is happening meanwhile, so a click on
the app's icon is answered within a few hundred milliseconds. It imports nothing but Qt.

A plain frameless widget, not ``QSplashScreen``: that one waits up to a second for its window
to be reported exposed before it paints, which is most of what the splash is there to save.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

SIZE = (520, 180)
STYLE = """
#starting-splash { background: #1d1f23; }
#starting-splash QLabel { color: #c8ccd4; }
#starting-splash QLabel#splash-title { color: white; font-size: 22pt; font-weight: bold; }
#starting-splash QLabel#splash-doing { color: #8fd3ff; }
"""


class StartingSplash(QWidget):
    """A frameless window in the middle of the screen: the app's name and what it is doing."""

    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.SplashScreen | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("starting-splash")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground)
        self.setStyleSheet(STYLE)
        self.setFixedSize(*SIZE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 20)
        title = QLabel("Autosync Emulator")
        title.setObjectName("splash-title")
        layout.addWidget(title)
        layout.addWidget(QLabel("Vault CRM's Autosync on several iPads, side by side"))
        layout.addStretch(1)
        self._doing = QLabel()
        self._doing.setObjectName("splash-doing")
        layout.addWidget(self._doing)
        screen = QApplication.primaryScreen()
        if screen is not None:
            area = screen.availableGeometry()
            self.move(area.center().x() - SIZE[0] // 2, area.center().y() - SIZE[1] // 2)

    def tell(self, doing: str) -> None:
        """Change what the splash says is being done (painted before this returns)."""
        self._doing.setText(doing)
        self.repaint()
        QApplication.processEvents()

    def message(self) -> str:
        return self._doing.text()


def starting_splash(doing: str) -> StartingSplash:
    """Show the splash at once (painted before this returns), saying what is being done."""
    splash = StartingSplash()
    splash.show()
    splash.tell(doing)
    return splash
