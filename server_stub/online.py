"""The online side: what happens in the browser, in integrations and in admin jobs (AS-27).

None of it goes on an Autosync feed; devices see it only after an incremental sync.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server_stub.clock import iso
from server_stub.errors import NotFound
from server_stub.models import FieldChange, UploadItem
from server_stub.saving import DISABLED_RULES_KEY, PayloadError, save_online
from server_stub.schema import Schema, SchemaError, apply_metadata_change
from server_stub.store import DatasetRow, Record, Store, UserRow

METADATA_KEY = "metadata_changes"


def effective_schema(base: Schema, store: Store) -> Schema:
    """The schema with every published metadata change applied."""
    return base.with_changes(store.setting(METADATA_KEY, []))


def edit_online(
    schema: Schema,
    store: Store,
    object_name: str,
    record_id: str,
    fields: dict[str, Any],
    actor: str,
    now: datetime,
) -> Record:
    """Edit a record as an online user or an integration: runs the save logic, no feed."""
    row = store.get(object_name, record_id)
    if row is None:
        raise NotFound(f"{object_name} {record_id} does not exist online")
    owner = store.user(str(row.get("ownerid__v"))) or _any_user(store)
    changes = {name: FieldChange(old=None, new=value) for name, value in fields.items()}
    item = UploadItem(op="update", object=object_name, id=record_id, changes=changes)
    return save_online(schema, store, owner, [item], now, actor)[0]


def create_online(
    schema: Schema,
    store: Store,
    object_name: str,
    owner_id: str,
    fields: dict[str, Any],
    actor: str,
    now: datetime,
) -> Record:
    """Create a record online (an integration load, say), owned by ``owner_id``."""
    owner = store.user(owner_id)
    if owner is None:
        raise PayloadError(f"unknown user {owner_id!r}")
    item = UploadItem(op="create", object=object_name, id="online-new", fields=fields)
    return save_online(schema, store, owner, [item], now, actor)[0]


def align_territories(
    schema: Schema,
    store: Store,
    *,
    account_ids: list[str],
    territory: str | None,
    user_id: str | None,
    user_territories: list[str] | None,
    now: datetime,
) -> tuple[list[Record], UserRow | None]:
    """A territory alignment: move accounts and/or reassign a user's territories."""
    if account_ids and territory is None:
        raise PayloadError("moving accounts needs the territory to move them to")
    if (user_id is None) != (user_territories is None):
        raise PayloadError("reassigning a user needs both user_id and user_territories")
    if not account_ids and user_id is None:
        raise PayloadError("a territory alignment needs accounts to move or a user to reassign")
    moved = [
        edit_online(
            schema,
            store,
            "account__v",
            aid,
            {"territory__v": territory},
            "territory_alignment",
            now,
        )
        for aid in account_ids
    ]
    user = None
    if user_id is not None:
        user = store.user(user_id)
        if user is None:
            raise NotFound(f"unknown user {user_id!r}")
        user.territories = list(user_territories or [])
    return moved, user


def publish_metadata(base: Schema, store: Store, change: dict[str, Any]) -> Schema:
    """Publish a metadata change; refused (SchemaError) if it does not fit the schema."""
    current = effective_schema(base, store)
    updated = apply_metadata_change(current, change)
    store.set_setting(METADATA_KEY, [*store.setting(METADATA_KEY, []), change])
    return updated


def publish_content(store: Store, kind: str, name: str, description: str, now: datetime) -> DatasetRow:
    """Publish CLM or Approved Email content: a new version of that data set."""
    dataset_name = {"clm": "clm_content", "approved_email": "approved_email"}[kind]
    row = store.dataset(dataset_name)
    if row is None:
        row = DatasetRow(name=dataset_name, kind=kind, version=0, updated_at=iso(now), items=[])
        store.session.add(row)
    items = [dict(i) for i in row.items]
    existing = next((i for i in items if i.get("name") == name), None)
    if existing is None:
        items.append({"name": name, "version": 1, "description": description})
    else:
        existing["version"] = int(existing.get("version", 0)) + 1
        existing["description"] = description or existing.get("description", "")
    row.items = items
    row.version += 1
    row.updated_at = iso(now)
    row.change_seq = store.next_change()
    return row


def refresh_dataset(store: Store, name: str, now: datetime) -> DatasetRow:
    """A new nightly load of X-Pages sales data or Nitro data: numbers move, version goes up."""
    row = store.dataset(name)
    if row is None or row.kind not in {"xpages", "nitro"}:
        raise NotFound(f"no X-Pages or Nitro data set called {name!r}")
    row.version += 1
    items = []
    for index, item in enumerate(row.items):
        item = dict(item)
        for key, value in item.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                step = ((row.version * 7 + index * 3) % 11) - 5  # deterministic drift
                item[key] = round(value + step * (0.1 if isinstance(value, float) else 1), 1)
        items.append(item)
    row.items = items
    row.updated_at = iso(now)
    row.change_seq = store.next_change()
    return row


def set_validation_rule(schema: Schema, store: Store, name: str, enabled: bool) -> None:
    if name not in schema.validation_rules:
        raise NotFound(f"no validation rule called {name!r}")
    disabled = set(store.setting(DISABLED_RULES_KEY, []))
    (disabled.discard if enabled else disabled.add)(name)
    store.set_setting(DISABLED_RULES_KEY, sorted(disabled))


def validation_rules(schema: Schema, store: Store) -> list[dict[str, Any]]:
    disabled = set(store.setting(DISABLED_RULES_KEY, []))
    return [
        {
            "name": rule.name,
            "message": rule.text,
            "objects": [o.name for o in schema.objects.values() if rule.name in o.validation_rules],
            "enabled": rule.name not in disabled,
        }
        for rule in schema.validation_rules.values()
    ]


def _any_user(store: Store) -> UserRow:
    users = store.users()
    if not users:
        raise SchemaError("the server has no users")
    return users[0]
