"""When downloaded feed data is merged (AS-21 to AS-26), as a pure function, table by table."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.engine.merge import plan_merge


def entry(*versions: tuple[str, int], txn: str = "t-other", deleted: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "transaction_id": txn,
        "records": [
            {"object": "account__v", "id": rid, "fields": {"id": rid, "_version": v}} for rid, v in versions
        ],
        "deleted": [{"object": "account__v", "id": rid} for rid in deleted],
    }


def plan(e: dict[str, Any], **given: Any) -> Any:
    args: dict[str, Any] = {
        "complete": True,
        "open_ids": set(),
        "blocked_ids": set(),
        "pending_ids": set(),
        "error_ids": set(),
        "local_versions": {},
        "unanswered_transactions": set(),
    }
    return plan_merge(e, **{**args, **given})


@pytest.mark.parametrize(
    ("given", "wait"),
    [
        ({"complete": False}, "not all of its records"),
        ({"open_ids": {"a"}}, "open on screen"),
        ({"blocked_ids": {"a"}}, "earlier update"),
        ({"unanswered_transactions": {"t-mine"}}, "own upload"),
    ],
    ids=["AS-22 incomplete", "AS-23 open", "behind a waiting update", "own upload not answered yet"],
)
def test_what_waits(given: dict[str, Any], wait: str) -> None:
    result = plan(entry(("a", 5), txn="t-mine"), **given)
    assert result.wait is not None and wait in result.wait
    assert not result.merge and not result.discard


@pytest.mark.rule("AS-26")
@pytest.mark.parametrize(
    ("given", "merged", "discarded"),
    [
        ({}, ["a"], []),
        ({"pending_ids": {"a"}}, [], ["a"]),
        ({"error_ids": {"a"}}, [], ["a"]),
        ({"local_versions": {"a": 5}}, [], []),
        ({"local_versions": {"a": 7}}, [], ["a"]),
        ({"local_versions": {"a": 4}}, ["a"], []),
        ({"local_versions": {"a": None}}, ["a"], []),
    ],
    ids=["new", "pending upload", "sync error", "same version", "older", "newer", "stale local copy"],
)
def test_what_merges_and_what_is_discarded(
    given: dict[str, Any], merged: list[str], discarded: list[str]
) -> None:
    result = plan(entry(("a", 5)), **given)
    assert result.wait is None
    assert [f["id"] for _, f in result.merge] == merged
    assert [rid for _, rid, _ in result.discard] == discarded
