"""The object schema as a device knows it: received with every incremental sync."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DeviceSchema:
    """Read-only helpers over the schema JSON the server sends."""

    data: dict[str, Any]

    @property
    def version(self) -> int:
        return int(self.data.get("metadata_version", 0))

    @property
    def objects(self) -> dict[str, Any]:
        return dict(self.data.get("objects", {}))

    def object(self, name: str) -> dict[str, Any]:
        try:
            return dict(self.data["objects"][name])
        except KeyError:
            raise KeyError(f"unknown object {name!r}") from None

    def fields(self, name: str) -> dict[str, dict[str, Any]]:
        return dict(self.object(name)["fields"])

    def label(self, name: str) -> str:
        return str(self.object(name).get("label", name))

    def title(self, name: str, record: dict[str, Any]) -> str:
        """What a person calls this record: its title field, else its ID."""
        obj = self.object(name)
        value = record.get(obj.get("title") or "")
        if value in (None, ""):
            return "(new)" if str(record.get("id", "")).startswith("tmp-") else str(record["id"])
        return str(value)

    def family_of(self, name: str) -> dict[str, Any] | None:
        for family in self.data.get("families", {}).values():
            if name == family["root"] or name in family["members"]:
                return dict(family)
        return None

    def is_root(self, name: str) -> bool:
        family = self.family_of(name)
        return family is not None and family["root"] == name

    def master_field(self, name: str) -> tuple[str, str] | None:
        """(field, master object) of a detail object, or None."""
        for fname, fdef in self.fields(name).items():
            if fdef["type"] == "master_detail":
                return fname, str(fdef["object"])
        return None

    def children_of(self, name: str) -> list[tuple[str, str]]:
        """(child object, master field) pairs whose master is ``name``."""
        out = []
        for child in self.objects:
            master = self.master_field(child)
            if master is not None and master[1] == name:
                out.append((child, master[0]))
        return out
