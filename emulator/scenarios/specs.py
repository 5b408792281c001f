"""How a scenario file writes each value: one declaration, read, written, published.

Every step, check and value class of the scenario language (:mod:`emulator.scenarios.model`)
declares its YAML keys on its fields, as ``Annotated`` metadata::

    @dataclass(frozen=True, kw_only=True)
    class Network(ControlAction):
        kind: ClassVar[str] = "network"
        mode: Annotated[NetworkMode, Subject(Choice(NETWORK_MODES), "online, offline or lie-fi")]
        latency: Annotated[timedelta | None, Key(Duration(allow_zero=True), "added to each request")] = None

A :class:`Key` names the YAML key and its :class:`Spec` (what the value looks like); a
:class:`Subject` is the value of the class's own key (``network: offline``). From these
declarations alone the loader reads a file (:meth:`Spec.read`, through the loader's
:class:`Reading`), the writer writes one back (:meth:`Spec.plain`), and
:mod:`emulator.scenarios.reference` publishes the JSON Schema (:meth:`Spec.schema`) and the
reference ``docs/scenarios.md``. What the runner and the describer do with a value is theirs.
"""

from __future__ import annotations

import dataclasses
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import NoReturn, Protocol, get_type_hints

from yaml.nodes import Node

#: JSON values (a JSON Schema is one).
JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]
JsonObject = dict[str, JsonValue]

#: A record name (``records:`` or ``as:``); a device ID.
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,60}$"
DEVICE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,40}$"
NAME = re.compile(NAME_PATTERN)
DEVICE_ID = re.compile(DEVICE_PATTERN)
#: Field values: text, numbers, true / false or nothing (null).
SCALAR_SCHEMA: JsonObject = {"type": ["string", "number", "boolean", "null"]}
#: YAML 1.1 (what the loader reads) spells true and false also as yes / no / on / off.
YAML_BOOLEANS = ("yes", "no", "on", "off", "Yes", "No", "On", "Off", "YES", "NO", "ON", "OFF")
BOOLEAN_SCHEMA: JsonObject = {"anyOf": [{"type": "boolean"}, {"enum": list(YAML_BOOLEANS)}]}


# durations ----------------------------------------------------------------------------------------
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION_PATTERN = r"^\s*(\d+(\.\d+)?\s*(ms|d|h|m|s)\s*)+$"
STEPS_PATTERN = r"^\s*\d+\s*steps?\s*$"
STEPS = re.compile(STEPS_PATTERN)
NUMBER_OF_SECONDS: JsonObject = {"type": "number", "minimum": 0}
DURATION_TEXT: JsonObject = {"type": "string", "pattern": DURATION_PATTERN}


