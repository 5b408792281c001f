"""The timeline: the event stream as swim lanes, one per iPad, the server, each user's feed.

It reads only the event stream (``stage.events``, through the :class:`StageBridge`) and the
clock's "now"; it never asks the engine anything.

The x axis is emulated time, read left to right in the order things happened. The emulated clock
often does several things in the same second (an upload, its answer and the feed entry), so
events at the same moment are spread out by a fixed step, and a long jump of the clock (minutes,
days) is drawn as a break labelled with its length instead of as kilometres of empty lane.

Layout is computed once per event (:class:`TimelineModel`, no Qt), painting draws only the
visible range (binary search over the marks, which are in x order), so thousands of events stay
smooth.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from PySide6.QtCore import QByteArray, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QImageWriter,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPolygonF,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QFileDialog,
    QSplitter,
    QTextBrowser,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from emulator.engine.events import Event
from emulator.ui.support import Coalescer, Context, hhmmss

# styles ------------------------------------------------------------------------------------------

#: Okabe-Ito, the colour-blind-safe palette; every mark also carries a shape and a letter.
BLACK, ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
)
GREY = "#8C8C8C"


@dataclass(frozen=True)
class MarkStyle:
    """How one kind of event is drawn: a letter in a coloured shape, and its legend word."""

    letter: str
    colour: str
    shape: str  # "circle" (device), "diamond" (server answer), "square" (feed), "triangle" (trouble)
    word: str
    lane: str = "actor"  # "actor" (the event's own lane) or "server" (its server-side meaning)


#: Kinds drawn as marks, in legend order. Other kinds (screens, progress, ...) are not drawn.
MARKS: dict[str, MarkStyle] = {
    "saved": MarkStyle("S", GREY, "circle", "saved"),
    "uploading": MarkStyle("U", BLUE, "circle", "upload"),
    "uploaded": MarkStyle("A", GREEN, "diamond", "accepted", "server"),
    "rejected": MarkStyle("E", VERMILLION, "triangle", "sync error", "server"),
    "duplicated": MarkStyle("2", PURPLE, "diamond", "duplicated", "server"),
    "discarded_online": MarkStyle("X", ORANGE, "diamond", "discarded online", "server"),
    "retry_scheduled": MarkStyle("R", ORANGE, "triangle", "retry later"),
    "put_on_feed": MarkStyle("F", ORANGE, "square", "put on feed"),
    "polled": MarkStyle("P", SKY, "circle", "poll"),
    "downloaded": MarkStyle("D", BLUE, "square", "download"),
    "merge_deferred": MarkStyle("W", YELLOW, "circle", "merge waits"),
    "merged": MarkStyle("M", GREEN, "circle", "merged"),
    "download_discarded": MarkStyle("x", VERMILLION, "triangle", "download discarded"),
    "sync_failed": MarkStyle("E", VERMILLION, "triangle", "sync failed"),
    "error_resolved": MarkStyle("✓", GREEN, "circle", "error resolved"),
    "action_refused": MarkStyle("!", PURPLE, "triangle", "action refused"),
    "feed_missed": MarkStyle("?", VERMILLION, "triangle", "feed missed"),
    "sync_finished": MarkStyle("I", SKY, "square", "incremental sync"),
    "online_change": MarkStyle("O", BLACK, "circle", "online change"),
    "device_added": MarkStyle("+", GREY, "square", "iPad added"),
    "device_removed": MarkStyle("-", GREY, "square", "iPad removed"),
}


@dataclass(frozen=True)
class BandStyle:
    word: str
    colour: str
    pattern: Qt.BrushStyle


BANDS: dict[str, BandStyle] = {
    "offline": BandStyle("offline", VERMILLION, Qt.BrushStyle.BDiagPattern),
    "lie-fi": BandStyle("lie-fi", ORANGE, Qt.BrushStyle.FDiagPattern),
    "background": BandStyle("background", BLUE, Qt.BrushStyle.Dense6Pattern),
}

#: Geometry (pixels at zoom 1).
PX_PER_SECOND = 2.0
SLOT_PX = 30.0  # the step between events at the same moment
BREAK_AFTER = timedelta(minutes=3)  # a longer jump of the clock is drawn as a break...
BREAK_SECONDS = 60.0  # ...as wide as this many seconds
LABEL_W = 190
AXIS_H = 30
LANE_H = 48
MARK_R = 12.0
END_MARGIN = 120
START_PAD = 48.0  # room for the first time label
ZOOM_MIN, ZOOM_MAX = 0.1, 8.0
MAX_EXPORT_W = 30_000

LANE_ORDER = ("device", "server", "feed", "online", "stage")


# the model: lanes, marks, arrows, bands (no Qt) ----------------------------------------------------


@dataclass(frozen=True)
class Pos:
    """A place on the x axis: (compressed) seconds since the start plus same-moment steps."""

    seconds: float
    slots: int

    def x(self, zoom: float) -> float:
        return START_PAD + (self.seconds * PX_PER_SECOND + self.slots * SLOT_PX) * zoom


@dataclass
class Mark:
    event: Event
    lane: str
    pos: Pos
    style: MarkStyle

    def x(self, zoom: float) -> float:
        return self.pos.x(zoom)


@dataclass
class Band:
    lane: str
    kind: str  # a key of BANDS
    start: Pos
    end: Pos | None = None  # None: still going on


@dataclass
class Break:
    """A long jump of the clock, drawn shortened."""

    pos: Pos  # where the break starts
    length: timedelta


@dataclass
class Lane:
    key: str
    label: str
    rank: tuple[int, int]


def lane_kind(key: str) -> str:
    return key.split(":", 1)[0]


def span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return "+" + (" ".join(p for p in parts if p) or f"{seconds} s")


@dataclass
class TimelineModel:
    """Places each event of the stream on its lane, once, as it arrives."""

    lanes: dict[str, Lane] = field(default_factory=dict)
    marks: list[Mark] = field(default_factory=list)
    arrows: list[tuple[Mark, Mark]] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    breaks: list[Break] = field(default_factory=list)
    start: datetime | None = None
    last_time: datetime | None = None
    last_pos: Pos = field(default_factory=lambda: Pos(0.0, 0))
    events: list[Event] = field(default_factory=list)
    _uploads: dict[str, Mark] = field(default_factory=dict)
    _answers: dict[str, Mark] = field(default_factory=dict)
    _feed: dict[str, Mark] = field(default_factory=dict)
    _open: dict[tuple[str, str], Band] = field(default_factory=dict)

    # lanes
    def lane(self, key: str, label: str | None = None) -> Lane:
        lane = self.lanes.get(key)
        if lane is None:
            kind = lane_kind(key)
            rank = (LANE_ORDER.index(kind) if kind in LANE_ORDER else len(LANE_ORDER), len(self.lanes))
            default = {"server": "Server", "online": "Online (office)", "stage": "Stage"}.get(kind)
            if default is None:
                name = key.split(":", 1)[1] if ":" in key else key
                default = f"{name[:1].upper()}{name[1:]}'s feed" if kind == "feed" else name
            lane = self.lanes[key] = Lane(key, label or default, rank)
            if kind == "device":
                self.lane("server")
        elif label:
            lane.label = label
        return lane

    def ordered_lanes(self) -> list[Lane]:
        return sorted(self.lanes.values(), key=lambda lane: lane.rank)

    # positions
    def position_at(self, moment: datetime, *, step: bool) -> Pos:
        """Where ``moment`` goes after the last placed event (a step further if ``step``)."""
        if self.last_time is None:
            return Pos(0.0, 0)
        delta = max(moment - self.last_time, timedelta(0))
        if delta > BREAK_AFTER:
            seconds = self.last_pos.seconds + BREAK_SECONDS
        else:
            seconds = self.last_pos.seconds + delta.total_seconds()
        return Pos(seconds, self.last_pos.slots + (1 if step else 0))

    def _place(self, moment: datetime) -> Pos:
        if self.start is None:
            self.start = moment
        pos = self.position_at(moment, step=self.last_time is not None)
        if self.last_time is not None and moment - self.last_time > BREAK_AFTER:
            self.breaks.append(Break(self.last_pos, moment - self.last_time))
        self.last_time, self.last_pos = moment, pos
        return pos

    # events
    def add(self, event: Event) -> Mark | None:
        """Place one event; returns its mark, if it is drawn as one."""
        self.events.append(event)
        if event.kind == "device_added" and "device" in event.data:
            self.lane(f"device:{event.data['device']}", event.text.split(" (", 1)[0].strip())
        style = MARKS.get(event.kind)
        if event.kind == "network":
            self._band(event, event.data.get("mode") in ("offline", "lie-fi"), str(event.data.get("mode")))
            return None
        if event.kind == "foreground":
            self._band(event, not event.data.get("foreground", True), "background")
            return None
        if style is None:
            return None
        lane = "server" if style.lane == "server" else event.actor
        self.lane(event.actor)
        self.lane(lane)
        mark = Mark(event, lane, self._place(event.time), style)
        self.marks.append(mark)
        self._link(mark)
        return mark

    def _link(self, mark: Mark) -> None:
        event = mark.event
        tid = event.data.get("transaction_id")
        if not isinstance(tid, str):
            return
        kind = event.kind
        if kind == "uploading":
            self._uploads[tid] = mark
        elif mark.style.lane == "server":
            self._answers[tid] = mark
            if (upload := self._uploads.get(tid)) is not None:
                self.arrows.append((upload, mark))
        elif kind == "put_on_feed":
            self._feed[tid] = mark
            if (answer := self._answers.get(tid)) is not None:
                self.arrows.append((answer, mark))
        elif kind == "downloaded" and (entry := self._feed.get(tid)) is not None:
            self.arrows.append((entry, mark))

    def _band(self, event: Event, on: bool, mode: str) -> None:
        self.lane(event.actor)
        family = "background" if mode == "background" else "network"
        key = (event.actor, family)
        current = self._open.get(key)
        if current is not None and (not on or current.kind != mode):
            current.end = self._place(event.time)
            del self._open[key]
            current = None
        if on and current is None:
            band = Band(event.actor, mode if mode in BANDS else "offline", self._place(event.time))
            self.bands.append(band)
            self._open[key] = band

    def now_pos(self, now: datetime | None) -> Pos:
        if self.last_time is None:
            return self.last_pos
        return self.position_at(max(now or self.last_time, self.last_time), step=True)

    def count(self, lane: str | None = None, kind: str | None = None) -> int:
        return sum(
            1
            for m in self.marks
            if (lane is None or m.lane == lane) and (kind is None or m.event.kind == kind)
        )


# painting ----------------------------------------------------------------------------------------


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


def paint_mark(painter: QPainter, centre: QPointF, style: MarkStyle, font: QFont, r: float = MARK_R) -> None:
    fill = QColor(style.colour)
    painter.setPen(QPen(QColor("#222222"), 1.2))
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


def paint_timeline(painter: QPainter, model: TimelineModel, view: View, font: QFont) -> None:
    """Paint the lanes, bands, breaks, arrows, marks and the axis for the visible range."""
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

    painter.fillRect(QRectF(0, 0, LABEL_W + view.width, view.height), QColor("#ffffff"))
    painter.save()
    painter.setClipRect(QRectF(LABEL_W, 0, view.width, view.height))
    # lanes
    for row in rows.values():
        top = AXIS_H + row * LANE_H - view.y0
        if row % 2:
            painter.fillRect(QRectF(LABEL_W, top, view.width, LANE_H), QColor("#f3f3f3"))
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
        painter.setPen(QColor("#333333"))
        painter.drawText(
            rect.adjusted(4, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, style.word
        )
    # breaks (long jumps of the clock)
    painter.setFont(small)
    for brk in model.breaks:
        x = brk.pos.x(z) + BREAK_SECONDS * PX_PER_SECOND * z / 2 + SLOT_PX * z / 2
        if left - 100 <= x <= right + 100:
            pen = QPen(QColor("#666666"), 1.5, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            path = QPainterPath(QPointF(sx(x), AXIS_H))
            y = AXIS_H
            while y < view.height:
                path.lineTo(sx(x) + 4, y + 6)
                path.lineTo(sx(x) - 4, y + 12)
                y += 12
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            painter.setPen(QColor("#333333"))
            painter.drawText(
                QRectF(sx(x) - 60, 2, 120, AXIS_H - 4), Qt.AlignmentFlag.AlignCenter, span(brk.length)
            )
    # arrows
    painter.setPen(QPen(QColor(60, 60, 60, 170), 1.4))
    painter.setBrush(QColor(60, 60, 60, 200))
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
            paint_mark(painter, QPointF(sx(x), sy(rows[mark.lane])), mark.style, glyph)
        if mark.event.time != last_time and x - last_label > 80:
            painter.setPen(QColor("#333333"))
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
        painter.setPen(QPen(QColor(BLACK), 1, Qt.PenStyle.DotLine))
        painter.drawLine(QPointF(x, AXIS_H), QPointF(x, view.height))
        painter.setPen(QPen(QColor(BLACK), 3))
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
    painter.setPen(QPen(QColor("#999999"), 1))
    painter.drawLine(QPointF(LABEL_W, AXIS_H), QPointF(LABEL_W + view.width, AXIS_H))
    painter.fillRect(QRectF(0, 0, LABEL_W, view.height), QColor("#e8e8e8"))
    painter.setFont(bold)
    metrics = QFontMetricsF(bold)
    for lane in model.ordered_lanes():
        top = AXIS_H + rows[lane.key] * LANE_H - view.y0
        painter.setPen(QColor("#cccccc"))
        painter.drawLine(QPointF(0, top + LANE_H), QPointF(LABEL_W + view.width, top + LANE_H))
        painter.setPen(QColor(BLACK))
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


def paint_legend(painter: QPainter, top_left: QPointF, width: float, font: QFont) -> None:
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    placed, height = _legend_layout(width, font)
    painter.fillRect(QRectF(top_left.x(), top_left.y(), width, height), QColor("#ffffff"))
    glyph = QFont(font)
    glyph.setBold(True)
    glyph.setPixelSize(int(MARK_R * 1.3))
    for rect, style in placed:
        r = rect.translated(top_left)
        centre = QPointF(r.left() + MARK_R + 2, r.center().y())
        if isinstance(style, MarkStyle):
            paint_mark(painter, centre, style, glyph)
        else:
            box = QRectF(r.left(), r.top() + 5, MARK_R * 2 + 4, r.height() - 10)
            colour = QColor(style.colour)
            colour.setAlpha(40)
            painter.fillRect(box, colour)
            colour.setAlpha(150)
            painter.fillRect(box, QBrush(colour, style.pattern))
        painter.setPen(QColor(BLACK))
        painter.setFont(font)
        painter.drawText(r.adjusted(MARK_R * 2 + 8, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, style.word)


# widgets -----------------------------------------------------------------------------------------


class TimelineCanvas(QAbstractScrollArea):
    """Paints the visible part of the timeline; scrolls, zooms and picks marks.

    Signals:
        picked(object): the :class:`Mark` clicked (or None for empty space).
        zoomed(float): the zoom changed.
    """

    picked = Signal(object)
    zoomed = Signal(float)

    def __init__(self, model: TimelineModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.zoom = 1.0
        self.now: datetime | None = None
        self.selected: Mark | None = None
        self.follow = True
        self._adjusting = False
        self.setObjectName("timeline-canvas")
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.horizontalScrollBar().valueChanged.connect(self._scrolled)
        self.verticalScrollBar().valueChanged.connect(lambda _v: self.viewport().update())
        self.setMinimumHeight(AXIS_H + 2 * LANE_H + 20)

    # geometry
    def content_width(self) -> float:
        return self.model.now_pos(self.now).x(self.zoom) + END_MARGIN

    def content_height(self) -> int:
        return AXIS_H + max(len(self.model.lanes), 1) * LANE_H

    def sizeHint(self) -> QSize:
        return QSize(900, self.content_height() + 24)

    def refresh(self) -> None:
        """Scroll ranges after new events or a zoom; keep following "now" when asked to."""
        self._adjusting = True
        try:
            h = self.horizontalScrollBar()
            visible = max(self.viewport().width() - LABEL_W, 1)
            h.setPageStep(visible)
            h.setSingleStep(int(SLOT_PX))
            h.setRange(0, max(int(self.content_width()) - visible, 0))
            if self.follow:
                h.setValue(h.maximum())
            v = self.verticalScrollBar()
            v.setPageStep(self.viewport().height())
            v.setRange(0, max(self.content_height() - self.viewport().height(), 0))
        finally:
            self._adjusting = False
        self.viewport().update()

    def _scrolled(self, value: int) -> None:
        if not self._adjusting:
            self.follow = value >= self.horizontalScrollBar().maximum()
        self.viewport().update()

    def set_follow(self, follow: bool) -> None:
        self.follow = follow
        self.refresh()

    def set_zoom(self, zoom: float, anchor: float | None = None) -> None:
        """Zoom, keeping the content under viewport x ``anchor`` (default: the centre) in place."""
        zoom = max(ZOOM_MIN, min(ZOOM_MAX, zoom))
        if zoom == self.zoom:
            return
        h = self.horizontalScrollBar()
        if anchor is None:
            anchor = LABEL_W + (self.viewport().width() - LABEL_W) / 2
        content_x = (h.value() + anchor - LABEL_W) / self.zoom
        self.zoom = zoom
        self.refresh()
        if not self.follow:
            self._adjusting = True
            h.setValue(int(content_x * zoom - (anchor - LABEL_W)))
            self._adjusting = False
        self.viewport().update()
        self.zoomed.emit(zoom)

    def view(self) -> View:
        return View(
            self.zoom,
            float(self.horizontalScrollBar().value()),
            float(self.viewport().width() - LABEL_W),
            float(self.viewport().height()),
            float(self.verticalScrollBar().value()),
            self.now,
            self.selected,
        )

    # picking
    def mark_at(self, point: QPointF) -> Mark | None:
        rows = lane_rows(self.model)
        row = int((point.y() + self.verticalScrollBar().value() - AXIS_H) // LANE_H)
        x = point.x() - LABEL_W + self.horizontalScrollBar().value()
        if point.x() < LABEL_W or point.y() < AXIS_H:
            return None
        z = self.zoom
        first = bisect.bisect_left(self.model.marks, x - MARK_R * 1.3, key=lambda m: m.x(z))
        best: tuple[float, Mark] | None = None
        for mark in self.model.marks[first:]:
            mx = mark.x(z)
            if mx > x + MARK_R * 1.3:
                break
            if rows.get(mark.lane) == row and (best is None or abs(mx - x) < best[0]):
                best = (abs(mx - x), mark)
        return best[1] if best else None

    def mark_centre(self, mark: Mark) -> QPointF:
        """Where ``mark`` is drawn in viewport coordinates (for tests and tooltips)."""
        row = lane_rows(self.model)[mark.lane]
        return QPointF(
            LABEL_W + mark.x(self.zoom) - self.horizontalScrollBar().value(),
            AXIS_H + row * LANE_H + LANE_H / 2 - self.verticalScrollBar().value(),
        )

    def scroll_to(self, mark: Mark) -> None:
        h = self.horizontalScrollBar()
        visible = self.viewport().width() - LABEL_W
        self.follow = False
        h.setValue(int(mark.x(self.zoom) - visible / 2))

    # Qt events
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        paint_timeline(painter, self.model, self.view(), self.font())
        painter.end()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.refresh()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            mark = self.mark_at(event.position())
            self.selected = mark
            self.viewport().update()
            self.picked.emit(mark)
        super().mousePressEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = delta.y() / 120
            self.set_zoom(self.zoom * (1.25**steps), event.position().x())
            event.accept()
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
        else:
            amount = delta.x() if delta.x() else delta.y()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - amount)
        event.accept()


class Legend(QWidget):
    """The marks and bands, each with its word, flowing over as many rows as needed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline-legend")

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return legend_height(width, self.font())

    def sizeHint(self) -> QSize:
        return QSize(900, legend_height(900, self.font()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.setMinimumHeight(legend_height(self.width(), self.font()))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        paint_legend(painter, QPointF(0, 0), self.width(), self.font())
        painter.end()


def describe(event: Event, related: Iterable[Event] = ()) -> str:
    """The details pane's HTML for one event (and what else happened to its record)."""

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    record = f"{event.record[0]} {event.record[1]}" if event.record else "—"
    data = json.dumps(event.data, indent=2, sort_keys=True, default=str) if event.data else "—"
    rows = [
        ("Time", event.time.strftime("%a %d %b %Y, %H:%M:%S")),
        ("Actor", event.actor),
        ("Kind", event.kind),
        ("Record", record),
        ("Event", f"#{event.seq}"),
    ]
    html = f"<p style='font-size:large'><b>{esc(event.text)}</b></p><table>"
    html += "".join(f"<tr><td><b>{k}</b>&nbsp;</td><td>{esc(v)}</td></tr>" for k, v in rows)
    html += f"</table><p><b>Data</b></p><pre>{esc(data)}</pre>"
    others = [e for e in related if e.seq != event.seq]
    if others:
        html += "<p><b>The same record in the stream</b></p><ul>"
        html += "".join(
            f"<li>{hhmmss(e.time)} {esc(e.actor)} <i>{esc(e.kind)}</i>: {esc(e.text)}</li>"
            for e in others[-12:]
        )
        html += "</ul>"
    return html


class Timeline(QWidget):
    """Swim lanes of the event stream, a legend and a details pane for the clicked mark.

    Hand it a :class:`Context` to follow a stage (its stream so far, then each new event and the
    clock's "now"), or nothing and feed it events with :meth:`add_events`.

    Signals:
        selected(object): the :class:`Event` whose mark was clicked (None: nothing).
    """

    selected = Signal(object)

    def __init__(self, context: Context | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.model = TimelineModel()
        self.canvas = TimelineCanvas(self.model)
        self.legend = Legend()
        self.details = QTextBrowser()
        self.details.setObjectName("timeline-details")
        self.details.setPlaceholderText("Click a mark to see its event.")
        self.details.setMinimumWidth(280)
        self._redraw = Coalescer(self.canvas.refresh, self)

        self.toolbar = QToolBar("Timeline")
        self.toolbar.setObjectName("timeline-toolbar")
        self.zoom_in_action = self._tool("Zoom in", lambda: self.canvas.set_zoom(self.canvas.zoom * 1.5), "+")
        self.zoom_out_action = self._tool(
            "Zoom out", lambda: self.canvas.set_zoom(self.canvas.zoom / 1.5), "-"
        )
        self.fit_action = self._tool("Whole stream", self.fit, "0")
        self.follow_action = self._tool("Follow now", lambda: self.canvas.set_follow(True), "End")
        self.toolbar.addSeparator()
        self.export_action = self._tool("Export PNG…", self.export_dialog, None)

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(self.toolbar)
        column.addWidget(self.canvas, 1)
        column.addWidget(self.legend)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.details)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        split.setSizes([1300, 360])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self.canvas.picked.connect(self._picked)

        if context is not None:
            self.canvas.now = context.stage.clock.now()
            self.add_events(context.stage.events.events)
            context.bridge.happened.connect(self.add_event)
            context.bridge.time_changed.connect(self.set_now)

    def _tool(self, text: str, slot: object, key: str | None) -> QAction:
        action = QAction(text, self)
        if key is not None:
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(f"{text} ({key})")
        action.triggered.connect(lambda _checked=False: slot())  # type: ignore[operator]
        self.toolbar.addAction(action)
        self.addAction(action)
        return action

    # the stream
    def add_event(self, event: Event) -> None:
        self.model.add(event)
        self._redraw.request()

    def add_events(self, events: Iterable[Event]) -> None:
        for event in events:
            self.model.add(event)
        if self.canvas.now is None or (self.model.last_time and self.model.last_time > self.canvas.now):
            self.canvas.now = self.model.last_time
        self.canvas.refresh()

    def set_now(self, moment: datetime) -> None:
        self.canvas.now = moment
        self._redraw.request()

    # marks
    def _picked(self, mark: Mark | None) -> None:
        if mark is None:
            self.details.clear()
            self.selected.emit(None)
            return
        event = mark.event
        related = [
            e for e in self.model.events if event.record and e.record == event.record and e.kind in MARKS
        ]
        self.details.setHtml(describe(event, related))
        self.selected.emit(event)

    def select(self, mark: Mark) -> None:
        """Show ``mark`` and its event, as a click would."""
        self.canvas.scroll_to(mark)
        self.canvas.selected = mark
        self.canvas.viewport().update()
        self._picked(mark)

    def fit(self) -> None:
        """Zoom so the whole stream fits the visible width."""
        width = self.model.now_pos(self.canvas.now).x(1.0) - START_PAD
        visible = max(self.canvas.viewport().width() - LABEL_W, 100)
        self.canvas.follow = True
        self.canvas.set_zoom((visible - START_PAD - END_MARGIN) / max(width, 1.0))
        self.canvas.refresh()

    # export
    def export_size(self) -> QSize:
        """The size :meth:`export_png` writes: the whole stream (or its last part), with the legend."""
        width = min(int(self.canvas.content_width()) + LABEL_W, MAX_EXPORT_W)
        return QSize(width, self.canvas.content_height() + 8 + legend_height(width, self.font()))

    def export_png(self, path: str | Path) -> bool:
        """Write the timeline, at the current zoom, with its legend, as a PNG image."""
        size = self.export_size()
        image = QImage(size, QImage.Format.Format_ARGB32)
        image.fill(QColor("#ffffff"))
        painter = QPainter(image)
        content = float(size.width() - LABEL_W)
        x0 = max(self.canvas.content_width() - content, 0.0)
        lanes_h = float(self.canvas.content_height() + 8)
        view = View(self.canvas.zoom, x0, content, lanes_h, 0.0, self.canvas.now, self.canvas.selected)
        paint_timeline(painter, self.model, view, self.font())
        paint_legend(painter, QPointF(0, lanes_h), float(size.width()), self.font())
        painter.end()
        return QImageWriter(str(path), QByteArray(b"PNG")).write(image)

    def export_dialog(self) -> None:
        dialog = QFileDialog(self, "Export the timeline", "timeline.png", "PNG images (*.png)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_png)
        dialog.open()
