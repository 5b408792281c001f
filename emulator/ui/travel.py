"""Watch a change travel: tokens moving between the iPads, the server and each user's feed.

In the manner of RaftScope's messages in flight: an upload is a token from the iPad to the
server; the server's answer a token back (green saved, vermillion sync error, purple duplicated,
orange discarded); the feed entry a token from the server to the user's feed; a download, at the
poll that brings it, a token from the feed to the iPad. Built from the event stream only, like the
timeline. Tokens travel one after the other at the speed the trainer sets (View ▸ Changes
travelling), or not at all; a long burst drops its oldest tokens rather than lag behind.

It explains what the app does not show, so it belongs to the X-ray view: drawn in its style,
and not drawn while the X-ray view is off.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QPointF, QRect, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from emulator.engine.events import Event
from emulator.ui.xray_style import EDGE, INK, PLATE

#: Milliseconds one trip takes, by the trainer's choice; 0 draws nothing.
SPEEDS: dict[str, int] = {"off": 0, "slow": 1800, "normal": 1000, "fast": 500}
MAX_BACKLOG = 12
FRAME_MS = 16
SERVER = "server"

ANSWERS = {
    "uploaded": ("#009E73", "saved"),
    "rejected": ("#D55E00", "sync error"),
    "duplicated": ("#CC79A7", "duplicated"),
    "discarded_online": ("#E69F00", "discarded"),
}


@dataclass(frozen=True)
class Trip:
    """One token's journey: from a place to a place (``device:<id>``, ``server``, ``feed:<user>``)."""

    source: str
    target: str
    colour: str
    label: str


def trips_for(event: Event, user_of: Callable[[str], str | None]) -> list[Trip]:
    """The tokens an event sends on their way (``user_of(device_id)`` names a device's user)."""
    kind, actor = event.kind, event.actor
    if kind == "uploading":
        return [Trip(actor, SERVER, "#0072B2", "upload")]
    if kind in ANSWERS:
        colour, word = ANSWERS[kind]
        return [Trip(SERVER, actor, colour, word)]
    if kind == "put_on_feed":
        return [Trip(SERVER, actor, "#E69F00", "feed entry")]
    if kind == "downloaded" and actor.startswith("device:"):
        user = user_of(actor.removeprefix("device:"))
        if user is not None:
            return [Trip(f"feed:{user}", actor, "#56B4E9", "download")]
    if kind == "sync_finished":
        return [Trip(SERVER, actor, "#56B4E9", "incremental sync")]
    return []


