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

from PySide6.QtCore import QElapsedTimer, QEvent, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from emulator.engine.events import Event
from emulator.ui.xray_style import EDGE, INK, PLATE

#: Milliseconds one trip takes, by the trainer's choice; 0 draws nothing.
SPEEDS: dict[str, int] = {"off": 0, "slow": 1800, "normal": 1000, "fast": 500}
MAX_BACKLOG = 12
FRAME_MS = 16
SERVER = "server"
TOP = 4  # the band's top margin, in pixels
PLATE_PAD = 8  # a plate's height over its line of text
RADIUS = 0.45  # a token's radius, in lines

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
    """The network band above the iPads: the server, each user's feed, and tokens in flight.

    The band is a strip of its own (the overlay covers only it, never an iPad): the server and
    the feeds are plates on a track, each iPad a stem down to its name; a token runs along the
    track from plate edge to plate edge, its label trailing it, both under the plates, so
    neither ever hides a place's name. ``locate(place)`` says where a place sits on the track,
    in the overlay's coordinates (None: not shown now); ``nodes()`` lists the places on it
    (the iPads, the server, the feeds).

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
        self.fit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parent() and event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    # geometry ---------------------------------------------------------------------------------------
    def _bold(self) -> QFont:
        font = QFont(self.font())
        font.setBold(True)
        return font

    def _line(self) -> float:
        return QFontMetricsF(self._bold()).height()

    def track_y(self) -> float:
        """Where the track runs: through the middle of the plates."""
        return TOP + (self._line() + PLATE_PAD) / 2

    def band_height(self) -> int:
        """The band's height: the plates on the track, and room for the stems under them."""
        return int(self.track_y() + (self._line() + PLATE_PAD) / 2 + self._line() * 0.5 + 4)

    def fit(self) -> None:
        """Cover the band only (the whole width of the host), shown while tokens may travel."""
        host = self.parentWidget()
        if host is not None:
            self.setGeometry(0, 0, host.width(), self.band_height())
        self.setVisible(self.active)
        self.update()

    def plate_width(self, place: str) -> float:
        """How wide a place's plate is (the server's or a feed's; an iPad has none: 0)."""
        if place.startswith("device:"):
            return 0.0
        return QFontMetricsF(self._bold()).horizontalAdvance(_place_name(place)) + 18

    def plate(self, place: str) -> QRectF | None:
        """A plate's rectangle where its place is now (None for an iPad, or a place not shown)."""
        at = self.locate(place)
        if at is None or place.startswith("device:"):
            return None
        box = QRectF(0, 0, self.plate_width(place), self._line() + PLATE_PAD)
        box.moveCenter(at)
        return box

    def _edge(self, place: str, toward: QPointF) -> QPointF | None:
        """Where a token leaves or reaches a place: a plate's edge facing ``toward``, or a stem."""
        at = self.locate(place)
        box = self.plate(place)
        if at is None or box is None:
            return at
        radius = self._line() * RADIUS
        side = box.width() / 2 + radius + 2
        return QPointF(at.x() + (side if toward.x() > at.x() else -side), at.y())

    @property
    def active(self) -> bool:
        return SPEEDS[self.speed] > 0 and self.enabled

    def set_speed(self, speed: str) -> None:
        if speed not in SPEEDS:
            raise ValueError(f"unknown speed {speed!r}")
        self.speed = speed
        if not self.active:
            self.clear()
        self.fit()

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        if not enabled:
            self.clear()
        self.fit()

    def clear(self) -> None:
        self.queue.clear()
        self.current = None
        self._timer.stop()
        self.update()

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
                self.raise_()
                self._elapsed.start()
                self._timer.start()
                self.update()
                return
        self.current = None
        self._timer.stop()
        self.update()

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
        self.update()

    def token_at(self) -> QPointF | None:
        """Where the token in flight is now (None: none in flight, or a place not shown)."""
        trip = self.current
        if trip is None:
            return None
        source, target = self.locate(trip.source), self.locate(trip.target)
        if source is None or target is None:
            return None
        start, end = self._edge(trip.source, target), self._edge(trip.target, source)
        if start is None or end is None:
            return None
        t = _ease(min(self.progress, 1.0))
        return QPointF(start.x() + (end.x() - start.x()) * t, start.y() + (end.y() - start.y()) * t)

    def label_rect(self) -> QRectF | None:
        """Where the token's label is drawn: on the track, trailing the token like a train's name.

        Plates are drawn over it: a token leaving a plate pulls its label out from behind it, one
        passing a plate goes behind it, and one arriving has its label beside it, in sight.
        """
        trip, at = self.current, self.token_at()
        if trip is None or at is None:
            return None
        target = self.locate(trip.target)
        metrics = QFontMetricsF(self._bold())
        width, height = metrics.horizontalAdvance(trip.label) + 10, metrics.height() + 4
        gap = metrics.height() * RADIUS + 3
        rightward = target is not None and target.x() >= at.x()
        left = at.x() - gap - width if rightward else at.x() + gap
        left = min(max(left, 0.0), self.width() - width)
        return QRectF(left, at.y() - height / 2, width, height)

    # painting --------------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = self._bold()
        painter.setFont(font)
        line = QFontMetricsF(font).height()
        y = self.track_y()
        places = self.nodes()
        points = [
            p for place in places if place.startswith("device:") and (p := self.locate(place)) is not None
        ]
        if points:  # the track, and each iPad's stem down to its name
            painter.setPen(QPen(EDGE, 1.0))
            painter.drawLine(QPointF(min(p.x() for p in points), y), QPointF(max(p.x() for p in points), y))
            for point in points:
                painter.drawLine(point, QPointF(point.x(), self.height()))
        trip = self.current
        at = self.token_at()
        if trip is not None and at is not None:
            start = self._edge(trip.source, at)
            if start is not None:
                painter.setPen(QPen(EDGE, 2.0, Qt.PenStyle.DashLine))
                painter.drawLine(start, at)
        label = self.label_rect()
        if trip is not None and at is not None and label is not None:
            radius = line * RADIUS
            painter.setPen(QPen(QColor("white"), 2))
            painter.setBrush(QBrush(QColor(trip.colour)))
            painter.drawEllipse(at, radius, radius)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(PLATE))
            painter.drawRoundedRect(label, 4, 4)
            painter.setPen(QColor(INK))
            painter.drawText(label, Qt.AlignmentFlag.AlignCenter, trip.label)
        for place in places:  # last: a token or a label never hides a place's name
            box = self.plate(place)
            if box is not None:
                self._node(painter, box, _place_name(place))
        painter.end()

    def _node(self, painter: QPainter, box: QRectF, text: str) -> None:
        painter.setPen(QPen(EDGE, 1.2, Qt.PenStyle.DashLine))
        painter.setBrush(QBrush(QColor(PLATE.red(), PLATE.green(), PLATE.blue())))  # opaque
        painter.drawRoundedRect(box, 6, 6)
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
