"""Painting the timeline and its legend with a :class:`QPainter` (no widgets).

Only the visible range of the :class:`TimelineModel` is painted (binary search over the marks,
which are in x order), so thousands of events stay smooth; the same functions paint the widgets
and the exported PNG.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPolygonF,
)

from emulator.ui.support import hhmmss
from emulator.ui.timeline_model import (
    AXIS_H,
    BANDS,
    BLACK,
    BREAK_SECONDS,
    LABEL_W,
    LANE_H,
    MARK_R,
    MARKS,
    PX_PER_SECOND,
    SLOT_PX,
    VERMILLION,
    BandStyle,
    Mark,
    MarkStyle,
    TimelineModel,
    span,
)


@dataclass(frozen=True)
class Paper:
    """The colours the timeline is drawn on: the light default, or the application's palette."""

    background: QColor
    alternate: QColor  # every other lane
    labels: QColor  # the lane-label column
    text: QColor
    label_text: QColor
    faint: QColor  # break lines, lane separators, the axis

    @classmethod
    def light(cls) -> Paper:
        return cls(
            QColor("#ffffff"), QColor("#f3f3f3"), QColor("#e8e8e8"), QColor("#333333"), QColor(BLACK),
            QColor("#999999"),
        )  # fmt: skip

    @classmethod
    def of(cls, palette: QPalette) -> Paper:
        """Light and dark follow the system: the timeline takes the widget's palette."""
        role = QPalette.ColorRole
        return cls(
            palette.color(role.Base),
            palette.color(role.AlternateBase),
            palette.color(role.Window),
            palette.color(role.Text),
            palette.color(role.WindowText),
            palette.color(role.Mid),
        )


def _shape(painter: QPainter, centre: QPointF, r: float, shape: str) -> None:
    x, y = centre.x(), centre.y()
    if shape == "diamond":
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(x, y - r * 1.2),
                    QPointF(x + r * 1.2, y),
                    QPointF(x, y + r * 1.2),
                    QPointF(x - r * 1.2, y),
                ]
            )
        )
    elif shape == "square":
        painter.drawRect(QRectF(x - r * 0.95, y - r * 0.95, r * 1.9, r * 1.9))
    elif shape == "triangle":
        painter.drawPolygon(
            QPolygonF(
                [
                    QPointF(x, y - r * 1.25),
                    QPointF(x + r * 1.2, y + r * 0.9),
                    QPointF(x - r * 1.2, y + r * 0.9),
                ]
            )
        )
    else:
        painter.drawEllipse(centre, r, r)


def _ink(colour: QColor) -> QColor:
    luminance = 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue()
    return QColor(BLACK) if luminance > 140 else QColor("#ffffff")


def paint_mark(
    painter: QPainter,
    centre: QPointF,
    style: MarkStyle,
    font: QFont,
    r: float = MARK_R,
    outline: QColor | None = None,
) -> None:
    fill = QColor(style.colour)
    painter.setPen(QPen(outline or QColor("#222222"), 1.2))
    painter.setBrush(fill)
    _shape(painter, centre, r, style.shape)
    painter.setPen(_ink(fill))
    painter.setFont(font)
    box = QRectF(centre.x() - r, centre.y() - r + (r * 0.2 if style.shape == "triangle" else 0), 2 * r, 2 * r)
    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, style.letter)


def _arrow(painter: QPainter, a: QPointF, b: QPointF) -> None:
    dx, dy = b.x() - a.x(), b.y() - a.y()
    length = max((dx * dx + dy * dy) ** 0.5, 1e-6)
    ux, uy = dx / length, dy / length
    start = QPointF(a.x() + ux * MARK_R, a.y() + uy * MARK_R)
    tip = QPointF(b.x() - ux * (MARK_R + 2), b.y() - uy * (MARK_R + 2))
    painter.drawLine(start, tip)
    head = 8.0
    left = QPointF(tip.x() - ux * head - uy * head * 0.5, tip.y() - uy * head + ux * head * 0.5)
    right = QPointF(tip.x() - ux * head + uy * head * 0.5, tip.y() - uy * head - ux * head * 0.5)
    painter.drawPolygon(QPolygonF([tip, left, right]))


@dataclass
class View:
    """What part of the timeline to paint: content x from ``x0`` over ``width`` pixels."""

    zoom: float
    x0: float
    width: float
    height: float
    y0: float = 0.0  # vertical scroll
    now: datetime | None = None
    selected: Mark | None = None


