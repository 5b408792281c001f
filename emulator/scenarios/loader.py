"""Reading scenario files: YAML in, a checked :class:`~emulator.scenarios.model.Scenario` out.

The YAML is composed into nodes (which keep their line numbers) and read by the declarations
of the language's classes (:mod:`emulator.scenarios.specs`): each step's key picks its action
class, each check's key its check class, and each declared key is read by its spec. So a bad
file is refused before anything runs with ``FILE:LINE: what is wrong``: an unknown step or
check, an unknown device, user, record or field name, a bad duration, an unknown rule ID, a
missing title ... Everything is reported through one exception, :class:`ScenarioFileError`.

What only the file as a whole can tell is checked as it is read: the records named so far
(``records:`` and ``as:``), the edit screen open on each device (for ``set:`` and ``save:``),
and, for a scenario played on the embedded server, the sample world's users and territories
(``embedded=False`` for a standalone server, which may have others).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NoReturn, TypeVar, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from emulator.engine.profile import MODELS, ios_major
from emulator.errors import ScenarioError
from emulator.scenarios.actions import (
    ACTIONS,
    FINISHES,
    Action,
    ActionKind,
    Cancel,
    Edit,
    Join,
    New,
    Save,
    SetFields,
    Submit,
)
from emulator.scenarios.checks import CHECKS, CheckKind, RecordCheck
from emulator.scenarios.model import DeviceSpec, Scenario, Step
from emulator.scenarios.specs import (
    DEVICE_ID,
    NAME,
    STEPS,
    ObjectName,
    Place,
    Ref,
    declared,
    is_payload,
    parse_duration,
)
from emulator.scenarios.values import (
    CHILD_CHANGES,
    CONFLICT_PARTS,
    MATCHERS,
    ONLINE,
    RULE_IDS,
    Child,
    FieldCheck,
    Lookup,
    RecordRef,
    Scalar,
    Sent,
)

__all__ = ["DEVICE_ID", "NAME", "ScenarioFileError", "StepReader", "load_scenario", "parse_scenario"]

#: libyaml's loader where PyYAML was built with it: a few times faster, with the same nodes and lines.
_FastLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TOP_KEYS = ("title", "description", "rules", "seed", "start", "devices", "records", "setup", "steps")
STANDARD_FIELDS = frozenset(
    {"id", "ownerid__v", "created_date__v", "created_by__v", "modified_date__v", "modified_by__v", "_version"}
)
#: ``record`` names a check only when no other check key is present (it is an option of several).
CHECK_PRIORITY: tuple[str, ...] = (*(k for k in CHECKS if k != "record"), "record")
EVENT_ACTORS = ("online", "stage", "server")
CHILD_WHAT = {"add": "a child added", "edit": "a child edited", "remove": "a child removed"}
T = TypeVar("T")


class ScenarioFileError(ScenarioError):
    """A scenario file that cannot be run; ``str(exc)`` is ``FILE:LINE: what is wrong``."""

    def __init__(self, source: str, line: int, problem: str) -> None:
        super().__init__(f"{source}:{line}: {problem}")
        self.source = source
        self.line = line
        self.problem = problem


def library_dir() -> Path:
    """The scenario library shipped in ``resources/scenarios``."""
    from autosync_resources import RESOURCES

    return Path(RESOURCES) / "scenarios"


def load_scenario(path: str | Path, *, embedded: bool = True) -> Scenario:
    """Read and check one scenario file (``embedded``: to be played on the embedded server)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError(str(path), 0, f"cannot read the file: {exc.strerror or exc}") from None
    return parse_scenario(text, source=str(path), path=path, embedded=embedded)


def parse_scenario(
    text: str, *, source: str = "<scenario>", path: Path | None = None, embedded: bool = True
) -> Scenario:
    """Check and build a scenario from YAML text."""
    world = sample_world() if embedded else None
    return _Reader(source, world).scenario(_compose(text, source), path)