def parse_duration(value: object) -> timedelta:
    """``30s``, ``5m``, ``2h``, ``7d``, ``7d 1s``, ``1m30s``, ``500ms`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    text = str(value).strip().lower()
    pos, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if text[pos : match.start()].strip():
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f"{value!r} is not a duration (write it like 30s, 5m, 2h, 7d or 1m30s)")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    total = delta.total_seconds()
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if total >= size:
            n = int(total // size)
            parts.append(f"{n}{unit}")
            total -= n * size
    if total or not parts:
        parts.append(f"{total:g}s")
    return " ".join(parts)


# reading --------------------------------------------------------------------------------------------
class Reading(Protocol):
    """What a :class:`Spec` reads with: the loader, which knows the file read so far."""

    def fail(self, node: Node | None, problem: str) -> NoReturn: ...
    def value(self, node: Node) -> object: ...
    def scalar(self, node: Node, what: str) -> object: ...
    def number(self, node: Node, what: str) -> float: ...
    def sequence(self, node: Node, what: str) -> list[Node]: ...
    def text(self, node: Node, what: str) -> str: ...
    def integer(self, node: Node, what: str, minimum: int = 0) -> int: ...
    def boolean(self, node: Node, what: str) -> bool: ...
    def switch(self, node: Node, what: str) -> bool: ...
    def choice(self, node: Node, what: str, choices: Sequence[str]) -> str: ...
    def duration(self, node: Node, what: str, *, allow_zero: bool = False) -> timedelta: ...
    def fraction(self, node: Node, what: str) -> float: ...
    def ref(self, node: Node, what: str) -> object: ...
    def known_object(self, node: Node, name: object) -> str: ...
    def field_name(self, node: Node, what: str) -> str: ...
    def device_id(self, node: Node, what: str) -> str: ...
    def user(self, node: Node, what: str) -> str: ...
    def territory(self, node: Node, what: str) -> str: ...
    def bind(self, node: Node) -> str: ...
    def field_values(self, node: Node, what: str, *, matchers: bool) -> Mapping[str, object]: ...
    def nested(self, cls: type, node: Node, what: str) -> object: ...
    def children(self, node: Node) -> tuple[object, ...]: ...
    def sends(self, node: Node) -> Mapping[str, object]: ...
    def conflicts(self, node: Node) -> Mapping[str, Mapping[str, object]]: ...
    def child_counts(self, node: Node) -> Mapping[str, int]: ...
    def place(self, node: Node, *, online: bool) -> str: ...
    def event_place(self, node: Node) -> str: ...
    def refused(self, node: Node) -> str | None: ...
    def during(self, node: Node) -> int | timedelta: ...


# specs ----------------------------------------------------------------------------------------------
class Spec(ABC):
    """What one value in a scenario file looks like."""

    @abstractmethod
    def words(self) -> str:
        """How the value is written, in a few words (for the reference)."""

    def read(self, r: Reading, node: Node, what: str) -> object:
        """The value at ``node``, checked (``r.fail`` with the node's line if it is wrong)."""
        raise NotImplementedError(f"the loader reads {what} itself")

    @abstractmethod
    def schema(self) -> JsonObject:
        """The value as JSON Schema."""

    def plain(self, value: object) -> object:
        """The value as YAML data (what the writer writes)."""
        return plain(value)


@dataclass(frozen=True)
class Value(Spec):
    """A field value: text, a number, true / false or null."""

    def words(self) -> str:
        return "a value: text, a number, true / false or null"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.scalar(node, what)

    def schema(self) -> JsonObject:
        return dict(SCALAR_SCHEMA)


@dataclass(frozen=True)
class Number(Spec):
    def words(self) -> str:
        return "a number"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.number(node, what)

    def schema(self) -> JsonObject:
        return {"type": "number"}


@dataclass(frozen=True)
class Moment(Spec):
    def words(self) -> str:
        return "a time like `2026-11-26T09:00:00Z` (UTC when no offset is given)"

    def schema(self) -> JsonObject:
        return {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class StepList(Spec):
    def words(self) -> str:
        return "a list of steps (see Steps)"

    def schema(self) -> JsonObject:
        return {"type": "array", "items": {"$ref": "#/$defs/step"}}


@dataclass(frozen=True)
class Records(Spec):
    def words(self) -> str:
        return "`{NAME: {object: OBJECT, where: {FIELD: VALUE}}}`: names for records, each found by a lookup"

    def schema(self) -> JsonObject:
        return {
            "type": "object",
            "propertyNames": {"pattern": NAME_PATTERN},
            "additionalProperties": {"$ref": "#/$defs/lookup"},
        }


@dataclass(frozen=True)
class Expect(Spec):
    def words(self) -> str:
        return "a list of checks (or one check) (see Checks)"

    def schema(self) -> JsonObject:
        check: JsonObject = {"$ref": "#/$defs/check"}
        return {"anyOf": [{"type": "array", "items": check}, check]}


@dataclass(frozen=True)
class Text(Spec):
    def words(self) -> str:
        return "text"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.text(node, what)

    def schema(self) -> JsonObject:
        return {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class Choice(Spec):
    options: tuple[str, ...]
    summary: str | None = None  # in the reference, instead of every option

    def words(self) -> str:
        return self.summary or "one of " + ", ".join(f"`{o}`" for o in self.options)

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.choice(node, what, self.options)

    def schema(self) -> JsonObject:
        options: list[JsonValue] = list(self.options)
        # YAML 1.1 reads an unquoted on / off as true / false; the loader takes them back.
        options += [value for word, value in (("on", True), ("off", False)) if word in self.options]
        return {"enum": options}


@dataclass(frozen=True)
class Whole(Spec):
    minimum: int = 0

    def words(self) -> str:
        return f"a whole number, at least {self.minimum}"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.integer(node, what, self.minimum)

    def schema(self) -> JsonObject:
        return {"type": "integer", "minimum": self.minimum}


@dataclass(frozen=True)
class Boolean(Spec):
    def words(self) -> str:
        return "`true` or `false`"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.boolean(node, what)

    def schema(self) -> JsonObject:
        return dict(BOOLEAN_SCHEMA)


@dataclass(frozen=True)
class Switch(Spec):
    def words(self) -> str:
        return "`on` or `off`"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.switch(node, what)

    def schema(self) -> JsonObject:
        return dict(BOOLEAN_SCHEMA)


@dataclass(frozen=True)
class Duration(Spec):
    allow_zero: bool = False

    def words(self) -> str:
        return "a duration: `30s`, `5m`, `2h`, `7d`, `1m30s`, `500ms` or a number of seconds"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.duration(node, what, allow_zero=self.allow_zero)

    def schema(self) -> JsonObject:
        return {"anyOf": [NUMBER_OF_SECONDS, DURATION_TEXT]}


@dataclass(frozen=True)
class Fraction(Spec):
    def words(self) -> str:
        return "a number from 0 to 1"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.fraction(node, what)

    def schema(self) -> JsonObject:
        return {"type": "number", "minimum": 0, "maximum": 1}


@dataclass(frozen=True)
class Ref(Spec):
    def words(self) -> str:
        return "a record: its name, or a lookup `{object: OBJECT, where: {FIELD: VALUE}}`"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.ref(node, what)

    def schema(self) -> JsonObject:
        return {"anyOf": [{"type": "string", "pattern": NAME_PATTERN}, {"$ref": "#/$defs/lookup"}]}


@dataclass(frozen=True)
class ObjectName(Spec):
    def words(self) -> str:
        return "an object of the object schema (`account__v`, `call2__v` ...)"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.known_object(node, r.value(node))

    def schema(self) -> JsonObject:
        return {"$ref": "#/$defs/object"}


@dataclass(frozen=True)
class FieldName(Spec):
    def words(self) -> str:
        return "a field of the object"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.field_name(node, what)

    def schema(self) -> JsonObject:
        return {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class DeviceId(Spec):
    def words(self) -> str:
        return "a device ID (lower-case letters, digits and dashes)"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.device_id(node, what)

    def schema(self) -> JsonObject:
        return {"type": "string", "pattern": DEVICE_PATTERN}


@dataclass(frozen=True)
class UserId(Spec):
    def words(self) -> str:
        return "a user ID (the sample world's users are `anna`, `ben` and `chloe`)"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.user(node, what)

    def schema(self) -> JsonObject:
        return {"$ref": "#/$defs/user"}


@dataclass(frozen=True)
class Territory(Spec):
    def words(self) -> str:
        return "a territory (the sample world's are `T-NE` and `T-WC`)"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.territory(node, what)

    def schema(self) -> JsonObject:
        return {"$ref": "#/$defs/territory"}


@dataclass(frozen=True)
class Bind(Spec):
    def words(self) -> str:
        return "a new record name: letters, digits, `_` and `-`"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.bind(node)

    def schema(self) -> JsonObject:
        return {"type": "string", "pattern": NAME_PATTERN}


@dataclass(frozen=True)
class FieldValues(Spec):
    """``{FIELD: VALUE}``; with ``matchers``, a value may also be a matcher."""

    matchers: bool = False

    def words(self) -> str:
        tail = ", or a matcher" if self.matchers else ""
        return f"`{{FIELD: VALUE}}`: a value is text, a number, true / false or null{tail}"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.field_values(node, what, matchers=self.matchers)

    def schema(self) -> JsonObject:
        value: JsonObject = {"$ref": "#/$defs/field_check"} if self.matchers else dict(SCALAR_SCHEMA)
        return {"type": "object", "additionalProperties": value}


@dataclass(frozen=True)
class ListOf(Spec):
    item: Spec
    minimum: int = 0

    def words(self) -> str:
        least = f" (at least {self.minimum})" if self.minimum else ""
        return f"a list{least}; each item {self.item.words()}"

    def read(self, r: Reading, node: Node, what: str) -> object:
        items = tuple(self.item.read(r, n, what) for n in r.sequence(node, what))
        if len(items) < self.minimum:
            r.fail(node, f"{what} needs at least {self.minimum} items")
        return items

    def schema(self) -> JsonObject:
        out: JsonObject = {"type": "array", "items": self.item.schema()}
        if self.minimum:
            out["minItems"] = self.minimum
        return out

    def plain(self, value: object) -> object:
        assert isinstance(value, Sequence)
        return [self.item.plain(v) for v in value]


@dataclass(frozen=True)
class Nested(Spec):
    """A mapping read into ``cls`` by its declared keys; ``name``: its definition in the schema."""

    cls: type
    name: str

    def words(self) -> str:
        keys = ", ".join(f"`{d.key}:`" for d in declared(self.cls))
        return f"a mapping with {keys}"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.nested(self.cls, node, what)

    def schema(self) -> JsonObject:
        return {"$ref": f"#/$defs/{self.name}"}


@dataclass(frozen=True)
class Children(Spec):
    def words(self) -> str:
        return "a list of `add: OBJECT`, `edit: RECORD` and `remove: RECORD` (see Child records)"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.children(node)

    def schema(self) -> JsonObject:
        return {"type": "array", "items": {"$ref": "#/$defs/child"}}


@dataclass(frozen=True)
class Sends(Spec):
    def words(self) -> str:
        return "`{FIELD: {old: VALUE, new: VALUE}}`"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.sends(node)

    def schema(self) -> JsonObject:
        return {"type": "object", "additionalProperties": {"$ref": "#/$defs/sent"}}


@dataclass(frozen=True)
class Conflicts(Spec):
    def words(self) -> str:
        return (
            "`{FIELD: {previous: VALUE, online: VALUE, new: VALUE}}`: any of the three; "
            "a value may be a matcher"
        )

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.conflicts(node)

    def schema(self) -> JsonObject:
        part: JsonObject = {"$ref": "#/$defs/field_check"}
        values: JsonObject = {
            "type": "object",
            "properties": {"previous": part, "online": part, "new": part},
            "additionalProperties": False,
            "minProperties": 1,
        }
        return {"type": "object", "additionalProperties": values}


@dataclass(frozen=True)
class ChildCounts(Spec):
    def words(self) -> str:
        return "`{CHILD_OBJECT: N}`: how many records of each child object the record has"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.child_counts(node)

    def schema(self) -> JsonObject:
        return {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}


@dataclass(frozen=True)
class Place(Spec):
    """Where a check looks: a device (or ``online``, when ``online``)."""

    online: bool = True

    def words(self) -> str:
        return "a device ID or `online`" if self.online else "a device ID"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.place(node, online=self.online)

    def schema(self) -> JsonObject:
        device: JsonObject = {"type": "string", "pattern": DEVICE_PATTERN}
        return {"anyOf": [device, {"const": "online"}]} if self.online else device


@dataclass(frozen=True)
class EventPlace(Spec):
    def words(self) -> str:
        return "who: a device ID, `online`, `stage`, `server` or `feed:USER`"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.event_place(node)

    def schema(self) -> JsonObject:
        return {
            "anyOf": [
                {"type": "string", "pattern": DEVICE_PATTERN},
                {"enum": ["online", "stage", "server"]},
                {"type": "string", "pattern": "^feed:.+$"},
            ]
        }


@dataclass(frozen=True)
class Refused(Spec):
    def words(self) -> str:
        return "`true` (for any reason) or a part of the reason the user reads"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.refused(node)

    def schema(self) -> JsonObject:
        return {"anyOf": [{"const": True}, {"type": "string", "minLength": 1}]}

    def plain(self, value: object) -> object:
        return True if value is None else value


@dataclass(frozen=True)
class During(Spec):
    def words(self) -> str:
        return "`N steps` (this step and the ones after it) or a duration of emulated time"

    def read(self, r: Reading, node: Node, what: str) -> object:
        return r.during(node)

    def schema(self) -> JsonObject:
        return {"anyOf": [NUMBER_OF_SECONDS, DURATION_TEXT, {"type": "string", "pattern": STEPS_PATTERN}]}

    def plain(self, value: object) -> object:
        if isinstance(value, int):
            return f"{value} step" + ("" if value == 1 else "s")
        return plain(value)


# declarations ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    """A field's YAML key: what it is called, what its value looks like, what it means.

    A field without a default is required (unless ``optional``: the loader fills it in): the
    loader says ``KIND: needs NEEDS`` (``needs`` defaults to ``KEY:``). ``from_step``: when
    missing, the step's device.
    """

    spec: Spec
    doc: str
    key: str | None = None
    needs: str | None = None
    what: str | None = None
    from_step: bool = False
    optional: bool = False  # may be left out although the class needs it: the loader fills it in


@dataclass(frozen=True)
class Subject(Key):
    """The value of the class's own key: ``open: harper``, ``queue: pro``, ``network: offline``."""


@dataclass(frozen=True)
class Declared:
    """One declared field of a class, resolved."""

    name: str  # the attribute
    key: str  # the YAML key
    meta: Key
    required: bool
    default: object

    @property
    def subject(self) -> bool:
        return isinstance(self.meta, Subject)

    @property
    def what(self) -> str:
        return self.meta.what or self.key


_MISSING = object()
_DECLARED: dict[type, tuple[Declared, ...]] = {}


def declared(cls: type) -> tuple[Declared, ...]:
    """The fields of ``cls`` that a scenario file writes, in declaration order."""
    if cls not in _DECLARED:
        _DECLARED[cls] = _declare(cls)
    return _DECLARED[cls]


def _declare(cls: type) -> tuple[Declared, ...]:
    hints = get_type_hints(cls, include_extras=True)
    out = []
    for f in dataclasses.fields(cls):
        meta = next((m for m in getattr(hints[f.name], "__metadata__", ()) if isinstance(m, Key)), None)
        if meta is None:
            continue
        if f.default is not dataclasses.MISSING:
            default: object = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = _MISSING
        key = getattr(cls, "kind", f.name) if isinstance(meta, Subject) else (meta.key or f.name)
        required = default is _MISSING and not (meta.optional or meta.from_step)
        out.append(Declared(f.name, key, meta, required, default))
    return tuple(out)


def is_payload(cls: type) -> bool:
    """A class whose own key holds a mapping of its fields (``sync_settings: {user: anna, ...}``)."""
    return bool(getattr(cls, "payload", False))


def fields_data(obj: object) -> dict[str, object]:
    """The declared fields of ``obj`` that differ from their default, as YAML data."""
    out: dict[str, object] = {}
    for d in declared(type(obj)):
        value = getattr(obj, d.name)
        if d.subject or (d.default is not _MISSING and value == d.default):
            continue
        out[d.key] = d.meta.spec.plain(value)
    return out


def tagged_data(obj: object) -> dict[str, object]:
    """An object of a tagged class (a step's action, a check, a child, a matcher) as YAML data."""
    cls = type(obj)
    kind: str = getattr(cls, "kind")  # noqa: B009  # every tagged class has one
    if is_payload(cls):
        return {kind: fields_data(obj)}
    subject = next((d for d in declared(cls) if d.subject), None)
    head = True if subject is None else subject.meta.spec.plain(getattr(obj, subject.name))
    return {kind: head, **fields_data(obj)}


def plain(value: object) -> object:
    """A value of the language (a step, a check, a ref, a duration ...) as YAML data."""
    if isinstance(value, timedelta):
        return format_duration(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return tagged_data(value) if hasattr(type(value), "kind") else fields_data(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
