"""The timeline draws a known scenario's event stream as lanes, marks, arrows and bands."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from emulator.engine.events import Event
from emulator.scenarios.runner import run_scenario
from emulator.stage import Stage
from emulator.ui.main_window import MainWindow
from emulator.ui.timeline import Timeline
from emulator.ui.timeline_model import AXIS_H, LABEL_W, LANE_H, MARKS
from tests.ui.conftest import run

TOUR = Path(__file__).parent / "data" / "timeline_tour.yaml"  # frozen: the counts below are its own


@pytest.fixture(scope="module")
def tour_events() -> list[Event]:
    # asyncio.run in a worker thread leaves the Qt thread's event loop alone
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(run_scenario, TOUR).result()
    assert result.passed, result.failures()
    return result.events


@pytest.fixture
def timeline(qtbot: QtBot, tour_events: list[Event]) -> Timeline:
    widget = Timeline()
    qtbot.addWidget(widget)
    widget.resize(1400, 560)
    widget.show()
    widget.add_events(tour_events)
    return widget


def by_lane(widget: Timeline) -> dict[str, Counter[str]]:
    lanes: dict[str, Counter[str]] = {}
    for mark in widget.canvas.model.marks:
        lanes.setdefault(mark.lane, Counter())[mark.event.kind] += 1
    return lanes


def test_a_lane_per_ipad_the_server_the_feed_and_the_stage(timeline: Timeline) -> None:
    assert [(lane.key, lane.label) for lane in timeline.model.ordered_lanes()] == [
        ("device:pro", "Anna's iPad Pro"),
        ("device:air", "Anna's iPad Air"),
        ("device:chloe", "Chloe's iPad"),
        ("server", "Server"),
        ("feed:anna", "Anna's feed"),
        ("stage", "Stage (iPads join)"),
    ]


def test_the_marks_of_the_tour_by_kind_and_lane(timeline: Timeline, tour_events: list[Event]) -> None:
    lanes = by_lane(timeline)
    assert lanes["device:pro"] == Counter(saved=3, uploading=3, downloaded=3, polled=5, sync_finished=1)
    assert lanes["device:air"] == Counter(
        sync_finished=2, downloaded=2, polled=3, merged=2, merge_deferred=1, saved=1, uploading=1,
        error_resolved=1,
    )  # fmt: skip
    assert lanes["device:chloe"] == Counter(sync_finished=1, polled=5)
    # the answers are the server's, though the iPad tells them
    assert lanes["server"] == Counter(uploaded=3, rejected=1)
    assert lanes["feed:anna"] == Counter(put_on_feed=3)
    assert lanes["stage"] == Counter(device_added=3)
    # every event of a drawn kind is drawn once; screens and progress are not
    drawn = Counter(e.kind for e in tour_events if e.kind in MARKS)
    assert sum(sum(c.values()) for c in lanes.values()) == sum(drawn.values())
    assert not any(m.event.kind in ("screen", "sync_progress", "queued") for m in timeline.model.marks)


def test_arrows_go_upload_to_answer_to_feed_to_download(timeline: Timeline) -> None:
    arrows = Counter((a.lane, a.event.kind, b.lane, b.event.kind) for a, b in timeline.model.arrows)
    assert arrows == Counter(
        {
            ("device:pro", "uploading", "server", "uploaded"): 3,
            ("device:air", "uploading", "server", "rejected"): 1,
            ("server", "uploaded", "feed:anna", "put_on_feed"): 3,
            ("feed:anna", "put_on_feed", "device:pro", "downloaded"): 3,
            ("feed:anna", "put_on_feed", "device:air", "downloaded"): 2,
        }
    )
    for a, b in timeline.model.arrows:
        assert a.event.data["transaction_id"] == b.event.data["transaction_id"]
        assert a.x(1.0) < b.x(1.0)


def test_offline_band_and_the_long_jump_of_the_clock(timeline: Timeline, tour_events: list[Event]) -> None:
    [band] = timeline.model.bands
    assert (band.lane, band.kind) == ("device:air", "offline")
    went_offline = next(e for e in tour_events if e.kind == "network" and e.data["mode"] == "offline")
    came_back = next(e for e in tour_events if e.kind == "network" and e.data["mode"] == "online")
    assert band.end is not None
    inside = [m.event for m in timeline.model.marks if band.start.x(1) < m.x(1) < band.end.x(1)]
    assert all(went_offline.seq < e.seq < came_back.seq for e in inside)
    # hours of the clock jumping are drawn as breaks, not as 20,000 pixels of empty lane
    assert [jump.length for jump in timeline.model.breaks] == [
        timedelta(hours=2, minutes=59),
        timedelta(hours=1, minutes=59, seconds=30),
    ]
    assert timeline.canvas.content_width() < 2500


def click(widget: QWidget, point: QPoint) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


def test_clicking_a_mark_shows_its_event(timeline: Timeline, qtbot: QtBot) -> None:
    rejected = next(m for m in timeline.model.marks if m.event.kind == "rejected")
    timeline.canvas.scroll_to(rejected)
    viewport = timeline.canvas.viewport()
    with qtbot.waitSignal(timeline.selected) as shown:
        click(viewport, timeline.canvas.mark_centre(rejected).toPoint())
    assert shown.args == [rejected.event]
    assert timeline.canvas.selected is rejected
    text = timeline.details.toPlainText()
    for part in (
        "Sync error",
        "Anna's iPad Air (device:air)",
        "rejected",
        "account__v V0A000000000003",
        "conflict",
        "14:00:00",
    ):
        assert part in text
    # and what else happened to the record
    assert "saved on Anna's iPad Air" in text
    # empty space clears it
    with qtbot.waitSignal(timeline.selected) as cleared:
        click(viewport, QPoint(viewport.width() - 5, viewport.height() - 5))
    assert cleared.args == [None]


def test_export_png_writes_the_whole_stream_with_its_legend(timeline: Timeline, tmp_path: Path) -> None:
    path = tmp_path / "timeline.png"
    assert timeline.export_png(path)
    image = QImage(str(path))
    assert not image.isNull()
    assert image.size() == timeline.export_size()
    assert image.width() > timeline.canvas.content_width()
    assert image.height() > 6 * 48
    # something other than white was drawn in the lanes
    colours = {image.pixel(x, y) for x in range(200, image.width(), 7) for y in range(40, 300, 5)}
    assert len(colours) > 10


def following(timeline: Timeline) -> bool:
    return timeline.canvas.follow


def test_zoom_and_follow(timeline: Timeline, qtbot: QtBot) -> None:
    canvas = timeline.canvas
    bar = canvas.horizontalScrollBar()
    timeline.zoom_in_action.trigger()
    assert canvas.zoom == pytest.approx(1.5)
    assert following(timeline) and bar.value() == bar.maximum() > 0
    bar.setValue(0)  # the user scrolls back: new events no longer pull the view along
    assert not following(timeline)
    last = timeline.model.events[-1]
    timeline.add_event(
        Event(last.seq + 1, last.time + timedelta(seconds=30), "device:pro", "polled", "Polled.")
    )
    qtbot.waitUntil(lambda: canvas.horizontalScrollBar().maximum() > 0)
    assert bar.value() == 0
    timeline.follow_action.trigger()
    assert bar.value() == bar.maximum()
    timeline.fit_action.trigger()
    assert bar.maximum() == 0
    timeline.zoom_out_action.trigger()
    assert canvas.zoom < 1.0


def test_thousands_of_events_paint_only_the_visible_range(
    timeline: Timeline, tour_events: list[Event], qtbot: QtBot
) -> None:
    polls = [e for e in tour_events if e.kind == "polled"]
    for n in range(5000):
        e = polls[n % len(polls)]
        timeline.add_event(
            Event(10_000 + n, e.time + timedelta(days=1, seconds=30 * n), e.actor, e.kind, e.text)
        )
    qtbot.waitUntil(lambda: timeline.canvas.follow and timeline.canvas.content_width() > 100_000)
    image = timeline.canvas.viewport().grab()
    assert not image.isNull()


def test_the_timeline_dock_follows_the_stage(window: MainWindow, stage: Stage, qtbot: QtBot) -> None:
    action = next(a for menu, a in window.all_actions() if a.text() == "&Timeline")
    assert action.shortcut().toString() == "Ctrl+Shift+T"
    assert window.timeline_dock.isHidden()
    action.trigger()
    assert window.timeline_dock.isVisible()
    timeline = window.timeline
    assert timeline.model.count(kind="device_added") == 3
    air = stage.devices["anna-s-ipad-air"]
    air.set_network("offline")
    run(qtbot, stage.advance(timedelta(seconds=30)))
    air.set_network("online")
    run(qtbot, stage.advance(timedelta(seconds=30)))
    qtbot.waitUntil(lambda: timeline.canvas.now == stage.clock.now())
    assert [(b.lane, b.kind, b.end is not None) for b in timeline.model.bands] == [
        ("device:anna-s-ipad-air", "offline", True)
    ]
    assert timeline.model.count("device:anna-s-ipad-air", "polled") >= 1
    assert timeline.model.count("device:chloe-s-ipad", "polled") == 2
    assert len(timeline.model.events) == len(stage.events.events)


def test_light_and_dark_follow_the_palette(timeline: Timeline, tmp_path: Path) -> None:
    dark = QPalette(timeline.palette())
    for role, colour in (
        (QPalette.ColorRole.Base, "#101418"),
        (QPalette.ColorRole.AlternateBase, "#1a1f24"),
        (QPalette.ColorRole.Window, "#22272e"),
        (QPalette.ColorRole.Text, "#e6edf3"),
        (QPalette.ColorRole.WindowText, "#e6edf3"),
    ):
        dark.setColor(role, QColor(colour))
    timeline.setPalette(dark)
    lanes = timeline.canvas.viewport().grab().toImage()
    assert lanes.pixelColor(LABEL_W + 3, AXIS_H + 3) == QColor("#101418")  # the first lane
    assert lanes.pixelColor(LABEL_W + 3, AXIS_H + LANE_H + 3) == QColor("#1a1f24")  # the second
    assert lanes.pixelColor(3, AXIS_H + 3) == QColor("#22272e")  # the lane labels
    path = tmp_path / "dark.png"
    assert timeline.export_png(path)
    assert QImage(str(path)).pixelColor(LABEL_W + 3, AXIS_H + 3) == QColor("#101418")  # as seen


def test_the_legend_folds_away_and_back_with_its_tool(timeline: Timeline, qtbot: QtBot) -> None:
    """A short dock keeps its lanes: the Legend tool folds the legend away, and back."""
    timeline.show()
    qtbot.waitUntil(timeline.legend.isVisible)
    timeline.legend_action.trigger()
    assert timeline.legend.isHidden() and not timeline.legend_action.isChecked()
    timeline.legend_action.trigger()
    assert timeline.legend.isVisible() and timeline.legend_action.isChecked()
    assert timeline.legend.minimumHeight() > 0
    bigger = timeline.legend.font()
    bigger.setPointSizeF(bigger.pointSizeF() * 2)
    before = timeline.legend.minimumHeight()
    timeline.legend.setFont(bigger)  # presenter mode: the rows are measured again
    assert timeline.legend.minimumHeight() > before