# what the file is checked against ------------------------------------------------------------------
@dataclass(frozen=True)
class ObjectSchema:
    """Each object's field names, and which objects are details of which (master_detail)."""

    fields: Mapping[str, frozenset[str]]
    masters: Mapping[str, tuple[str, str]]  # detail object -> (its master_detail field, the master object)

    def children(self, master: str) -> list[str]:
        return sorted(child for child, (_, parent) in self.masters.items() if parent == master)


@dataclass(frozen=True)
class World:
    """The users and territories the embedded server has (the sample world)."""

    users: tuple[str, ...]
    territories: tuple[str, ...]


@functools.cache
def object_schema() -> ObjectSchema:
    """The bundled object schema (empty if it is not there)."""
    schema_path = library_dir().parent / "schema" / "vault_crm.yaml"
    if not schema_path.is_file():
        return ObjectSchema({}, {})
    data = yaml.load(schema_path.read_text(encoding="utf-8"), Loader=_FastLoader)
    objects: dict[str, dict[str, dict[str, object]]] = {
        name: dict(obj.get("fields", {})) for name, obj in data.get("objects", {}).items()
    }
    masters = {
        name: (field, str(spec["object"]))
        for name, fields in objects.items()
        for field, spec in fields.items()
        if spec.get("type") == "master_detail"
    }
    return ObjectSchema(
        {name: frozenset(fields) | STANDARD_FIELDS for name, fields in objects.items()}, masters
    )


@functools.cache
def sample_world() -> World:
    """The users and territories of the bundled sample data (what the embedded server starts with)."""
    sample_path = library_dir().parent / "sample" / "sample_data.yaml"
    text = sample_path.read_text(encoding="utf-8") if sample_path.is_file() else "{}"
    data = yaml.load(text, Loader=_FastLoader)
    users = tuple(str(u["id"]) for u in data.get("users", []))
    return World(users, tuple(str(t) for t in data.get("territories", {})))


def _choices(values: Iterable[str]) -> str:
    return ", ".join(values)


