"""What the Errors tab offers for one sync error (AS-34), decided by a pure function.

* **Undo**, for a change the server refused (an update, or a create): the next incremental sync
  refreshes the record's table from online, so the record ends as it is online.
* **Undelete**, for a delete the server refused: the next incremental sync becomes a full
  database refresh, which brings the record and its relationships back.
* **Clear**, only while a record of the error still has an upload waiting in the queue: Undo and
  Undelete cannot resolve such an error; clearing removes the error and leaves the data as it is.
  An admin can also clear a user's client sync errors from online.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Literal

ErrorAction = Literal["undo", "undelete", "clear"]
LABELS: dict[ErrorAction, str] = {"undo": "Undo", "undelete": "Undelete", "clear": "Clear"}


def error_actions(
    record_ids: Iterable[str], *, is_delete: bool, pending_ids: Collection[str]
) -> tuple[ErrorAction, ...]:
    """The actions the Errors tab offers for an error on ``record_ids``."""
    if any(rid in pending_ids for rid in record_ids):
        return ("clear",)
    return ("undelete",) if is_delete else ("undo",)
