"""The first paint: a splash shown at once while the stage (server, iPads) starts.

Starting the stage takes a second or two (importing SQLAlchemy and FastAPI, the embedded
server, three iPads' first sync); the splash says what is happening meanwhile, so a click on
the app's icon is answered within a few hundred milliseconds. It imports nothing but Qt.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

SIZE = (520, 180)
BACKGROUND = QColor("#1d1f23")  # the iPads' bezel


def starting_splash(doing: str) -> QSplashScreen:
    """Show the splash at once (painted before this returns), saying what is being done."""
    pixmap = QPixmap(*SIZE)
    pixmap.fill(BACKGROUND)
    painter = QPainter(pixmap)
    title = QFont()
    title.setPointSizeF(title.pointSizeF() * 1.8)
    title.setBold(True)
    painter.setFont(title)
    painter.setPen(QColor("white"))
    heading = pixmap.rect().adjusted(24, 28, -24, -90)
    painter.drawText(heading, Qt.AlignmentFlag.AlignLeft, "Autosync Emulator")
    painter.setFont(QFont())
    painter.setPen(QColor("#c8ccd4"))
    below = pixmap.rect().adjusted(24, 74, -24, -50)
    painter.drawText(below, Qt.AlignmentFlag.AlignLeft, "Vault CRM's Autosync on several iPads, side by side")
    painter.end()
    splash = QSplashScreen(pixmap)
    splash.setObjectName("starting-splash")
    say(splash, doing)
    splash.show()
    QApplication.processEvents()
    return splash


def say(splash: QSplashScreen, doing: str) -> None:
    """Change what the splash says is being done."""
    align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom
    splash.showMessage(f"     {doing}\n", align, QColor("#8fd3ff"))
    QApplication.processEvents()
