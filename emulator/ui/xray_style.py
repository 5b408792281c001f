"""The X-ray view's one visual language: nobody can take it for the Vault CRM app.

Everything the emulator adds inside an iPad's bezel to explain what happens (per-record sync
state, waiting merges, why an upload waits, expired-feed explanations, conflict details) is drawn
like a film on a light box: a dark blue-green plate, cyan text, a dashed cyan edge and the word
``X-RAY`` (or a small X mark) in front. The app itself never uses these colours or dashed edges.

Every X-ray widget carries the Qt property ``xray`` = True, so one switch can hide them all
(:func:`show_xray`) and a test can walk the widget tree to prove none is left showing.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QLabel, QWidget

from emulator.ui.theme import StateStyle

PLATE = QColor(8, 46, 56, 235)  # the film
EDGE = QColor("#67E8F9")  # the dashed edge and the mark
INK = "#E0FBFF"  # text on the film
MARK = "X-RAY"
XRAY_PROPERTY = "xray"

#: The film as a style sheet, for a fixed-size label outside the bezel (the drawer's mark);
#: an X-ray note paints its film instead, so that it follows the window's font.
STYLE_SHEET = (
    f"background: rgba({PLATE.red()},{PLATE.green()},{PLATE.blue()},{PLATE.alpha()});"
    f"color: {INK}; border: 1px dashed {EDGE.name()}; border-radius: 4px; padding: 3px 6px;"
)


def mark_xray(widget: QWidget) -> QWidget:
    """Tag ``widget`` as part of the X-ray view (hidden with it)."""
    widget.setProperty(XRAY_PROPERTY, True)
    return widget


def is_xray(widget: QWidget) -> bool:
    return bool(widget.property(XRAY_PROPERTY))


def show_xray(root: QWidget, shown: bool) -> None:
    """Show or hide every X-ray widget under ``root`` that has something to say."""
    for widget in root.findChildren(QWidget):
        if is_xray(widget):
            empty = isinstance(widget, XRayNote) and not widget.has_text
            widget.setVisible(shown and not empty)


class XRayNote(QLabel):
    """A line or two of X-ray explanation, ``X-RAY ·`` in front, in the film style.

    The film is painted, not style-sheeted: a style-sheeted widget keeps the font it had when it
    was polished, and a note made after a zoom (an error card's, say) must follow the window's
    font, as zoom and presenter mode change it, like the text beside it.
    """

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        mark_xray(self)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.WindowText, QColor(INK))
        palette.setColor(QPalette.ColorRole.Text, QColor(INK))
        self.setPalette(palette)
        self.setContentsMargins(7, 4, 7, 4)  # the edge and the padding
        self.has_text = False
        self.plain = ""  # what it says, as plain text
        self.hide()

    def say(self, text: str, *, shown: bool) -> None:
        """Show ``text`` (plain text; may be empty) when the X-ray view is on."""
        from html import escape

        self.has_text = bool(text)
        self.plain = text
        self.setText(f"<b style='color:{EDGE.name()}'>{MARK}</b> · {escape(text)}")
        self.setToolTip("The emulator's X-ray view: not part of the Vault CRM app (View ▸ X-ray view)")
        self.setVisible(shown and self.has_text)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(EDGE, 1, Qt.PenStyle.DashLine))
        painter.setBrush(PLATE)
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
        painter.end()
        super().paintEvent(event)


def paint_xray_tag(painter: QPainter, rect: QRectF, state: StateStyle, text: str | None = None) -> None:
    """A sync state drawn as an X-ray tag: the film, a dashed edge, an X mark, the state's glyph."""
    label = f"{state.glyph} {text if text is not None else state.short}"
    metrics = QFontMetricsF(painter.font())
    height = min(rect.height() - 4, metrics.height() + 6)
    mark_w = height * 0.8
    width = min(rect.width() - 4, metrics.horizontalAdvance(label) + mark_w + 18)
    tag = QRectF(rect.left() + 2, rect.center().y() - height / 2, width, height)
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(EDGE, 1.2, Qt.PenStyle.DashLine)
    painter.setPen(pen)
    painter.setBrush(QBrush(PLATE))
    painter.drawRoundedRect(tag, 4, 4)
    # the X-ray mark: a lens (a ring with a dot), the same on every tag
    cx, cy, r = tag.left() + 4 + mark_w / 2, tag.center().y(), mark_w * 0.32
    painter.setPen(QPen(EDGE, 1.4))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawEllipse(QPointF(cx, cy), r, r)
    painter.setBrush(EDGE)
    painter.drawEllipse(QPointF(cx, cy), r * 0.3, r * 0.3)
    text_rect = tag.adjusted(mark_w + 6, 0, -4, 0)
    painter.setPen(QPen(QColor(INK)))
    font = QFont(painter.font())
    painter.setFont(font)
    painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, label)
    painter.restore()