def lane_rows(model: TimelineModel) -> dict[str, int]:
    return {lane.key: n for n, lane in enumerate(model.ordered_lanes())}


def paint_timeline(
    painter: QPainter, model: TimelineModel, view: View, font: QFont, paper: Paper | None = None
) -> None:
    """Paint the lanes, bands, breaks, arrows, marks and the axis for the visible range."""
    paper = paper or Paper.light()
    arrow = QColor(paper.text)
    arrow.setAlpha(170)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    rows = lane_rows(model)
    z = view.zoom
    left, right = view.x0 - MARK_R * 3, view.x0 + view.width
    bold = QFont(font)
    bold.setBold(True)
    small = QFont(font)
    small.setPointSizeF(max(font.pointSizeF() * 0.85, 6.0))
    glyph = QFont(bold)
    glyph.setPixelSize(int(MARK_R * 1.3))

    def sx(x: float) -> float:
        return LABEL_W + x - view.x0

    def sy(row: int) -> float:
        return AXIS_H + row * LANE_H + LANE_H / 2 - view.y0

    painter.fillRect(QRectF(0, 0, LABEL_W + view.width, view.height), paper.background)
    painter.save()
    painter.setClipRect(QRectF(LABEL_W, 0, view.width, view.height))
    # lanes
    for row in rows.values():
        top = AXIS_H + row * LANE_H - view.y0
        if row % 2:
            painter.fillRect(QRectF(LABEL_W, top, view.width, LANE_H), paper.alternate)
    # bands
    now_x = model.now_pos(view.now).x(z)
    for band in model.bands:
        x1 = band.start.x(z)
        x2 = band.end.x(z) if band.end is not None else now_x
        if x2 < left or x1 > right or band.lane not in rows:
            continue
        top = AXIS_H + rows[band.lane] * LANE_H - view.y0 + 3
        style = BANDS[band.kind]
        rect = QRectF(sx(x1), top, max(x2 - x1, 3.0), LANE_H - 6)
        colour = QColor(style.colour)
        colour.setAlpha(40)
        painter.fillRect(rect, colour)
        colour.setAlpha(150)
        painter.fillRect(rect, QBrush(colour, style.pattern))
        painter.setPen(QPen(QColor(style.colour), 1.5))
        painter.drawLine(rect.topLeft(), rect.bottomLeft())
        painter.setFont(small)
        painter.setPen(paper.text)
        painter.drawText(
            rect.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, style.word
        )
    # breaks (long jumps of the clock)
    painter.setFont(small)
    for brk in model.breaks:
        x = brk.pos.x(z) + BREAK_SECONDS * PX_PER_SECOND * z / 2 + SLOT_PX * z / 2
        if left - 100 <= x <= right + 100:
            pen = QPen(paper.faint, 1.5, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            path = QPainterPath(QPointF(sx(x), AXIS_H))
            y = AXIS_H
            while y < view.height:
                path.lineTo(sx(x) + 4, y + 6)
                path.lineTo(sx(x) - 4, y + 12)
                y += 12
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            painter.setPen(paper.text)
            painter.drawText(
                QRectF(sx(x) - 60, 2, 120, AXIS_H - 4), Qt.AlignmentFlag.AlignCenter, span(brk.length)
            )
    # arrows
    painter.setPen(QPen(arrow, 1.4))
    painter.setBrush(arrow)
    for a, b in model.arrows:
        xa, xb = a.x(z), b.x(z)
        if xb < left or xa > right or a.lane not in rows or b.lane not in rows:
            continue
        _arrow(painter, QPointF(sx(xa), sy(rows[a.lane])), QPointF(sx(xb), sy(rows[b.lane])))
    # marks, only the visible ones
    first = bisect.bisect_left(model.marks, left, key=lambda m: m.x(z))
    last_label = -1e9
    last_time: datetime | None = model.marks[first - 1].event.time if first > 0 else None
    for mark in model.marks[first:]:
        x = mark.x(z)
        if x > right + MARK_R:
            break
        if mark.lane in rows:
            paint_mark(painter, QPointF(sx(x), sy(rows[mark.lane])), mark.style, glyph, outline=paper.text)
        if mark.event.time != last_time and x - last_label > 80:
            painter.setPen(paper.text)
            painter.setFont(small)
            painter.drawLine(QPointF(sx(x), AXIS_H - 6), QPointF(sx(x), AXIS_H))
            painter.drawText(
                QRectF(sx(x) - 40, 2, 80, AXIS_H - 8), Qt.AlignmentFlag.AlignCenter, hhmmss(mark.event.time)
            )
            last_label = x
        last_time = mark.event.time
    # the selection and "now"
    if view.selected is not None and view.selected.lane in rows:
        x = sx(view.selected.x(z))
        painter.setPen(QPen(paper.text, 1, Qt.PenStyle.DotLine))
        painter.drawLine(QPointF(x, AXIS_H), QPointF(x, view.height))
        painter.setPen(QPen(paper.text, 3))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(x, sy(rows[view.selected.lane])), MARK_R + 5, MARK_R + 5)
    if view.now is not None:
        x = sx(now_x)
        painter.setPen(QPen(QColor(VERMILLION), 2))
        painter.drawLine(QPointF(x, AXIS_H - 4), QPointF(x, view.height))
        painter.setFont(small)
        painter.drawText(
            QRectF(x + 3, 2, 120, AXIS_H - 8),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            "now " + hhmmss(view.now),
        )
    painter.restore()
    # axis line and lane labels (fixed on the left)
    painter.setPen(QPen(paper.faint, 1))
    painter.drawLine(QPointF(LABEL_W, AXIS_H), QPointF(LABEL_W + view.width, AXIS_H))
    painter.fillRect(QRectF(0, 0, LABEL_W, view.height), paper.labels)
    painter.setFont(bold)
    metrics = QFontMetricsF(bold)
    for lane in model.ordered_lanes():
        top = AXIS_H + rows[lane.key] * LANE_H - view.y0
        painter.setPen(paper.faint)
        painter.drawLine(QPointF(0, top + LANE_H), QPointF(LABEL_W + view.width, top + LANE_H))
        painter.setPen(paper.label_text)
        text = metrics.elidedText(lane.label, Qt.TextElideMode.ElideRight, LABEL_W - 12)
        painter.drawText(QRectF(8, top, LABEL_W - 12, LANE_H), Qt.AlignmentFlag.AlignVCenter, text)
    painter.setFont(small)
    painter.drawText(QRectF(8, 0, LABEL_W - 12, AXIS_H), Qt.AlignmentFlag.AlignVCenter, "emulated time →")