def _compose(text: str, source: str) -> Node:
    try:
        root = yaml.compose(text, Loader=_FastLoader)
    except yaml.YAMLError:
        root = None  # told again by the pure-Python loader below, whose messages the docs show
    else:
        if root is None:
            raise ScenarioFileError(source, 1, "the file is empty")
        return root
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ScenarioFileError(source, line, f"not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ScenarioFileError(source, 0, f"not valid YAML: {exc}") from None
    if root is None:
        raise ScenarioFileError(source, 1, "the file is empty")
    return root


def _construct(cls: type[T], values: Mapping[str, object]) -> T:
    """An instance of a declared class from the values its specs read (each of its declared type)."""
    make = cast(Callable[..., T], cls)
    return make(**values)


class _Reader:
    """Reads a scenario's nodes by the language's declarations; remembers what the file named so far.

    It is the :class:`~emulator.scenarios.specs.Reading` every spec reads with.
    """

    def __init__(self, source: str, world: World | None) -> None:
        self.source = source
        self.world = world
        self.constructor = yaml.SafeLoader("")
        self.devices: dict[str, DeviceSpec] = {}
        self.refs: dict[str, str | None] = {}  # name -> object (None if not known)
        self.editing: dict[str, str | None] = {}  # device -> object on its edit screen
        self.object_name: str | None = None  # whose fields the keys read now name
        self.step_device: str | None = None  # the device of the step being read

    # helpers ----------------------------------------------------------------------------------
    def fail(self, node: Node | None, problem: str) -> NoReturn:
        line = node.start_mark.line + 1 if node is not None else 0
        raise ScenarioFileError(self.source, line, problem)

    def mapping(self, node: Node, what: str) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            self.fail(node, f"{what} must be a mapping (key: value lines)")
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            if not isinstance(key, str):
                self.fail(key_node, f"{what}: keys must be words, not {key!r}")
            if key in out:
                self.fail(key_node, f"{what}: {key!r} is given twice")
            out[key] = (key_node, value_node)
        return out

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{what} must be a list")
        return list(node.value)

    def value(self, node: Node) -> object:
        return cast(object, self.constructor.construct_object(node, deep=True))

    def scalar(self, node: Node, what: str) -> Scalar:
        """A field value: text, a number, true / false or null (an unquoted date stays text)."""
        value = self.value(node)
        if isinstance(value, date):  # an unquoted 2026-12-01 is a date to YAML
            value = value.isoformat()
        if not isinstance(value, str | int | float | bool | None):
            self.fail(node, f"{what}: a field value must be a single value")
        self.check_at_refs(node, value)
        return value

    def number(self, node: Node, what: str) -> float:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(node, f"{what} must be a number, not {value!r}")
        return value

    def text(self, node: Node, what: str, *, raw: bool = False) -> str:
        if not isinstance(node, ScalarNode):
            self.fail(node, f"{what} must be a single value")
        value = node.value if raw else self.value(node)
        if raw and node.tag.endswith(":null"):
            value = None
        if not isinstance(value, str) or not value.strip():
            self.fail(node, f"{what} must be some text")
        return value

    def integer(self, node: Node, what: str, minimum: int = 0) -> int:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(node, f"{what} must be a whole number of at least {minimum}, not {value!r}")
        return value

    def boolean(self, node: Node, what: str) -> bool:
        value = self.value(node)
        if not isinstance(value, bool):
            self.fail(node, f"{what} must be true or false, not {value!r}")
        return value

    def switch(self, node: Node, what: str) -> bool:
        """``on`` / ``off`` (YAML reads them as true / false; either spelling is fine)."""
        value = self.value(node)
        if isinstance(value, str) and value.strip().lower() in ("on", "off"):
            return value.strip().lower() == "on"
        if not isinstance(value, bool):
            self.fail(node, f"{what} must be on or off, not {value!r}")
        return value

    def choice(self, node: Node, what: str, choices: Sequence[str]) -> str:
        value = self.value(node)
        if isinstance(value, bool) and ("on" if value else "off") in choices:
            return "on" if value else "off"  # YAML reads an unquoted on / off as true / false
        if value not in choices:
            self.fail(node, f"{what} must be one of {_choices(choices)}, not {value!r}")
        return cast(str, value)

    def duration(self, node: Node, what: str, *, allow_zero: bool = False) -> timedelta:
        try:
            delta = parse_duration(self.value(node))
        except ValueError as exc:
            self.fail(node, f"bad duration for {what}: {exc}")
        if delta.total_seconds() <= 0 and not (allow_zero and delta.total_seconds() == 0):
            self.fail(node, f"{what} must be longer than zero")
        return delta

    def fraction(self, node: Node, what: str) -> float:
        value = self.value(node)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            self.fail(node, f"{what} must be a number from 0 to 1, not {value!r}")
        return float(value)

    def moment(self, node: Node, what: str) -> datetime:
        """An emulated time like ``2026-11-26T09:00:00Z`` (UTC when no offset is given)."""
        value = self.value(node)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                self.fail(node, f"{what} must be a time like 2026-11-26T09:00:00Z, not {value!r}")
        if not isinstance(value, datetime):
            self.fail(node, f"{what} must be a time like 2026-11-26T09:00:00Z, not {value!r}")
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def flag(self, node: Node, what: str) -> None:
        """An action without a value: ``save:`` (empty) or ``save: true``."""
        value = self.value(node)
        if value not in (None, True):
            self.fail(node, f"{what} takes no value (write `{what}:` or `{what}: true`)")

    def unknown_keys(self, keys: dict[str, tuple[Node, Node]], allowed: Iterable[str], what: str) -> None:
        allowed_set = set(allowed)
        for key, (key_node, _) in keys.items():
            if key not in allowed_set:
                self.fail(key_node, f"unknown key {key!r} in {what} (known: {_choices(sorted(allowed_set))})")

    # names --------------------------------------------------------------------------------------
    def known_object(self, node: Node, name: object) -> str:
        objects = object_schema().fields
        if not isinstance(name, str) or not name:
            self.fail(node, f"an object name is needed, not {name!r}")
        if objects and name not in objects:
            self.fail(node, f"unknown object {name!r}")
        return name

    def known_fields(self, node: Node, object_name: str | None, names: Iterable[str]) -> None:
        fields = object_schema().fields.get(object_name or "")
        if not fields:
            return
        for name in names:
            if name not in fields:
                self.fail(node, f"{object_name} has no field {name!r}")

    def field_name(self, node: Node, what: str) -> str:
        """A field of the object read last."""
        name = self.text(node, what)
        self.known_fields(node, self.object_name, [name])
        return name

    def device_id(self, node: Node, what: str) -> str:
        value = self.value(node)
        if value not in self.devices:
            known = _choices(self.devices) or "none"
            self.fail(node, f"{what}: unknown device {value!r} (devices: {known})")
        return value

    def user(self, node: Node, what: str) -> str:
        name = self.text(node, what)
        if self.world is not None and name not in self.world.users:
            users = _choices(self.world.users)
            self.fail(node, f"{what}: no user {name!r} on the embedded server (its users: {users})")
        return name

    def territory(self, node: Node, what: str) -> str:
        name = self.text(node, what)
        if self.world is not None and name not in self.world.territories:
            known = _choices(self.world.territories)
            self.fail(
                node, f"{what}: no territory {name!r} on the embedded server (its territories: {known})"
            )
        return name

    # values that name records -------------------------------------------------------------------
    def ref(self, node: Node, what: str) -> RecordRef:
        if isinstance(node, MappingNode):
            return self.lookup(node, what)
        name = self.text(node, what)
        if name not in self.refs:
            known = _choices(self.refs) or "none yet"
            self.fail(node, f"{what}: no record called {name!r} (named so far: {known})")
        return name

    def ref_object(self, ref: RecordRef) -> str | None:
        return ref.object if isinstance(ref, Lookup) else self.refs.get(ref)

    def lookup(self, node: Node, what: str) -> Lookup:
        keys = self.mapping(node, what)
        self.unknown_keys(keys, ("object", "where"), f"{what} (a lookup)")
        if "object" not in keys or "where" not in keys:
            self.fail(node, f"{what}: a lookup needs object: and where:")
        object_name = self.known_object(keys["object"][1], self.value(keys["object"][1]))
        saved, self.object_name = self.object_name, object_name
        try:
            where = self.field_values(keys["where"][1], f"{what} where", matchers=False)
        finally:
            self.object_name = saved
        if not where:
            self.fail(keys["where"][1], f"{what}: where: needs at least one field")
        return Lookup(object=object_name, where=cast(Mapping[str, Scalar], where))

    def field_values(self, node: Node, what: str, *, matchers: bool) -> dict[str, FieldCheck]:
        """``{FIELD: VALUE}`` of the object read last; with ``matchers``, a value may be a matcher."""
        keys = self.mapping(node, what)
        self.known_fields(node, self.object_name, keys)
        out: dict[str, FieldCheck] = {}
        for name, (_, value_node) in keys.items():
            out[name] = self.field_check(value_node, name) if matchers else self.scalar(value_node, name)
        return out

    def field_check(self, node: Node, name: str) -> FieldCheck:
        if not isinstance(node, MappingNode):
            return self.scalar(node, name)
        keys = self.mapping(node, name)
        kinds = {cls.kind: cls for cls in MATCHERS}
        if len(keys) != 1 or next(iter(keys)) not in kinds:
            self.fail(node, f"{name}: a matcher is one of {_choices(sorted(kinds))}")
        ((kind, (_, own)),) = keys.items()
        return self.tagged(kinds[kind], keys, node, kind, own)

    def check_at_refs(self, node: Node, value: object) -> None:
        """``"@name"`` in a value must name a record known at this point."""
        named = isinstance(value, str) and value.startswith("@") and not value.startswith("@@")
        if named and str(value)[1:] not in self.refs:
            known = _choices(self.refs) or "none yet"
            self.fail(node, f"{value!r}: no record called {str(value)[1:]!r} (named so far: {known})")

    def bind(self, node: Node) -> str:
        name = self.text(node, "as")
        if not NAME.match(name):
            self.fail(node, f"as: {name!r} is not a usable name (letters, digits, _ and -)")
        self.refs[name] = self.object_name
        return name

    # declared classes ---------------------------------------------------------------------------
    def fields(
        self, cls: type, keys: dict[str, tuple[Node, Node]], node: Node, owner: str, subject: Node | None
    ) -> dict[str, object]:
        """The values of ``cls``'s declared keys among ``keys`` (its own key's value is ``subject``).

        A record or an object read names the object whose fields the keys after it name.
        """
        saved = self.object_name
        values: dict[str, object] = {}
        try:
            for d in declared(cls):
                if d.subject:
                    assert subject is not None
                    value_node = subject
                elif d.key in keys:
                    value_node = keys[d.key][1]
                elif d.meta.from_step:
                    values[d.name] = self.from_step(d.meta.spec, node)
                    continue
                elif d.required:
                    self.fail(node, f"{owner}: needs {d.meta.needs or d.key + ':'}")
                else:
                    continue
                values[d.name] = value = d.meta.spec.read(self, value_node, d.what)
                if isinstance(d.meta.spec, Ref):
                    self.object_name = self.ref_object(cast(RecordRef, value))
                elif isinstance(d.meta.spec, ObjectName):
                    self.object_name = cast(str, value)
        finally:
            self.object_name = saved
        return values

    def tagged(
        self, cls: type[T], keys: dict[str, tuple[Node, Node]], node: Node, owner: str, own: Node
    ) -> T:
        """An object of a class named by its own key (a matcher, a child, a check)."""
        return _construct(cls, self.fields(cls, keys, node, owner, own))

    def nested(self, cls: type, node: Node, what: str) -> object:
        """A mapping of ``cls``'s declared keys (an event pattern, a query)."""
        keys = self.mapping(node, what)
        self.unknown_keys(keys, [d.key for d in declared(cls)], what)
        return _construct(cls, self.fields(cls, keys, node, what, None))

    def from_step(self, spec: object, node: Node) -> str:
        """A check's ``at:`` left out: the step's device."""
        if self.step_device is None:
            where = "a device or online" if isinstance(spec, Place) and spec.online else "a device"
            self.fail(node, f"say where to look: at: {where}")
        return self.step_device

    # the file ---------------------------------------------------------------------------------
    def scenario(self, root: Node, path: Path | None) -> Scenario:
        top = self.mapping(root, "a scenario file")
        self.unknown_keys(top, TOP_KEYS, "the scenario")
        for required in ("title", "devices", "steps"):
            if required not in top:
                self.fail(root, f"missing {required}:")
        title = self.text(top["title"][1], "title").strip()
        description = ""
        if "description" in top:
            description = self.text(top["description"][1], "description").strip()
        rules: tuple[str, ...] = ()
        if "rules" in top:
            rules = tuple(self.rule(n) for n in self.sequence(top["rules"][1], "rules"))
        seed = self.integer(top["seed"][1], "seed") if "seed" in top else 0
        start = self.moment(top["start"][1], "start") if "start" in top else None
        for node in self.sequence(top["devices"][1], "devices"):
            spec = self.device(node)
            if spec.id in self.devices:
                self.fail(node, f"there are two devices called {spec.id!r}")
            self.devices[spec.id] = spec
        if not self.devices:
            self.fail(top["devices"][1], "a scenario needs at least one device")
        records: dict[str, Lookup] = {}
        if "records" in top:
            for name, (key_node, value_node) in self.mapping(top["records"][1], "records").items():
                if not NAME.match(name):
                    self.fail(key_node, f"records: {name!r} is not a usable name")
                records[name] = self.lookup(value_node, f"record {name}")
                self.refs[name] = records[name].object
        steps: list[Step] = []
        if "setup" in top:
            steps += [self.step(n, setup=True) for n in self.sequence(top["setup"][1], "setup")]
        steps += [self.step(n) for n in self.sequence(top["steps"][1], "steps")]
        if not any(not s.setup for s in steps):
            self.fail(top["steps"][1], "a scenario needs at least one step")
        return Scenario(
            title=title,
            rules=rules,
            devices=tuple(self.devices.values()),
            steps=tuple(steps),
            description=description,
            seed=seed,
            start=start,
            records=records,
            path=path,
            source=self.source,
        )

    def rule(self, node: Node) -> str:
        value = self.value(node)
        if value not in RULE_IDS:
            self.fail(node, f"unknown rule ID {value!r} (rules are {RULE_IDS[0]} to {RULE_IDS[-1]})")
        return value

    def device(self, node: Node) -> DeviceSpec:
        keys = self.mapping(node, "a device")
        self.unknown_keys(keys, [d.key for d in declared(DeviceSpec)], "a device")
        for required in ("id", "user"):
            if required not in keys:
                self.fail(node, f"a device needs {required}:")
        device_id = self.text(keys["id"][1], "device id")
        if not DEVICE_ID.match(device_id):
            self.fail(keys["id"][1], f"device id {device_id!r}: use lower-case letters, digits and dashes")
        model = "iPad Pro 11-inch"
        if "model" in keys:
            model = self.choice(keys["model"][1], "model", tuple(MODELS))
        ios = "17.5"
        if "ios" in keys:
            ios = self.text(keys["ios"][1], "ios", raw=True)
            try:
                ios_major(ios)
            except ValueError as exc:
                self.fail(keys["ios"][1], str(exc))
        return DeviceSpec(
            id=device_id,
            name=self.text(keys["name"][1], "device name") if "name" in keys else device_id,
            user=self.user(keys["user"][1], "user"),
            model=model,
            ios=ios,
            later=self.boolean(keys["later"][1], "later") if "later" in keys else False,
            line=node.start_mark.line + 1,
        )

    # steps ------------------------------------------------------------------------------------
    def step(self, node: Node, *, setup: bool = False) -> Step:
        keys = self.mapping(node, "a step")
        cls = self.action_class(keys, node)
        allowed = {"say", "expect", "device"} | (_own_keys(cls) if cls is not None else set())
        for key, (key_node, _) in keys.items():
            if key not in allowed:
                if cls is None and key not in ACTIONS:
                    steps = _choices(ACTIONS)
                    self.fail(
                        key_node, f"unknown step {key!r} (a step is one of: {steps}; with say: and expect:)"
                    )
                what = f"a {cls.kind} step" if cls else "a step without an action"
                self.fail(key_node, f"{key!r} does not go with {what}")
        device = self.device_of(cls, keys, node)
        say = self.text(keys["say"][1], "say").strip() if "say" in keys else None
        action = self.action(cls, keys, node, device) if cls is not None else None
        expect = self.expect(keys["expect"][1], device) if "expect" in keys else ()
        step = Step(action, node.start_mark.line + 1, device, say, expect, setup)
        self.track_screen(step)
        return step

    def action_class(self, keys: Mapping[str, object], node: Node) -> type[ActionKind] | None:
        kinds = [k for k in keys if k in ACTIONS]
        if "set" in kinds and len(kinds) > 1:
            kinds.remove("set")  # set: is an option of edit: and new:
        if len(kinds) > 1:
            self.fail(node, f"a step does one thing; this one has {' and '.join(kinds)}")
        return ACTIONS[kinds[0]] if kinds else None

    def device_of(
        self, cls: type[Action] | None, keys: dict[str, tuple[Node, Node]], node: Node
    ) -> str | None:
        """The step's device: given, the only one, or none (an online or stage action)."""
        on_device = "optional" if cls is None else cls.on_device
        if on_device == "required" and "device" not in keys:
            assert cls is not None
            if len(self.devices) != 1:
                self.fail(
                    node, f"say which device does {cls.kind}: (device: one of {_choices(self.devices)})"
                )
            return next(iter(self.devices))
        if "device" not in keys:
            return None
        if on_device == "never":
            assert cls is not None
            self.fail(keys["device"][0], f"{cls.kind} does not happen on a device")
        return self.device_id(keys["device"][1], "device")

    def action(
        self, cls: type[ActionKind], keys: dict[str, tuple[Node, Node]], node: Node, device: str | None
    ) -> ActionKind:
        own = keys[cls.kind][1]
        self.object_name = None
        subject = next((d for d in declared(cls) if d.subject), None)
        if subject is None and not is_payload(cls):
            self.flag(own, cls.kind)
        self.before(cls, own, device)
        if not is_payload(cls):
            return _construct(cls, self.fields(cls, keys, node, cls.kind, own))
        inner = self.mapping(own, cls.kind)
        self.unknown_keys(inner, [d.key for d in declared(cls)], cls.kind)
        values = self.fields(cls, inner, own, cls.kind, None)
        if cls.one_of is not None and not set(cls.one_of[0]) & set(inner):
            self.fail(own, cls.one_of[1])
        for key, needed, problem in cls.together:
            if key in inner and not set(needed) <= set(inner):
                self.fail(own, problem)
        return _construct(cls, values)

    def before(self, cls: type[ActionKind], own: Node, device: str | None) -> None:
        """What the steps before this one decide: an open edit screen, a device not yet on the stage."""
        if cls is SetFields or cls in FINISHES:
            assert device is not None
            if device not in self.editing:
                hint = " (start with edit: or new:)" if cls is SetFields else ""
                self.fail(own, f"{cls.kind}: no edit screen is open on {device} here{hint}")
            self.object_name = self.editing[device] or None
        if cls is Join and device is not None and not self.devices[device].later:
            self.fail(own, f"join: {device} is on the stage from the start (give it later: true)")

    def track_screen(self, step: Step) -> None:
        """The edit screen each device has open after ``step`` (unless the step is to be refused)."""
        action = step.action
        if step.device is None or any(c.kind == "refused" for c in step.expect):
            return
        match action:
            case Edit():
                self.editing[step.device] = self.ref_object(action.record) or ""
            case New():
                self.editing[step.device] = action.object
        match action:
            case Edit() | New() | SetFields():
                finished = action.then is not None
            case Save() | Submit() | Cancel():
                finished = True
            case _:
                finished = False
        if finished:
            self.editing.pop(step.device, None)

    def children(self, node: Node) -> tuple[Child, ...]:
        out: list[Child] = []
        kinds = {cls.kind: cls for cls in CHILD_CHANGES}
        for child in self.sequence(node, "children"):
            keys = self.mapping(child, "a child record")
            ops = [k for k in kinds if k in keys]
            if len(ops) != 1:
                self.fail(child, "a child record is one of add: OBJECT, edit: RECORD or remove: RECORD")
            cls = kinds[ops[0]]
            what = CHILD_WHAT[ops[0]]
            self.unknown_keys(keys, _own_keys(cls), what)
            values = self.fields(cls, keys, child, what, keys[ops[0]][1])
            out.append(_construct(cls, {**values, "line": child.start_mark.line + 1}))
        return tuple(out)

    # checks -----------------------------------------------------------------------------------
    def expect(self, node: Node, device: str | None) -> tuple[CheckKind, ...]:
        nodes = [node] if isinstance(node, MappingNode) else self.sequence(node, "expect")
        return tuple(self.check(n, device) for n in nodes)

    def check(self, node: Node, device: str | None) -> CheckKind:
        keys = self.mapping(node, "a check")
        kind = next((k for k in CHECK_PRIORITY if k in keys), None)
        if kind is None:
            first = next(iter(keys.values()))[0] if keys else node
            self.fail(first, f"unknown check (a check is one of: {_choices(CHECKS)})")
        cls = CHECKS[kind]
        self.unknown_keys(keys, _own_keys(cls), f"a {kind} check")
        self.object_name, self.step_device = None, device
        values = self.fields(cls, keys, node, kind, keys[kind][1])
        check = _construct(cls, {**values, "line": node.start_mark.line + 1})
        if isinstance(check, RecordCheck) and check.at == ONLINE and check.state is not None:
            self.fail(keys["state"][1], "state: is what a device shows; it cannot be checked online")
        return check

    def sends(self, node: Node) -> dict[str, Sent]:
        """AS-08: ``{field: {old: V, new: V}}``, what the first queue item sends for its record."""
        out = {}
        for name, (_, value_node) in self.mapping(node, "sends").items():
            keys = self.mapping(value_node, f"sends {name}")
            self.unknown_keys(keys, ("old", "new"), f"sends {name}")
            if set(keys) != {"old", "new"}:
                self.fail(value_node, f"sends {name}: give old: and new:")
            out[name] = Sent(old=self.scalar(keys["old"][1], "old"), new=self.scalar(keys["new"][1], "new"))
        return out

    def conflicts(self, node: Node) -> dict[str, dict[str, FieldCheck]]:
        """``{field: {previous: V, online: V, new: V}}``: a sync error's values, any of the three."""
        keys = self.mapping(node, "values")
        self.known_fields(node, self.object_name, keys)
        out: dict[str, dict[str, FieldCheck]] = {}
        for name, (_, value_node) in keys.items():
            parts = self.mapping(value_node, f"values {name}")
            self.unknown_keys(parts, CONFLICT_PARTS, f"values {name}")
            if not parts:
                self.fail(value_node, f"values {name}: give previous:, online: and/or new:")
            out[name] = {part: self.field_check(n, part) for part, (_, n) in parts.items()}
        return out

    def child_counts(self, node: Node) -> dict[str, int]:
        """``{child_object: N}``: the record's child records of each object."""
        schema = object_schema()
        out: dict[str, int] = {}
        for name, (key_node, value_node) in self.mapping(node, "children").items():
            self.known_object(key_node, name)
            master = self.object_name
            if master is not None and schema.masters and schema.masters.get(name, ("", ""))[1] != master:
                details = _choices(schema.children(master)) or "none"
                self.fail(key_node, f"{name} is not a child object of {master} (its children: {details})")
            out[name] = self.integer(value_node, name)
        return out

    def place(self, node: Node, *, online: bool) -> str:
        if online and self.value(node) == ONLINE:
            return ONLINE
        return self.device_id(node, "at")

    def event_place(self, node: Node) -> str:
        value = self.value(node)
        if isinstance(value, str) and value.startswith("feed:"):
            user = value.removeprefix("feed:")
            if self.world is not None and user not in self.world.users:
                users = _choices(self.world.users)
                self.fail(node, f"at: no user {user!r} on the embedded server (its users: {users})")
            return value
        if value in self.devices or value in EVENT_ACTORS:
            return value
        self.fail(node, f"at: {value!r} is not a device, online, stage, server or feed:USER")

    def refused(self, node: Node) -> str | None:
        value = self.value(node)
        if value is True:
            return None
        if not (isinstance(value, str) and value):
            self.fail(node, "refused: is true or a part of the reason the user reads")
        return value

    def during(self, node: Node) -> int | timedelta:
        value = self.value(node)
        if isinstance(value, str) and STEPS.match(value):
            steps = int(value.split()[0].removesuffix("steps").removesuffix("step"))
            if steps < 1:
                self.fail(node, "during: at least 1 step")
            return steps
        return self.duration(node, "during")


def _own_keys(cls: type) -> set[str]:
    """The keys a step (or check, or child) of ``cls`` may have besides ``device``, ``say``, ``expect``."""
    kind: str = getattr(cls, "kind")  # noqa: B009  # every tagged class has one
    return {kind} if is_payload(cls) else {kind} | {d.key for d in declared(cls)}


class StepReader:
    """Reads steps handed over as plain mappings (the recorder's), one after the other.

    It remembers, as the file would, the devices, the records named so far and the edit screens
    open; users are not checked (the stage recorded may be on any server).
    """

    def __init__(
        self, devices: Iterable[DeviceSpec], records: Mapping[str, Lookup], *, source: str = "<recording>"
    ) -> None:
        self._reader = _Reader(source, None)
        for spec in devices:
            self.add_device(spec)
        for name, lookup in records.items():
            self.name(name, lookup.object)

    def add_device(self, spec: DeviceSpec) -> None:
        self._reader.devices[spec.id] = spec

    def name(self, name: str, object_name: str | None) -> None:
        """A record named outside the steps (``records:``, or bound to a record being created)."""
        self._reader.refs[name] = object_name

    def read(self, data: Mapping[str, object]) -> Step:
        """The step ``data`` is (raises ScenarioFileError if it is not a valid one here)."""
        text = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True)
        return self._reader.step(_compose(text, self._reader.source))
