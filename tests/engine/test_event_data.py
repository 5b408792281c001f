"""Every event's data is what its kind declares (issue 13: event kinds with typed data)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emulator.engine.events import EVENT_DATA, Event, EventKind
from emulator.scenarios.loader import library_dir, load_scenario
from tests.event_data import event_problems
from tests.scenarios.conftest import play

LIBRARY = sorted(library_dir().glob("*.yaml"))


@pytest.fixture(scope="module")
def library_events() -> Iterator[list[Event]]:
    """Every event the whole scenario library emits, played headless."""
    seen: list[Event] = []
    for path in LIBRARY:
        seen += play(load_scenario(path)).events
    yield seen


def test_every_kind_declares_its_data() -> None:
    assert set(EVENT_DATA) == set(EventKind)


def test_every_event_the_library_emits_carries_the_data_its_kind_declares(
    library_events: list[Event],
) -> None:
    found = [p for event in library_events for p in event_problems(event)]
    assert not found, "\n".join(found[:40])


def test_the_library_emits_most_kinds(library_events: list[Event]) -> None:
    """The check above means something only if the library's events cover the kinds."""
    emitted = {event.kind for event in library_events}
    never = {EventKind.CLOCK, EventKind.DEVICE_REMOVED}  # no library scenario removes an iPad
    assert emitted >= set(EventKind) - never, set(EventKind) - never - emitted


def _event(kind: EventKind, **data: object) -> Event:
    """Made by hand, not emitted: the suite's own check of emitted events would fail the test."""
    return Event(1, datetime(2026, 1, 5, tzinfo=UTC), "stage", kind, "test", None, dict(data))


def test_the_checker_finds_a_missing_an_unknown_and_a_mistyped_key() -> None:
    assert not event_problems(_event(EventKind.RETRY_SCHEDULED, transaction_id="t-1", attempts=2))
    assert event_problems(_event(EventKind.RETRY_SCHEDULED, transaction_id="t-1"))  # attempts missing
    assert event_problems(_event(EventKind.RETRY_SCHEDULED, transaction_id="t-1", attempts=2, extra=1))
    assert event_problems(_event(EventKind.RETRY_SCHEDULED, transaction_id="t-1", attempts="2"))
    assert event_problems(_event(EventKind.RETRY_SCHEDULED, transaction_id="t-1", attempts=True))
    assert event_problems(_event(EventKind.SCREEN, mode="sideways"))  # not one of its literals
    assert event_problems(
        _event(EventKind.SAVED, submitted=False, new=True, fields={}, children=[{"op": "add", "id": "x"}])
    )  # a child without its object
    assert not event_problems(
        _event(EventKind.ONLINE_CHANGE, path="/x", method="POST", body={"a": [1, None]})
    )
    assert event_problems(_event(EventKind.ONLINE_CHANGE, path="/x", method="POST", body={"a": Path()}))
