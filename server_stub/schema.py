"""The object schema: loaded from ``resources/schema/*.yaml``, checked, and used to coerce values.

The schema is data. This module turns it into frozen dataclasses, refuses a malformed file with
a message naming the object and field, and knows how to check one value against one field.
Metadata changes published online (a new picklist value, a relabelled field) are applied on top
of the loaded schema with :meth:`Schema.with_changes`, so the original file stays the source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal, cast

import yaml

from autosync_wire import LONE_SURROGATE as LONE_SURROGATE
from autosync_wire import MAX_LONG_TEXT as MAX_LONG_TEXT
from server_stub.clock import parse_iso

FieldType = Literal[
    "text",
    "long_text",
    "number",
    "boolean",
    "date",
    "datetime",
    "picklist",
    "lookup",
    "master_detail",
    "formula",
    "autonumber",
    "rollup",
]
FIELD_TYPES: frozenset[str] = frozenset(FieldType.__args__)  # type: ignore[attr-defined]
COMPUTED_TYPES = frozenset({"formula", "autonumber", "rollup"})
REFERENCE_TYPES = frozenset({"lookup", "master_detail"})
SYSTEM_FIELDS = (
    "id",
    "ownerid__v",
    "created_date__v",
    "created_by__v",
    "modified_date__v",
    "modified_by__v",
)
SUBMITTED = "submitted__v"
MAX_TEXT = 255


class SchemaError(ValueError):
    """The schema file (or a metadata change) is malformed; the message names the place."""


class FieldValueError(ValueError):
    """A value does not fit its field; the message names the object, field and problem."""


@dataclass(frozen=True)
class PicklistValue:
    value: str
    label: str


@dataclass(frozen=True)
class FieldDef:
    """One field of an object."""

    name: str
    type: str
    label: str
    required: bool = False
    read_only: bool = False
    values: tuple[PicklistValue, ...] = ()
    default: str | None = None
    target: str | None = None  # lookup / master_detail: the object pointed at
    formula: str | None = None  # formula: function name in logic.py
    format: str | None = None  # autonumber: str.format pattern
    rollup_child: str | None = None
    rollup_via: str | None = None
    rollup_function: str | None = None
    rollup_field: str | None = None
    max_length: int | None = None  # text: the schema's limit (default MAX_TEXT / MAX_LONG_TEXT)
    allow_nul: bool = False  # text: whether the NUL character may be stored

    @property
    def text_limit(self) -> int:
        if self.max_length is not None:
            return self.max_length
        return MAX_LONG_TEXT if self.type == "long_text" else MAX_TEXT

    @property
    def writable(self) -> bool:
        """Whether a device or online user may set this field."""
        return not self.read_only and self.type not in COMPUTED_TYPES

    def coerce(self, object_name: str, value: object) -> Any:
        """Return ``value`` checked and normalised for this field, or raise FieldValueError."""
        where = f"{object_name}.{self.name}"
        if value is None or value == "":
            return None
        kind = self.type
        if kind in {"text", "long_text"} or kind in REFERENCE_TYPES:
            if not isinstance(value, str):
                raise FieldValueError(f"{where} must be text, not {type(value).__name__}")
            limit = self.text_limit if kind in {"text", "long_text"} else MAX_TEXT
            if len(value) > limit:
                raise FieldValueError(f"{where} is longer than {limit} characters")
            if LONE_SURROGATE.search(value):
                raise FieldValueError(f"{where} holds a lone surrogate, which is not text")
            if "\x00" in value and not (self.allow_nul and kind in {"text", "long_text"}):
                raise FieldValueError(f"{where} holds a NUL character")
            return value
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FieldValueError(f"{where} must be a number, not {type(value).__name__}")
            if not math.isfinite(value) or abs(value) > 1e12:
                raise FieldValueError(f"{where} must be a finite number below 10^12")
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise FieldValueError(f"{where} must be true or false")
            return value
        if kind == "date":
            if not isinstance(value, str):
                raise FieldValueError(f"{where} must be a date like 2026-11-26")
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                raise FieldValueError(f"{where} must be a date like 2026-11-26") from None
        if kind == "datetime":
            if not isinstance(value, str):
                raise FieldValueError(f"{where} must be a timestamp like 2026-11-26T09:00:00Z")
            try:
                parse_iso(value)
            except ValueError:
                raise FieldValueError(f"{where} must be a timestamp like 2026-11-26T09:00:00Z") from None
            return value
        if kind == "picklist":
            allowed = [v.value for v in self.values]
            if value not in allowed:
                raise FieldValueError(f"{where} must be one of {', '.join(allowed)}")
            return value
        raise FieldValueError(f"{where} is computed by the server and cannot be set")


@dataclass(frozen=True)
class WhereCondition:
    """One condition of a VMOC where clause (see the schema file's header)."""

    kind: Literal["territory", "owner", "within_days", "via", "all"]
    field: str | None = None
    days: int = 0


@dataclass(frozen=True)
class ObjectDef:
    """One object (``account__v``, ``call2__v`` ...) with its fields and rules."""

    name: str
    label: str
    plural: str
    id_prefix: str
    title_field: str
    subtitle_field: str | None
    fields: dict[str, FieldDef]
    where: tuple[WhereCondition, ...]
    validation_rules: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()

    def field(self, name: str) -> FieldDef:
        try:
            return self.fields[name]
        except KeyError:
            raise FieldValueError(f"{self.name} has no field {name!r}") from None

    @property
    def master_field(self) -> FieldDef | None:
        """The master-detail field pointing at this object's master, if it has one."""
        return next((f for f in self.fields.values() if f.type == "master_detail"), None)


@dataclass(frozen=True)
class Family:
    """An AS-05 family: a root object and the members saved with it as one transaction."""

    name: str
    root: str
    members: tuple[str, ...]
    when_root_submitted: Literal["override", "duplicate", "discard"] = "override"

    @property
    def objects(self) -> tuple[str, ...]:
        return (self.root, *self.members)


@dataclass(frozen=True)
class RuleDef:
    """A validation rule or trigger declared in the schema, implemented in logic.py."""

    name: str
    text: str


@dataclass(frozen=True)
class Schema:
    """The whole object model, as loaded and with any published metadata changes applied."""

    objects: dict[str, ObjectDef]
    families: dict[str, Family]
    validation_rules: dict[str, RuleDef]
    triggers: dict[str, RuleDef]
    metadata_version: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def object(self, name: str) -> ObjectDef:
        try:
            return self.objects[name]
        except KeyError:
            raise FieldValueError(f"unknown object {name!r}") from None

    def family_of(self, object_name: str) -> Family | None:
        """The AS-05 family an object belongs to, if any."""
        for family in self.families.values():
            if object_name in family.objects:
                return family
        return None

    def children_of(self, object_name: str) -> list[tuple[str, str]]:
        """(child object, master-detail field) pairs whose master is ``object_name``."""
        out = []
        for obj in self.objects.values():
            master = obj.master_field
            if master is not None and master.target == object_name:
                out.append((obj.name, master.name))
        return out

    def child_references(self) -> list[tuple[str, str]]:
        """(child object, reference field) pairs the save logic follows from a parent to its
        children: every master-detail field (cascades, AS-11 duplicates) and every field a
        roll-up counts or sums over. The server indexes each (see :func:`store.create_tables`)."""
        pairs = {
            (obj.name, f.name)
            for obj in self.objects.values()
            for f in obj.fields.values()
            if f.type == "master_detail"
        }
        pairs |= {
            (f.rollup_child, f.rollup_via)
            for obj in self.objects.values()
            for f in obj.fields.values()
            if f.type == "rollup" and f.rollup_child and f.rollup_via
        }
        return sorted(pairs)

    def with_changes(self, changes: list[dict[str, Any]]) -> Schema:
        """Apply published metadata changes (see :func:`apply_metadata_change`) in order."""
        schema = self
        for change in changes:
            schema = apply_metadata_change(schema, change)
        return schema

    def to_json(self) -> dict[str, Any]:
        """The schema as devices receive it with an incremental sync."""
        return {
            "metadata_version": self.metadata_version,
            "objects": {
                obj.name: {
                    "label": obj.label,
                    "plural": obj.plural,
                    "title": obj.title_field,
                    "subtitle": obj.subtitle_field,
                    "fields": {
                        f.name: {
                            "type": f.type,
                            "label": f.label,
                            "required": f.required,
                            "writable": f.writable,
                            "object": f.target,
                            "default": f.default,
                            "values": [{"value": v.value, "label": v.label} for v in f.values],
                        }
                        for f in obj.fields.values()
                    },
                }
                for obj in self.objects.values()
            },
            "families": {
                fam.name: {
                    "root": fam.root,
                    "members": list(fam.members),
                    "when_root_submitted": fam.when_root_submitted,
                }
                for fam in self.families.values()
            },
        }


def apply_metadata_change(schema: Schema, change: dict[str, Any]) -> Schema:
    """Return ``schema`` with one metadata change applied.

    Supported: ``{"kind": "add_picklist_value", "object", "field", "value", "label"}`` and
    ``{"kind": "relabel_field", "object", "field", "label"}``.
    """
    kind = change.get("kind")
    obj = schema.objects.get(str(change.get("object")))
    if obj is None:
        raise SchemaError(f"metadata change names unknown object {change.get('object')!r}")
    fdef = obj.fields.get(str(change.get("field")))
    if fdef is None:
        raise SchemaError(f"metadata change names unknown field {obj.name}.{change.get('field')}")
    label = str(change.get("label") or "").strip()
    if not label:
        raise SchemaError("metadata change needs a label")
    if kind == "add_picklist_value":
        if fdef.type != "picklist":
            raise SchemaError(f"{obj.name}.{fdef.name} is not a picklist")
        value = str(change.get("value") or "").strip()
        if not value:
            raise SchemaError("add_picklist_value needs a value")
        if any(v.value == value for v in fdef.values):
            raise SchemaError(f"{obj.name}.{fdef.name} already has the value {value!r}")
        new_field = replace(fdef, values=(*fdef.values, PicklistValue(value, label)))
    elif kind == "relabel_field":
        new_field = replace(fdef, label=label)
    else:
        raise SchemaError(f"unknown metadata change kind {kind!r}")
    new_obj = replace(obj, fields={**obj.fields, fdef.name: new_field})
    return replace(
        schema,
        objects={**schema.objects, obj.name: new_obj},
        metadata_version=schema.metadata_version + 1,
    )


def _picklist(where: str, raw: object) -> tuple[PicklistValue, ...]:
    if not isinstance(raw, list) or not raw:
        raise SchemaError(f"{where}: a picklist needs a non-empty list of values")
    out = []
    for item in raw:
        if not isinstance(item, dict) or "value" not in item:
            raise SchemaError(f"{where}: each picklist value needs 'value' and 'label'")
        out.append(PicklistValue(str(item["value"]), str(item.get("label", item["value"]))))
    return tuple(out)


def _field(obj_name: str, name: str, raw: object) -> FieldDef:
    where = f"{obj_name}.{name}"
    if not isinstance(raw, dict):
        raise SchemaError(f"{where}: a field must be a mapping")
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        raise SchemaError(f"{where}: unknown field type {kind!r}")
    fdef = FieldDef(
        name=name,
        type=str(kind),
        label=str(raw.get("label", name)),
        required=bool(raw.get("required", False)),
        read_only=bool(raw.get("read_only", False)),
        default=raw.get("default"),
        target=raw.get("object"),
        formula=raw.get("formula"),
        format=raw.get("format"),
        rollup_child=raw.get("child"),
        rollup_via=raw.get("via"),
        rollup_function=raw.get("function"),
        rollup_field=raw.get("field"),
        max_length=raw.get("max_length"),
        allow_nul=bool(raw.get("allow_nul", False)),
    )
    if fdef.max_length is not None and (
        kind not in {"text", "long_text"}
        or not isinstance(fdef.max_length, int)
        or not 1 <= fdef.max_length <= MAX_LONG_TEXT
    ):
        raise SchemaError(f"{where}: max_length is for text fields, 1 to {MAX_LONG_TEXT}")
    if kind == "picklist":
        fdef = replace(fdef, values=_picklist(where, raw.get("values")))
        if fdef.default is not None and fdef.default not in {v.value for v in fdef.values}:
            raise SchemaError(f"{where}: default {fdef.default!r} is not one of its values")
    if kind in REFERENCE_TYPES and not fdef.target:
        raise SchemaError(f"{where}: a {kind} field needs 'object'")
    if kind == "formula" and not fdef.formula:
        raise SchemaError(f"{where}: a formula field needs 'formula'")
    if kind == "autonumber" and not fdef.format:
        raise SchemaError(f"{where}: an autonumber field needs 'format'")
    if kind == "rollup":
        if not (fdef.rollup_child and fdef.rollup_via) or fdef.rollup_function not in {
            "count",
            "sum",
        }:
            raise SchemaError(f"{where}: a rollup needs 'child', 'via' and function count or sum")
        if fdef.rollup_function == "sum" and not fdef.rollup_field:
            raise SchemaError(f"{where}: a sum rollup needs 'field'")
    return fdef


def _where(obj_name: str, raw: object) -> tuple[WhereCondition, ...]:
    if not isinstance(raw, list) or not raw:
        raise SchemaError(f"{obj_name}: 'where' must be a non-empty list of conditions")
    out = []
    for cond in raw:
        if not isinstance(cond, dict) or len(cond) != 1:
            raise SchemaError(f"{obj_name}: each where condition is a mapping with one key")
        ((kind, arg),) = cond.items()
        if kind in {"territory", "via"}:
            out.append(WhereCondition(kind=kind, field=str(arg)))
        elif kind in {"owner", "all"}:
            out.append(WhereCondition(kind=kind))
        elif kind == "within_days" and isinstance(arg, dict):
            out.append(WhereCondition(kind="within_days", field=str(arg["field"]), days=int(arg["days"])))
        else:
            raise SchemaError(f"{obj_name}: unknown where condition {kind!r}")
    return tuple(out)


def parse_schema(data: object) -> Schema:
    """Build a :class:`Schema` from parsed YAML, refusing anything inconsistent."""
    if not isinstance(data, dict) or not isinstance(data.get("objects"), dict):
        raise SchemaError("the schema needs an 'objects' mapping")
    objects: dict[str, ObjectDef] = {}
    for name, raw in data["objects"].items():
        if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict):
            raise SchemaError(f"{name}: an object needs a 'fields' mapping")
        fields = {fname: _field(name, fname, fraw) for fname, fraw in raw["fields"].items()}
        clash = set(fields) & set(SYSTEM_FIELDS)
        if clash:
            raise SchemaError(f"{name}: {', '.join(sorted(clash))} are standard fields")
        objects[name] = ObjectDef(
            name=name,
            label=str(raw.get("label", name)),
            plural=str(raw.get("plural", raw.get("label", name))),
            id_prefix=str(raw.get("id_prefix", "V00"))[:3].upper().ljust(3, "0"),
            title_field=str(raw.get("title", next(iter(fields)))),
            subtitle_field=raw.get("subtitle"),
            fields=fields,
            where=_where(name, raw.get("where")),
            validation_rules=tuple(raw.get("validation_rules", ())),
            triggers=tuple(raw.get("triggers", ())),
        )
    families = {}
    for fname, raw in (data.get("families") or {}).items():
        family = Family(
            name=fname,
            root=str(raw["root"]),
            members=tuple(raw.get("members", ())),
            when_root_submitted=raw.get("when_root_submitted", "override"),
        )
        if family.when_root_submitted not in {"override", "duplicate", "discard"}:
            raise SchemaError(f"family {fname}: unknown when_root_submitted")
        families[fname] = family
    rules = {n: RuleDef(n, str(r["message"])) for n, r in (data.get("validation_rules") or {}).items()}
    triggers = {n: RuleDef(n, str(r.get("description", n))) for n, r in (data.get("triggers") or {}).items()}
    schema = Schema(objects, families, rules, triggers, raw=cast(dict[str, Any], data))
    _check_references(schema)
    return schema


