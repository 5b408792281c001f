"""Short garbage-collection pauses (issue 11): start-up's objects are frozen, a closed stage thawed."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from emulator import heap


@pytest.fixture
def restored() -> Iterator[None]:
    yield
    if heap._freeze_survivors in gc.callbacks:
        gc.callbacks.remove(heap._freeze_survivors)
    gc.unfreeze()


@pytest.mark.usefixtures("restored")
def test_what_exists_at_start_up_and_what_survives_a_full_collection_is_frozen() -> None:
    gc.unfreeze()
    heap.keep_pauses_short()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    made_later = [[i] for i in range(1000)]  # tracked objects, made after start-up
    gc.collect()  # a full collection: its survivors are frozen too
    assert gc.get_freeze_count() >= frozen + len(made_later)
    heap.keep_pauses_short()
    assert gc.callbacks.count(heap._freeze_survivors) == 1  # installed once


@pytest.mark.usefixtures("restored")
def test_a_closed_stage_is_thawed_and_collected_only_when_the_app_froze_the_heap() -> None:
    gc.unfreeze()
    heap.thaw_and_collect()  # a test run, not the app: nothing is frozen behind its back
    assert gc.get_freeze_count() == 0

    class Cycle:
        def __init__(self) -> None:
            self.me = self
            self.load = [[i] for i in range(500)]

    held = [Cycle() for _ in range(20)]  # what a stage holds in reference cycles
    heap.keep_pauses_short()  # ... frozen with everything else
    del held  # the stage closes: only a collection of the thawed heap can free the cycles
    before = gc.get_freeze_count()
    heap.thaw_and_collect()
    assert 0 < gc.get_freeze_count() <= before - 20 * 500  # the cycles went; the rest is frozen again