def legend_items() -> list[tuple[str, MarkStyle | BandStyle]]:
    seen: set[str] = set()
    items: list[tuple[str, MarkStyle | BandStyle]] = []
    for kind, style in MARKS.items():
        if style.word not in seen:
            seen.add(style.word)
            items.append((kind, style))
    items += list(BANDS.items())
    return items


def _legend_layout(width: float, font: QFont) -> tuple[list[tuple[QRectF, MarkStyle | BandStyle]], float]:
    metrics = QFontMetricsF(font)
    x, y, row_h = 8.0, 6.0, MARK_R * 2 + 10
    placed: list[tuple[QRectF, MarkStyle | BandStyle]] = []
    for _kind, style in legend_items():
        w = MARK_R * 2 + 8 + metrics.horizontalAdvance(style.word) + 18
        if x + w > width and x > 8:
            x, y = 8.0, y + row_h
        placed.append((QRectF(x, y, w, row_h), style))
        x += w
    return placed, y + row_h + 6


def legend_height(width: float, font: QFont) -> int:
    return int(_legend_layout(width, font)[1])


def paint_legend(
    painter: QPainter, top_left: QPointF, width: float, font: QFont, paper: Paper | None = None
) -> None:
    paper = paper or Paper.light()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    placed, height = _legend_layout(width, font)
    painter.fillRect(QRectF(top_left.x(), top_left.y(), width, height), paper.background)
    glyph = QFont(font)
    glyph.setBold(True)
    glyph.setPixelSize(int(MARK_R * 1.3))
    for rect, style in placed:
        r = rect.translated(top_left)
        centre = QPointF(r.left() + MARK_R + 2, r.center().y())
        if isinstance(style, MarkStyle):
            paint_mark(painter, centre, style, glyph, outline=paper.text)
        else:
            box = QRectF(r.left(), r.top() + 5, MARK_R * 2 + 4, r.height() - 10)
            colour = QColor(style.colour)
            colour.setAlpha(40)
            painter.fillRect(box, colour)
            colour.setAlpha(150)
            painter.fillRect(box, QBrush(colour, style.pattern))
        painter.setPen(paper.text)
        painter.setFont(font)
        painter.drawText(r.adjusted(MARK_R * 2 + 8, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, style.word)
