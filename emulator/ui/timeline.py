"""The timeline: the event stream as swim lanes, one per iPad, the server, each user's feed.

It reads only the event stream (``stage.events``, through the :class:`StageBridge`) and the
clock's "now"; it never asks the engine anything.

This module holds the widgets (the scrolling canvas, the legend, the timeline with its toolbar
and details pane); where events go on the lanes is :mod:`emulator.ui.timeline_model`, the
drawing is :mod:`emulator.ui.timeline_paint`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QPointF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QImage,
    QImageWriter,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QSplitter,
    QTextBrowser,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from emulator.engine.events import Event
from emulator.ui.support import REDRAW_MS, Coalescer, Context, ask_where_to_save
from emulator.ui.timeline_model import (
    AXIS_H,
    END_MARGIN,
    LABEL_W,
    LANE_H,
    MARK_R,
    MARKS,
    MAX_EXPORT_W,
    SLOT_PX,
    START_PAD,
    ZOOM_MAX,
    ZOOM_MIN,
    Mark,
    TimelineModel,
    describe,
)
from emulator.ui.timeline_paint import Paper, View, lane_rows, legend_height, paint_legend, paint_timeline


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
        paint_timeline(painter, self.model, self.view(), self.font(), Paper.of(self.palette()))
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

    def changeEvent(self, event: QEvent) -> None:
        """A new font (presenter mode, zoom) needs its rows measured again, or the last is cut."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self.setMinimumHeight(legend_height(self.width(), self.font()))
            self.updateGeometry()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        paint_legend(painter, QPointF(0, 0), self.width(), self.font(), Paper.of(self.palette()))
        painter.end()


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
        self._redraw = Coalescer(self.canvas.refresh, self, every_ms=REDRAW_MS)

        self.toolbar = QToolBar("Timeline")
        self.toolbar.setObjectName("timeline-toolbar")
        self.zoom_in_action = self._tool("Zoom in", lambda: self.canvas.set_zoom(self.canvas.zoom * 1.5), "+")
        self.zoom_out_action = self._tool(
            "Zoom out", lambda: self.canvas.set_zoom(self.canvas.zoom / 1.5), "-"
        )
        self.fit_action = self._tool("Whole stream", self.fit, "0")
        self.follow_action = self._tool("Follow now", lambda: self.canvas.set_follow(True), "End")
        self.toolbar.addSeparator()
        self.legend_action: QAction = self._tool("Legend", self._legend_toggled, "L")
        self.legend_action.setCheckable(True)
        self.legend_action.setChecked(True)
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

    def _legend_toggled(self) -> None:
        self.show_legend(self.legend_action.isChecked())

    def show_legend(self, shown: bool) -> None:
        """Show the legend under the lanes, or fold it away (a short dock keeps its lanes)."""
        self.legend_action.setChecked(shown)
        self.legend.setVisible(shown)

    def height_with_legend(self) -> int:
        """The height the timeline needs to show its toolbar, a lane or two and the whole legend."""
        return (
            self.toolbar.sizeHint().height()
            + self.canvas.minimumSizeHint().height()
            + self.legend.minimumHeight()
            + 8
        )

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
        lanes = self.model.lanes
        self.details.setHtml(describe(event, related, lambda a: lanes[a].label if a in lanes else a))
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
        paper = Paper.of(self.palette())
        image.fill(paper.background)
        painter = QPainter(image)
        content = float(size.width() - LABEL_W)
        x0 = max(self.canvas.content_width() - content, 0.0)
        lanes_h = float(self.canvas.content_height() + 8)
        view = View(self.canvas.zoom, x0, content, lanes_h, 0.0, self.canvas.now, self.canvas.selected)
        paint_timeline(painter, self.model, view, self.font(), paper)
        paint_legend(painter, QPointF(0, lanes_h), float(size.width()), self.font(), paper)
        painter.end()
        return QImageWriter(str(path), QByteArray(b"PNG")).write(image)

    def export_dialog(self) -> None:
        ask_where_to_save(self, "Export the timeline", "timeline.png", "PNG images (*.png)", self.export_png)
