"""The timeline's model: the event stream placed as marks, arrows, bands and breaks on lanes.

The x axis is emulated time, read left to right in the order things happened. The emulated clock
often does several things in the same second (an upload, its answer and the feed entry), so
events at the same moment are spread out by a fixed step, and a long jump of the clock (minutes,
days) is drawn as a break labelled with its length instead of as kilometres of empty lane.

Layout is computed once per event (:class:`TimelineModel`, no Qt); this module also holds how each
kind of event looks (:data:`MARKS`, :data:`BANDS`, the palette), the geometry constants and the
details pane's text (:func:`describe`), but paints nothing (see :mod:`emulator.ui.timeline_paint`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from PySide6.QtCore import Qt

from emulator.engine.events import DeviceData, Event, EventKind, ForegroundData, NetworkData, transaction_of
from emulator.ui.support import hhmmss

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
            default = {"server": "Server", "online": "Online (office)", "stage": "Stage (iPads join)"}.get(
                kind
            )
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
        if event.kind is EventKind.DEVICE_ADDED:
            self.lane(f"device:{event.data_as(DeviceData)['device']}", event.text.split(" (", 1)[0].strip())
        style = MARKS.get(event.kind)
        if event.kind is EventKind.NETWORK:
            mode = event.data_as(NetworkData)["mode"]
            self._band(event, mode in ("offline", "lie-fi"), mode)
            return None
        if event.kind is EventKind.FOREGROUND:
            self._band(event, not event.data_as(ForegroundData)["foreground"], "background")
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
        tid = transaction_of(event)
        if tid is None:
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


# the details pane's text --------------------------------------------------------------------------


def describe(event: Event, related: Iterable[Event] = (), name: Callable[[str], str] = str) -> str:
    """The details pane's HTML for one event (and what else happened to its record).

    ``name(actor)`` is what people call an actor (the iPad's name); the actor's ID follows it.
    """

    def esc(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    record = f"{event.record[0]} {event.record[1]}" if event.record else "—"
    data = json.dumps(event.data, indent=2, sort_keys=True, default=str) if event.data else "—"
    rows = [
        ("Time", event.time.strftime("%a %d %b %Y, %H:%M:%S")),
        ("Who", _who(event.actor, name)),
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
            f"<li>{hhmmss(e.time)} {esc(name(e.actor))} <i>{esc(e.kind)}</i>: {esc(e.text)}</li>"
            for e in others[-12:]
        )
        html += "</ul>"
    return html


def _who(actor: str, name: Callable[[str], str]) -> str:
    called = name(actor)
    return actor if called == actor else f"{called} ({actor})"
