"""VMOC where clauses: which online records a user may download by incremental sync (AS-19).

Autosync's feed never consults these (a record a rep saved reaches their other devices even when
it falls outside the clause); incremental sync and direct record reads always do.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from server_stub.schema import Schema
from server_stub.store import Record, Store, UserRow


class Visibility:
    """Evaluates where clauses for one user at one moment, caching ``via`` look-ups."""

    def __init__(self, schema: Schema, store: Store, user: UserRow, now: datetime) -> None:
        self.schema = schema
        self.store = store
        self.user = user
        self.today = now.date()
        self._cache: dict[str, bool] = {}

    def visible(self, object_name: str, record: Record) -> bool:
        """Whether ``record`` of ``object_name`` satisfies every condition of its where clause."""
        key = record.get("id")
        if isinstance(key, str) and key in self._cache:
            return self._cache[key]
        result = all(
            self._holds(object_name, record, cond.kind, cond.field, cond.days)
            for cond in self.schema.object(object_name).where
        )
        if isinstance(key, str):
            self._cache[key] = result
        return result

    def _holds(self, object_name: str, record: Record, kind: str, field: str | None, days: int) -> bool:
        if kind == "all":
            return True
        if kind == "owner":
            return record.get("ownerid__v") == self.user.id
        assert field is not None
        value = record.get(field)
        if kind == "territory":
            return value in self.user.territories
        if kind == "within_days":
            if not isinstance(value, str):
                return False
            return date.fromisoformat(value) >= self.today - timedelta(days=days)
        # via: visible when the record pointed at is visible
        target = self.schema.object(object_name).field(field).target
        if not isinstance(value, str) or target is None:
            return False
        parent = self.store.get(target, value)
        return parent is not None and self.visible(target, parent)
