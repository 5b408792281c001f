"""Colours, glyphs and fonts: a colour-blind-safe palette where state is also shown in words.

The sync-state colours are the Okabe-Ito palette; every badge also carries a glyph and a word,
so no state is told by colour alone (AS-30). Everything else takes its colours from the
application palette, so light and dark follow the system.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen


@dataclass(frozen=True)
class StateStyle:
    glyph: str
    short: str
    colour: str

    @property
    def qcolor(self) -> QColor:
        return QColor(self.colour)

    @property
    def text_colour(self) -> QColor:
        """Black or white, whichever reads better on the badge colour."""
        c = self.qcolor
        luminance = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue()
        return QColor("#000000") if luminance > 140 else QColor("#ffffff")


#: Sync states (``Device.sync_states``) -> how a badge shows them.
STATES: dict[str, StateStyle] = {
    "synced": StateStyle("✓", "Synced", "#009E73"),
    "saved_locally": StateStyle("◆", "Saved on iPad", "#E69F00"),
    "queued": StateStyle("↑", "Queued", "#56B4E9"),
    "uploading": StateStyle("⇡", "Uploading", "#0072B2"),
    "sync_error": StateStyle("✕", "Sync error", "#D55E00"),
    "update_waiting": StateStyle("⇣", "Update waiting", "#CC79A7"),
}

#: Network modes -> glyph, word, colour.
NETWORK: dict[str, StateStyle] = {
    "online": StateStyle("●", "Online", "#009E73"),
    "offline": StateStyle("⊘", "Offline", "#D55E00"),
    "lie-fi": StateStyle("≈", "Lie-fi", "#E69F00"),
}

#: The device's messages to its user (edits discarded, changes missed): a banner on the screen.
NOTICE = StateStyle("⚠", "Notice", "#F0E442")

BEZEL = QColor("#1d1f23")
BEZEL_EDGE = QColor("#4a4d55")


def paint_badge(painter: QPainter, rect: QRectF, style: StateStyle, text: str | None = None) -> None:
    """A rounded pill with the state's glyph and word, centred vertically in ``rect``."""
    label = f"{style.glyph} {text if text is not None else style.short}"
    metrics = QFontMetricsF(painter.font())
    height = min(rect.height() - 4, metrics.height() + 6)
    width = min(rect.width() - 4, metrics.horizontalAdvance(label) + 16)
    pill = QRectF(rect.left() + 2, rect.center().y() - height / 2, width, height)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(style.qcolor)
    painter.drawRoundedRect(pill, height / 2, height / 2)
    painter.setPen(QPen(style.text_colour))
    painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)
    painter.restore()


def scaled(font: QFont, factor: float, *, bold: bool = False) -> QFont:
    out = QFont(font)
    size = font.pointSizeF() if font.pointSizeF() > 0 else 10.0
    out.setPointSizeF(size * factor)
    out.setBold(bold)
    return out