def _check_references(schema: Schema) -> None:
    for obj in schema.objects.values():
        for f in obj.fields.values():
            if f.target and f.target not in schema.objects:
                raise SchemaError(f"{obj.name}.{f.name}: points at unknown object {f.target}")
            if f.type == "rollup":
                child = schema.objects.get(f.rollup_child or "")
                if child is None or f.rollup_via not in child.fields:
                    raise SchemaError(f"{obj.name}.{f.name}: rollup child or 'via' is unknown")
        for rule in obj.validation_rules:
            if rule not in schema.validation_rules:
                raise SchemaError(f"{obj.name}: validation rule {rule} is not declared")
        for trig in obj.triggers:
            if trig not in schema.triggers:
                raise SchemaError(f"{obj.name}: trigger {trig} is not declared")
        for cond in obj.where:
            if cond.kind in {"territory", "via", "within_days"} and cond.field not in obj.fields:
                raise SchemaError(f"{obj.name}: where clause names unknown field {cond.field}")
    for family in schema.families.values():
        for member in family.objects:
            if member not in schema.objects:
                raise SchemaError(f"family {family.name}: unknown object {member}")


def resources_dir() -> Path:
    """The ``resources/`` folder (installed as the ``autosync_resources`` package)."""
    from autosync_resources import RESOURCES

    return Path(RESOURCES)


def load_schema(path: Path | None = None) -> Schema:
    """Load and check the schema file (the bundled Vault CRM schema by default)."""
    path = path or resources_dir() / "schema" / "vault_crm.yaml"
    with path.open(encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise SchemaError(f"{path}: not valid YAML: {exc}") from None
    try:
        return parse_schema(data)
    except SchemaError as exc:
        raise SchemaError(f"{path}: {exc}") from None
