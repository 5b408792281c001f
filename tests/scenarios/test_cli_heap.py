"""``scenario run`` freezes what lives to the end, and only that (issue 11: the library's time)."""

from __future__ import annotations

import gc
import io
import weakref
from collections.abc import Iterator

import pytest

from emulator.heap import freeze_survivors_now
from emulator.scenarios import cli
from emulator.scenarios.loader import library_dir
from tests.conftest import detached_from_running_loop


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the rest of the test session walks its heap as before


def test_the_heap_is_frozen_before_the_first_two_scenarios_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[None] = []
    monkeypatch.setattr(cli, "freeze_survivors_now", lambda: calls.append(None))
    files = sorted(library_dir().glob("as0*.yaml"))[:3]
    out = io.StringIO()
    with detached_from_running_loop():
        code = cli.main(["run", "-q", *map(str, files)], out=out)
    assert code == 0, out.getvalue()
    assert len(calls) == 2, "a frozen object that becomes garbage later is kept: freeze only twice"


class Node:
    def __init__(self) -> None:
        self.me = self


def test_garbage_is_collected_before_the_survivors_are_frozen(unfrozen: None) -> None:
    gc.unfreeze()
    garbage, kept = Node(), Node()
    gone = weakref.ref(garbage)
    del garbage
    freeze_survivors_now()
    assert gone() is None
    assert gc.get_freeze_count() > 0 and kept.me is kept
