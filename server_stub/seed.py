"""Loading the sample world (users, territories, records, data sets) into an empty server.

Records are created through the same save logic as everything else (triggers, formulas,
auto-numbers, roll-ups), so the sample data is exactly what the server would have made.
Sample files refer to earlier records as ``"@key"`` and to dates as ``today``, ``today-3``,
``today+14`` (days from the emulated clock's current date).
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from server_stub.clock import iso
from server_stub.models import UploadItem
from server_stub.saving import PayloadError, SyncError, save_online
from server_stub.schema import Schema, SchemaError, YamlLoader, file_key, resources_dir
from server_stub.store import DatasetRow, Store, UserRow

RELATIVE_DATE = re.compile(r"^today(?:([+-])(\d+))?$")

#: Sample files already parsed, by file (see :func:`server_stub.schema.file_key`).
_LOADED: dict[tuple[str, int, int], dict[str, Any]] = {}


def default_sample_path() -> Path:
    return resources_dir() / "sample" / "sample_data.yaml"


def load_sample(path: Path) -> dict[str, Any]:
    """Parse a sample-data file, refusing one without users (a private copy: the caller may change it)."""
    with path.open(encoding="utf-8") as handle:
        key = file_key(path)
        if key not in _LOADED:
            try:
                data = yaml.load(handle, Loader=YamlLoader)
            except yaml.YAMLError as exc:
                raise SchemaError(f"{path}: not valid YAML: {exc}") from None
            if not isinstance(data, dict) or not isinstance(data.get("users"), list) or not data["users"]:
                raise SchemaError(f"{path}: sample data needs a non-empty 'users' list")
            _LOADED[key] = data
    return copy.deepcopy(_LOADED[key])


def seed(schema: Schema, store: Store, data: dict[str, Any], now: datetime) -> dict[str, str]:
    """Create the sample world in an empty database; return the map of sample keys to IDs."""
    for user in data["users"]:
        store.session.add(
            UserRow(
                id=str(user["id"]),
                name=str(user.get("name", user["id"])),
                token=str(user["token"]),
                territories=[str(t) for t in user.get("territories", [])],
            )
        )
    store.session.flush()
    keys: dict[str, str] = {}
    for index, entry in enumerate(data.get("records") or []):
        where = f"sample record #{index + 1} ({entry.get('key', entry.get('object'))})"
        owner = store.user(str(entry.get("owner")))
        if owner is None:
            raise SchemaError(f"{where}: unknown owner {entry.get('owner')!r}")
        fields = {name: _resolve(value, keys, now, where) for name, value in entry["fields"].items()}
        item = UploadItem(op="create", object=entry["object"], id=f"seed-{index}", fields=fields)
        try:
            (record,) = save_online(schema, store, owner, [item], now, actor=owner.id)
        except (SyncError, PayloadError) as exc:
            raise SchemaError(f"{where}: {exc}") from None
        if "key" in entry:
            keys[str(entry["key"])] = record["id"]
    for dataset in data.get("datasets") or []:
        items = [
            {k: _resolve(v, keys, now, f"data set {dataset['name']}") for k, v in item.items()}
            for item in dataset.get("items", [])
        ]
        store.session.add(
            DatasetRow(
                name=str(dataset["name"]),
                kind=str(dataset["kind"]),
                version=1,
                updated_at=iso(now),
                items=items,
            )
        )
    return keys


def _resolve(value: Any, keys: dict[str, str], now: datetime, where: str) -> Any:
    if not isinstance(value, str):
        return value
    if value.startswith("@"):
        if value[1:] not in keys:
            raise SchemaError(f"{where}: {value} does not name an earlier record")
        return keys[value[1:]]
    match = RELATIVE_DATE.match(value)
    if match:
        sign, days = match.groups()
        offset = timedelta(days=int(days or 0)) * (-1 if sign == "-" else 1)
        return (now + offset).date().isoformat()
    return value