class TravelOverlay(QWidget):
    """Draws the tokens in flight over the stage; never takes a click.

    ``locate(place)`` says where a place is, in the overlay's coordinates (None: not shown now);
    ``nodes()`` lists the places drawn while a token flies (the server and the users' feeds).

    Attributes:
        trips: every trip started, in order (what the audience saw travel).
        queue: trips waiting for the one in flight to arrive.
    """

    def __init__(
        self,
        host: QWidget,
        locate: Callable[[str], QPointF | None],
        nodes: Callable[[], list[str]] = lambda: [SERVER],
    ) -> None:
        super().__init__(host)
        self.setObjectName("travel-overlay")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self.locate = locate
        self.nodes = nodes
        self.speed = "normal"
        self.enabled = True  # with the X-ray view
        self.queue: deque[Trip] = deque()
        self.trips: list[Trip] = []
        self.current: Trip | None = None
        self.progress = 0.0
        self._elapsed = QElapsedTimer()
        self._timer = QTimer(self)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._frame)
        host.installEventFilter(self)
        self.setGeometry(host.rect())
        self.hide()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            parent = self.parentWidget()
            if parent is not None:
                self.setGeometry(parent.rect())
        return False

    @property
    def active(self) -> bool:
        return SPEEDS[self.speed] > 0 and self.enabled

    def set_speed(self, speed: str) -> None:
        if speed not in SPEEDS:
            raise ValueError(f"unknown speed {speed!r}")
        self.speed = speed
        if not self.active:
            self.clear()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        if not enabled:
            self.clear()

    def clear(self) -> None:
        self.queue.clear()
        self.current = None
        self._timer.stop()
        self.hide()

    def add(self, trips: list[Trip]) -> None:
        """Queue trips (dropping the oldest waiting ones past the backlog)."""
        if not self.active or not trips:
            return
        self.queue.extend(trips)
        while len(self.queue) > MAX_BACKLOG:
            self.queue.popleft()
        if self.current is None:
            self._next()

    def _next(self) -> None:
        while self.queue:
            trip = self.queue.popleft()
            if self.locate(trip.source) is not None and self.locate(trip.target) is not None:
                self.current, self.progress = trip, 0.0
                self.trips.append(trip)
                self.show()
                self.raise_()
                self._elapsed.start()
                self._timer.start()
                self.update(self.band())
                return
        self.current = None
        self._timer.stop()
        self.hide()

    def _frame(self) -> None:
        self.tick(self._elapsed.restart())

    def tick(self, milliseconds: float) -> None:
        """Move the token in flight on by ``milliseconds`` (the frame timer, or a test)."""
        if self.current is None:
            return
        duration = SPEEDS[self.speed] or 1
        self.progress += milliseconds / duration
        if self.progress >= 1.0:
            self._next()
        self.update(self.band())

    def band(self) -> QRect:
        """Where tokens, nodes and labels are drawn: the full width, the height of the places.

        Only this strip is repainted each frame: the overlay is transparent, so repainting all
        of it would redraw every iPad beneath it (their lists, many times a second).
        """
        ys = [p.y() for place in self.nodes() if (p := self.locate(place)) is not None]
        trip = self.current
        if trip is not None:
            ys += [p.y() for place in (trip.source, trip.target) if (p := self.locate(place)) is not None]
        if not ys:
            return QRect()
        line = QFontMetricsF(self.font()).height()
        top, bottom = min(ys) - 2 * line, max(ys) + 2.5 * line  # labels above, stems below
        return QRect(0, int(top), self.width(), int(bottom - top) + 1)

    # painting --------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        trip = self.current
        if trip is None:
            return
        start, end = self.locate(trip.source), self.locate(trip.target)
        if start is None or end is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setBold(True)
        painter.setFont(font)
        for place in self.nodes():
            point = self.locate(place)
            if point is not None:
                self._node(painter, point, _place_name(place))
        painter.setPen(QPen(EDGE, 1.5, Qt.PenStyle.DashLine))
        painter.drawLine(start, end)
        for place, point in ((trip.source, start), (trip.target, end)):
            if place.startswith("device:"):  # a stem down to the iPad's name
                painter.drawLine(point, QPointF(point.x(), point.y() + QFontMetricsF(font).height()))
        t = _ease(min(self.progress, 1.0))
        at = QPointF(start.x() + (end.x() - start.x()) * t, start.y() + (end.y() - start.y()) * t)
        radius = QFontMetricsF(font).height() * 0.55
        painter.setPen(QPen(QColor("white"), 2))
        painter.setBrush(QBrush(QColor(trip.colour)))
        painter.drawEllipse(at, radius, radius)
        label_w = QFontMetricsF(font).horizontalAdvance(trip.label) + 10
        right = at.x() + radius + 4
        left = at.x() - radius - 4 - label_w
        self._label(painter, QPointF(right if right + label_w < self.width() else left, at.y()), trip.label)
        painter.end()

    def _node(self, painter: QPainter, at: QPointF, text: str) -> None:
        metrics = QFontMetricsF(painter.font())
        box = QRectF(0, 0, metrics.horizontalAdvance(text) + 18, metrics.height() + 8)
        box.moveCenter(at)
        painter.setPen(QPen(EDGE, 1.2, Qt.PenStyle.DashLine))
        painter.setBrush(QBrush(PLATE))
        painter.drawRoundedRect(box, 6, 6)
        painter.setPen(QColor(INK))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _label(self, painter: QPainter, at: QPointF, text: str) -> None:
        metrics = QFontMetricsF(painter.font())
        box = QRectF(
            at.x(),
            at.y() - metrics.height() / 2 - 2,
            metrics.horizontalAdvance(text) + 10,
            metrics.height() + 4,
        )
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(PLATE))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(INK))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)


def _place_name(place: str) -> str:
    if place == SERVER:
        return "Server"
    if place.startswith("feed:"):
        return f"{place.removeprefix('feed:').capitalize()}'s feed"
    return place


def _ease(t: float) -> float:
    """Slow out of the start, slow into the end."""
    return t * t * (3 - 2 * t)
