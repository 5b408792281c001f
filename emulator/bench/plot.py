"""The drain's growth curve as a PNG: cost per item against queue length, with its floor and goal.

Drawn with QPainter on a QImage (no plotting library for one chart); needs a QGuiApplication.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from emulator.bench.drain import DrainPoint

WIDTH, HEIGHT = 900, 520
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 90, 40, 70, 70
CURVES = (QColor("#1d4ed8"), QColor("#15803d"), QColor("#7c3aed"))
FLOOR = QColor("#6b7280")


def growth_png(
    curves: Mapping[str, Sequence[DrainPoint]], floor_per_item: float, path: Path, goal: float = 1.5
) -> Path:
    """Write the chart to ``path``: ms per item drained (y) at each queue length (x, log scale),
    one curve per workload (at most three), each with its goal, and the floor."""
    if not curves or len(curves) > len(CURVES) or any(len(p) < 2 for p in curves.values()):
        raise ValueError("a growth chart needs one to three curves of at least two queue sizes")
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        _draw(painter, curves, floor_per_item, goal)
    finally:
        painter.end()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):  # PNG, by the suffix
        raise OSError(f"could not write the chart to {path}")
    return path


def _draw(
    painter: QPainter, curves: Mapping[str, Sequence[DrainPoint]], floor_per_item: float, goal: float
) -> None:
    plot = QRectF(
        MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_LEFT - MARGIN_RIGHT, HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    )
    every = [p for points in curves.values() for p in points]
    sizes = sorted({p.size for p in every})
    lo, hi = math.log10(min(sizes)), math.log10(max(sizes))
    goals = [points[0].per_item * goal * 1000 for points in curves.values()]
    top = max(max(p.per_item for p in every) * 1000, *goals, floor_per_item * 1000) * 1.15

    def at(size: float, ms: float) -> QPointF:
        x = plot.left() + (math.log10(size) - lo) / (hi - lo) * plot.width()
        return QPointF(x, plot.bottom() - ms / top * plot.height())

    title = QFont()
    title.setPointSize(13)
    title.setBold(True)
    painter.setFont(title)
    painter.drawText(
        QRectF(0, 12, WIDTH, 28), Qt.AlignmentFlag.AlignCenter, "Draining the upload queue: cost per item"
    )
    body = QFont()
    body.setPointSize(10)
    painter.setFont(body)
    painter.setPen(QPen(QColor("#111827"), 1))
    painter.drawLine(plot.bottomLeft(), plot.bottomRight())
    painter.drawLine(plot.bottomLeft(), plot.topLeft())
    for size in sizes:  # x ticks at the measured sizes
        x = at(size, 0).x()
        painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 5))
        painter.drawText(
            QRectF(x - 50, plot.bottom() + 8, 100, 18), Qt.AlignmentFlag.AlignCenter, f"{size:,}"
        )
    painter.drawText(
        QRectF(plot.left(), HEIGHT - 30, plot.width(), 20),
        Qt.AlignmentFlag.AlignCenter,
        "items queued (log scale)",
    )
    step = _nice_step(top / 5)
    tick = 0.0
    while tick <= top:
        y = at(min(sizes), tick).y()
        painter.drawLine(QPointF(plot.left() - 5, y), QPointF(plot.left(), y))
        painter.drawText(
            QRectF(0, y - 9, plot.left() - 8, 18),
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
            f"{tick:g}",
        )
        tick += step
    painter.save()
    painter.translate(18, plot.center().y())
    painter.rotate(-90)
    painter.drawText(QRectF(-100, -10, 200, 20), Qt.AlignmentFlag.AlignCenter, "ms per item")
    painter.restore()

    def level(ms: float, color: QColor, style: Qt.PenStyle, label: str) -> None:
        painter.setPen(QPen(color, 2, style))
        left, right = at(min(sizes), ms), at(max(sizes), ms)
        painter.drawLine(left, right)
        painter.drawText(
            QRectF(left.x() + 6, left.y() - 20, plot.width() - 12, 18), Qt.AlignmentFlag.AlignLeft, label
        )

    level(floor_per_item * 1000, FLOOR, Qt.PenStyle.DashLine, "floor: a bare POST through the same transport")
    for (label, points), colour, goal_ms in zip(curves.items(), CURVES, goals, strict=False):
        level(
            goal_ms, colour, Qt.PenStyle.DotLine, f"goal ({label}): {goal:g}x its cost at {points[0].size:,}"
        )
        painter.setPen(QPen(colour, 3))
        corners = [at(p.size, p.per_item * 1000) for p in points]
        for a, b in itertools.pairwise(corners):
            painter.drawLine(a, b)
        painter.setBrush(colour)
        for point, corner in zip(points, corners, strict=True):
            painter.drawEllipse(corner, 5, 5)
            painter.drawText(
                QRectF(corner.x() - 60, corner.y() - 26, 120, 18),
                Qt.AlignmentFlag.AlignCenter,
                f"{point.per_item * 1000:.1f} ms",
            )
    legend = QRectF(plot.left() + 12, MARGIN_TOP - 30, plot.width() - 24, 18)
    for (label, _points), colour in zip(curves.items(), CURVES, strict=False):
        painter.setPen(QPen(colour, 3))
        painter.drawLine(
            QPointF(legend.left(), legend.center().y()), QPointF(legend.left() + 24, legend.center().y())
        )
        painter.drawText(legend.adjusted(30, 0, 0, 0), Qt.AlignmentFlag.AlignLeft, label)
        legend.translate(painter.fontMetrics().horizontalAdvance(label) + 70, 0)


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
