"""Watching a change travel: tokens between the iPads, the server and the feed; rows that glow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from emulator.engine.events import Event
from emulator.ui.main_window import MainWindow
from emulator.ui.records import HIGHLIGHT_ROLE, HIGHLIGHT_SECONDS
from emulator.ui.travel import SPEEDS, TravelOverlay, Trip, trips_for
from tests.ui.conftest import run
from tests.ui.test_main_window import HARPER, columns, edit_phone, to_list

T0 = datetime(2026, 11, 26, 9, tzinfo=UTC)


def event(kind: str, actor: str) -> Event:
    return Event(1, T0, actor, kind, "")


@pytest.mark.parametrize(
    ("kind", "actor", "trip"),
    [
        ("uploading", "device:pro", ("device:pro", "server", "upload")),
        ("uploaded", "device:pro", ("server", "device:pro", "saved")),
        ("rejected", "device:air", ("server", "device:air", "sync error")),
        ("duplicated", "device:air", ("server", "device:air", "duplicated")),
        ("discarded_online", "device:air", ("server", "device:air", "discarded")),
        ("put_on_feed", "feed:anna", ("server", "feed:anna", "feed entry")),
        ("downloaded", "device:air", ("feed:anna", "device:air", "download")),
        ("sync_finished", "device:air", ("server", "device:air", "incremental sync")),
    ],
)
def test_each_step_of_a_change_is_a_trip(kind: str, actor: str, trip: tuple[str, str, str]) -> None:
    (found,) = trips_for(event(kind, actor), lambda _device: "anna")
    assert (found.source, found.target, found.label) == trip


def test_screens_and_saves_are_not_trips() -> None:
    for kind in ("saved", "queued", "screen", "polled", "merged"):
        assert trips_for(event(kind, "device:pro"), lambda _d: "anna") == []


def painted(overlay: TravelOverlay, colour: str) -> bool:
    """Whether the token's colour is on the overlay now."""
    image = overlay.grab().toImage()
    want = QColor(colour)
    return any(
        image.pixelColor(x, y) == want
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
    )


@pytest.mark.rule("AS-16")
@pytest.mark.rule("AS-20")
def test_a_save_and_the_poll_that_brings_it_travel_as_tokens(window: MainWindow, qtbot: QtBot) -> None:
    pro, air, _ = columns(window)
    travel = window.travel
    assert travel.speed == "normal"
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 617 555 0101")
    run(qtbot, window.stage.settle())
    qtbot.waitUntil(lambda: travel.current is not None)
    assert travel.isVisible() and painted(travel, travel.current.colour), "the token is drawn"
    for _ in range(6):
        travel.tick(SPEEDS["normal"])  # each trip arrives; the next one sets off
    pro_id, air_id = f"device:{pro.device.id}", f"device:{air.device.id}"
    assert [(t.source, t.target, t.label) for t in travel.trips] == [
        (pro_id, "server", "upload"),
        ("server", pro_id, "saved"),
        ("server", "feed:anna", "feed entry"),
    ]
    assert travel.current is None and not painted(travel, "#E69F00"), "the last token has arrived"
    run(qtbot, window.stage.advance(timedelta(seconds=30)))  # the Air's poll brings it
    qtbot.waitUntil(lambda: travel.current is not None)
    for _ in range(4):
        travel.tick(SPEEDS["normal"])
    downloads = {(t.source, t.target) for t in travel.trips[3:] if t.label == "download"}
    assert ("feed:anna", air_id) in downloads, "the poll brings the change from Anna's feed to the Air"


def test_travel_off_or_the_xray_view_off_sends_no_token(window: MainWindow, qtbot: QtBot) -> None:
    pro, _, _ = columns(window)
    window.set_travel_speed("off")
    assert window.travel_actions["off"].isChecked()
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 617 555 0102")
    run(qtbot, window.stage.settle())
    assert window.travel.trips == [] and window.travel.isHidden()
    window.set_travel_speed("fast")
    window.toggle_xray()
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 617 555 0103")
    run(qtbot, window.stage.settle())
    assert window.travel.trips == [], "it is the X-ray view's"
    window.toggle_xray()
    window.travel.add([Trip(f"device:{pro.device.id}", "server", "#0072B2", "upload")])
    assert window.travel.trips, "back on, tokens travel again"


@pytest.mark.rule("AS-25")
def test_a_merged_record_glows_in_the_list_for_a_few_seconds(window: MainWindow, qtbot: QtBot) -> None:
    pro, air, _ = columns(window)
    app = air.frame.app
    to_list(app, "account__v")
    edit_phone(qtbot, pro.frame.app, HARPER, "+1 617 555 0104")
    run(qtbot, window.stage.advance(timedelta(seconds=30)))
    row = app.model.row_of(HARPER)
    assert row is not None
    qtbot.waitUntil(lambda: app.model.index(row, 1).data(HIGHLIGHT_ROLE) is True)
    others = [r for r in range(app.model.rowCount()) if r != row]
    assert not any(app.model.index(r, 1).data(HIGHLIGHT_ROLE) for r in others)
    started = app.model.now()
    app.model.now = lambda: started + HIGHLIGHT_SECONDS + 0.1  # a few seconds later
    assert app.model.index(row, 1).data(HIGHLIGHT_ROLE) is False


@pytest.mark.parametrize("presenter", [False, True])
def test_the_band_has_its_own_strip_and_no_name_is_ever_covered(
    window: MainWindow, qtbot: QtBot, presenter: bool
) -> None:
    """The band sits above the iPads' names from the start; a token and its label never hide a
    place's name (the plates look the same at every point of every trip), and a token that
    arrives has its label beside it, in sight."""
    window.fit_to(1366, 768, within_screen=False)
    if presenter:
        window.toggle_presenter()
    for _ in range(3):
        QApplication.processEvents()
    travel = window.travel
    assert travel.isVisible(), "the band shows its places at rest, with the X-ray view"
    viewport = window.scroller.viewport()
    for column in window.columns.values():
        caption = column.frame.caption
        top = caption.mapTo(viewport, caption.rect().topLeft()).y()
        assert top >= travel.geometry().bottom(), f"{column.device.id}'s name is below the band"
    plates = {place: travel.plate(place) for place in ("server", "feed:anna", "feed:chloe")}
    boxes = [box.toAlignedRect() for box in plates.values() if box is not None]
    assert len(boxes) == 3, "the server and both feeds are on the band"
    assert all(travel.rect().contains(box) for box in boxes), "whole plates"
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]), "plates apart"
    at_rest = travel.grab().toImage()
    pro, air, chloe = (f"device:{c.device.id}" for c in window.columns.values())
    for trip in (
        Trip(pro, "server", "#0072B2", "upload"),
        Trip("server", pro, "#009E73", "saved"),
        Trip("server", "feed:anna", "#E69F00", "feed entry"),
        Trip("feed:anna", air, "#56B4E9", "download"),
        Trip("server", chloe, "#56B4E9", "incremental sync"),
    ):
        travel.add([trip])
        for step in range(20):
            now = travel.grab().toImage()
            for box in boxes:
                inside = box.adjusted(6, 2, -6, -2)  # within the plate's rounded edge
                assert now.copy(inside) == at_rest.copy(inside), f"{trip.label!r} hides a name at step {step}"
            label = travel.label_rect()
            assert label is not None and travel.rect().contains(label.toAlignedRect()), trip
            travel.tick(SPEEDS[travel.speed] / 20)
            if step == 18:  # arriving
                target = travel.plate(trip.target)
                assert target is None or not label.intersects(target), f"{trip.label!r} is in sight"
        assert travel.current is None
