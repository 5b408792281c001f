"""What the Errors tab offers for a sync error, as a pure function (AS-34)."""

from __future__ import annotations

import pytest

from emulator.engine.error_actions import error_actions


@pytest.mark.rule("AS-34")
@pytest.mark.parametrize(
    ("records", "is_delete", "pending", "offered"),
    [
        (["a"], False, set(), ("undo",)),
        (["a"], True, set(), ("undelete",)),
        (["a"], False, {"a"}, ("clear",)),
        (["a"], True, {"a"}, ("clear",)),
        (["call", "discussion"], False, {"discussion"}, ("clear",)),
        (["a"], False, {"b"}, ("undo",)),
    ],
    ids=[
        "update",
        "delete",
        "update, pending",
        "delete, pending",
        "family, a child pending",
        "another pending",
    ],
)
def test_the_actions_offered(
    records: list[str], is_delete: bool, pending: set[str], offered: tuple[str, ...]
) -> None:
    assert error_actions(records, is_delete=is_delete, pending_ids=pending) == offered
