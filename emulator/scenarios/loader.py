"""Reading scenario files: YAML in, a checked :class:`~emulator.scenarios.model.Scenario` out.

The YAML is composed into nodes (which keep their line numbers) and walked by hand, so that a
bad file is refused before anything runs with ``FILE:LINE: what is wrong``: an unknown step or
check, an unknown device or record name, a bad duration, an unknown rule ID, an unknown object
or field, a missing title ... Everything is reported through one exception,
:class:`ScenarioFileError`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn, cast

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from emulator.engine.device import SYNC_STATE_TEXT
from emulator.engine.events import KINDS
from emulator.engine.profile import MODELS, ios_major
from emulator.scenarios.model import (
    ACTION_OPTIONS,
    CHECK_OPTIONS,
    DEVICE_ACTIONS,
    DEVICE_OPTIONAL,
    ERROR_ACTIONS,
    FAULTS,
    FLAG_ACTIONS,
    MATCHERS,
    NETWORK_MODES,
    REFRESH_COLOURS,
    REFRESH_STATES,
    RULE_IDS,
    WIDGET_COLOURS,
    WIDGET_STATES,
    ActionKind,
    Check,
    CheckKind,
    ChildChange,
    DeviceSpec,
    Lookup,
    RecordRef,
    Scenario,
    Step,
    Then,
    parse_duration,
)

DEVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,60}$")
TOP_KEYS = ("title", "description", "rules", "seed", "start", "devices", "records", "setup", "steps")
STANDARD_FIELDS = frozenset(
    {"id", "ownerid__v", "created_date__v", "created_by__v", "modified_date__v", "modified_by__v", "_version"}
)
#: ``record`` names a check only when no other check key is present (it is an option of several).
CHECK_PRIORITY: tuple[str, ...] = (*(k for k in CHECK_OPTIONS if k != "record"), "record")
EVENT_ACTORS = ("online", "stage", "server")


class ScenarioFileError(Exception):
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


def load_scenario(path: str | Path) -> Scenario:
    """Read and check one scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError(str(path), 0, f"cannot read the file: {exc.strerror or exc}") from None
    return parse_scenario(text, source=str(path), path=path)


def parse_scenario(text: str, *, source: str = "<scenario>", path: Path | None = None) -> Scenario:
    """Check and build a scenario from YAML text."""
    return _Reader(text, source).scenario(path)


@functools.cache
def schema_fields() -> dict[str, frozenset[str]]:
    """Objects and their field names, from the bundled schema (empty if it is not there)."""
    schema_path = library_dir().parent / "schema" / "vault_crm.yaml"
    if not schema_path.is_file():
        return {}
    data = yaml.safe_load(schema_path.read_text(encoding="utf-8"))
    return {
        name: frozenset(obj.get("fields", {})) | STANDARD_FIELDS
        for name, obj in data.get("objects", {}).items()
    }


def _choices(values: Iterable[str]) -> str:
    return ", ".join(values)


class _Reader:
    """Walks the node tree, checking as it goes; remembers what the steps have named so far."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.loader = yaml.SafeLoader(text)
        try:
            root = self.loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 0
            raise ScenarioFileError(source, line, f"not valid YAML: {exc.problem or exc}") from None
        except yaml.YAMLError as exc:
            raise ScenarioFileError(source, 0, f"not valid YAML: {exc}") from None
        if root is None:
            raise ScenarioFileError(source, 1, "the file is empty")
        self.root = root
        self.devices: dict[str, DeviceSpec] = {}
        self.refs: dict[str, str | None] = {}  # name -> object (None if not known)
        self.editing: dict[str, str | None] = {}  # device -> object on its edit screen

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

    def value(self, node: Node) -> Any:
        return self.loader.construct_object(node, deep=True)

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

    def choice(self, node: Node, what: str, choices: Iterable[str]) -> str:
        options = tuple(choices)
        value = self.value(node)
        if value not in options:
            self.fail(node, f"{what} must be one of {_choices(options)}, not {value!r}")
        return cast(str, value)

    def duration(self, node: Node, what: str, *, allow_zero: bool = False) -> Any:
        try:
            delta = parse_duration(self.value(node))
        except ValueError as exc:
            self.fail(node, f"bad duration for {what}: {exc}")
        if delta.total_seconds() <= 0 and not (allow_zero and delta.total_seconds() == 0):
            self.fail(node, f"{what} must be longer than zero")
        return delta

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

    def known_object(self, node: Node, name: Any) -> str:
        objects = schema_fields()
        if not isinstance(name, str) or not name:
            self.fail(node, f"an object name is needed, not {name!r}")
        if objects and name not in objects:
            self.fail(node, f"unknown object {name!r}")
        return name

    def known_fields(self, node: Node, object_name: str | None, names: Iterable[str]) -> None:
        fields = schema_fields().get(object_name or "")
        if not fields:
            return
        for name in names:
            if name not in fields:
                self.fail(node, f"{object_name} has no field {name!r}")

    def device_id(self, node: Node, what: str) -> str:
        value = self.value(node)
        if value not in self.devices:
            known = _choices(self.devices) or "none"
            self.fail(node, f"{what}: unknown device {value!r} (devices: {known})")
        return cast(str, value)

    # values that may name records -----------------------------------------------------------
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
        where = self.field_values(keys["where"][1], object_name, f"{what} where")
        if not where:
            self.fail(keys["where"][1], f"{what}: where: needs at least one field")
        return Lookup(object_name, where)

    def field_values(
        self, node: Node, object_name: str | None, what: str, *, matchers: bool = False
    ) -> dict[str, Any]:
        keys = self.mapping(node, what)
        self.known_fields(node, object_name, keys)
        out: dict[str, Any] = {}
        for name, (_, value_node) in keys.items():
            value = self.value(value_node)
            if isinstance(value, date):  # an unquoted 2026-12-01 is a date to YAML
                value = value.isoformat()
            if isinstance(value, dict) and matchers:
                if len(value) != 1 or next(iter(value)) not in MATCHERS:
                    self.fail(value_node, f"{name}: a matcher is one of {_choices(sorted(MATCHERS))}")
            elif isinstance(value, dict | list):
                self.fail(value_node, f"{name}: a field value must be a single value")
            self.check_at_refs(value_node, value)
            out[name] = value
        return out

    def check_at_refs(self, node: Node, value: Any) -> None:
        """``"@name"`` in a value must name a record known at this point."""
        values = value.values() if isinstance(value, dict) else [value]
        for item in values:
            named = isinstance(item, str) and item.startswith("@") and not item.startswith("@@")
            if named and item[1:] not in self.refs:
                known = _choices(self.refs) or "none yet"
                self.fail(node, f"{item!r}: no record called {item[1:]!r} (named so far: {known})")

    def bind(self, node: Node, object_name: str | None) -> str:
        name = self.text(node, "as")
        if not NAME.match(name):
            self.fail(node, f"as: {name!r} is not a usable name (letters, digits, _ and -)")
        self.refs[name] = object_name
        return name

    # the file ---------------------------------------------------------------------------------
    def scenario(self, path: Path | None) -> Scenario:
        top = self.mapping(self.root, "a scenario file")
        self.unknown_keys(top, TOP_KEYS, "the scenario")
        for required in ("title", "devices", "steps"):
            if required not in top:
                self.fail(self.root, f"missing {required}:")
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
        return cast(str, value)

    def device(self, node: Node) -> DeviceSpec:
        keys = self.mapping(node, "a device")
        self.unknown_keys(keys, ("id", "name", "user", "model", "ios", "later"), "a device")
        for required in ("id", "user"):
            if required not in keys:
                self.fail(node, f"a device needs {required}:")
        device_id = self.text(keys["id"][1], "device id")
        if not DEVICE_ID.match(device_id):
            self.fail(keys["id"][1], f"device id {device_id!r}: use lower-case letters, digits and dashes")
        model = "iPad Pro 11-inch"
        if "model" in keys:
            model = self.choice(keys["model"][1], "model", MODELS)
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
            user=self.text(keys["user"][1], "user"),
            model=model,
            ios=ios,
            later=self.boolean(keys["later"][1], "later") if "later" in keys else False,
            line=node.start_mark.line + 1,
        )

    # steps ------------------------------------------------------------------------------------
    def step(self, node: Node, *, setup: bool = False) -> Step:
        keys = self.mapping(node, "a step")
        line = node.start_mark.line + 1
        actions = [k for k in keys if k in ACTION_OPTIONS]
        if "set" in actions and len(actions) > 1:
            actions.remove("set")
        if len(actions) > 1:
            self.fail(node, f"a step does one thing; this one has {' and '.join(actions)}")
        action = cast(ActionKind | None, actions[0] if actions else None)
        allowed = {"say", "expect", "device"}
        if action is not None:
            allowed |= {action} | ACTION_OPTIONS[action]
        for key, (key_node, _) in keys.items():
            if key not in allowed:
                if action is None and key not in ACTION_OPTIONS:
                    self.fail(
                        key_node,
                        f"unknown step {key!r} (a step is one of: {_choices(ACTION_OPTIONS)}; "
                        "with say: and expect:)",
                    )
                what = f"a {action} step" if action else "a step without an action"
                self.fail(key_node, f"{key!r} does not go with {what}")
        device = None
        if action in DEVICE_ACTIONS or (action is None and "device" in keys):
            if "device" in keys:
                device = self.device_id(keys["device"][1], "device")
            elif len(self.devices) == 1:
                device = next(iter(self.devices))
            else:
                self.fail(node, f"say which device does {action}: (device: one of {_choices(self.devices)})")
        elif "device" in keys and action in DEVICE_OPTIONAL:
            device = self.device_id(keys["device"][1], "device")
        elif "device" in keys:
            self.fail(keys["device"][0], f"{action} does not happen on a device")
        say = self.text(keys["say"][1], "say").strip() if "say" in keys else None
        step = self.action(action, keys, node, device, line, say, setup)
        refused = any(c.kind == "refused" for c in step.expect)
        self.track_screen(step, refused)
        return step

    def track_screen(self, step: Step, refused: bool) -> None:
        if step.device is None or refused:
            return
        if step.action in ("edit", "new"):
            self.editing[step.device] = (
                step.value if step.action == "new" else self.ref_object(cast(RecordRef, step.value))
            ) or ""
        if step.then is not None or step.action in ("save", "submit", "cancel"):
            self.editing.pop(step.device, None)

    def action(
        self,
        action: ActionKind | None,
        keys: dict[str, tuple[Node, Node]],
        node: Node,
        device: str | None,
        line: int,
        say: str | None,
        setup: bool,
    ) -> Step:
        value: Any = None
        fields: dict[str, Any] = {}
        children: tuple[ChildChange, ...] = ()
        options: dict[str, Any] = {}
        bind = None
        then = None
        own = keys[action][1] if action is not None else None
        object_name: str | None = None
        if action in ("open", "edit", "delete", "resolve", "online_edit"):
            assert own is not None
            value = self.ref(own, action)
            object_name = self.ref_object(value)
        elif action in ("new", "online_create"):
            assert own is not None
            value = object_name = self.known_object(own, self.value(own))
        elif action == "set":
            assert own is not None and device is not None
            if device not in self.editing:
                self.fail(own, f"set: no edit screen is open on {device} here (start with edit: or new:)")
            object_name = self.editing[device] or None
            fields = self.field_values(own, object_name, "set")
        elif action in ("save", "submit", "cancel"):
            assert own is not None and device is not None
            self.flag(own, action)
            if device not in self.editing:
                self.fail(own, f"{action}: no edit screen is open on {device} here")
        elif action in FLAG_ACTIONS:  # save, submit and cancel are read above
            assert own is not None
            self.flag(own, action)
            if action == "join" and device is not None and not self.devices[device].later:
                self.fail(own, f"join: {device} is on the stage from the start (give it later: true)")
        elif action == "network":
            assert own is not None
            value = self.choice(own, "network", NETWORK_MODES)
            if "latency" in keys:
                options["latency"] = self.duration(keys["latency"][1], "latency", allow_zero=True)
            if "loss" in keys:
                loss = self.value(keys["loss"][1])
                if isinstance(loss, bool) or not isinstance(loss, int | float) or not 0 <= loss <= 1:
                    self.fail(keys["loss"][1], f"loss must be a number from 0 to 1, not {loss!r}")
                options["loss"] = float(loss)
        elif action == "app":
            assert own is not None
            value = self.choice(own, "app", ("foreground", "background"))
        elif action == "sync_mode":
            assert own is not None
            value = self.choice(own, "sync_mode", ("autosync", "traditional"))
        elif action == "fault":
            assert own is not None
            value = self.choice(own, "fault", FAULTS)
        elif action == "feed_page_size":
            assert own is not None
            value = self.integer(own, "feed_page_size", minimum=1)
        elif action in ("poll_interval", "advance"):
            assert own is not None
            value = self.duration(own, action)
        elif action == "territory_alignment":
            assert own is not None
            value = self.alignment(own)
        elif action == "metadata_change":
            assert own is not None
            value = self.payload(
                own, "metadata_change", required=("kind", "object", "field", "label"), optional=("value",)
            )
            self.choice(
                self.mapping(own, "metadata_change")["kind"][1],
                "kind",
                ("add_picklist_value", "relabel_field"),
            )
        elif action == "publish_content":
            assert own is not None
            value = self.payload(own, "publish_content", required=("kind", "name"), optional=("description",))
            self.choice(self.mapping(own, "publish_content")["kind"][1], "kind", ("clm", "approved_email"))
        elif action in ("refresh_dataset", "validation_rule"):
            assert own is not None
            value = self.text(own, action)
            if action == "validation_rule":
                if "enabled" not in keys:
                    self.fail(node, "validation_rule: needs enabled: true or false")
                options["enabled"] = self.boolean(keys["enabled"][1], "enabled")
        elif action == "sync_settings":
            assert own is not None
            value = self.sync_settings(own)
        elif action in ("clear_sync_errors", "force_full_refresh"):
            assert own is not None
            value = self.text(own, f"{action} (a user)")
        elif action == "xray":
            assert own is not None
            value = self.switch(own, "xray")
        if action == "resolve":
            if "how" not in keys:
                self.fail(node, f"resolve: needs how: ({_choices(ERROR_ACTIONS)}, as on the Errors tab)")
            options["how"] = self.choice(keys["how"][1], "how", ERROR_ACTIONS)
        if action in ("online_edit", "online_create"):
            if "set" not in keys:
                self.fail(node, f"{action}: needs set: with the fields to save")
            if "actor" in keys:
                options["actor"] = self.choice(keys["actor"][1], "actor", ("online_user", "integration"))
            if action == "online_create":
                if "owner" not in keys:
                    self.fail(node, "online_create: needs owner: (the user who owns the new record)")
                options["owner"] = self.text(keys["owner"][1], "owner")
        if "set" in keys and action != "set":
            fields = self.field_values(keys["set"][1], object_name, "set")
        if "children" in keys:
            children = self.children(keys["children"][1])
        if "then" in keys:
            then = cast(Then, self.choice(keys["then"][1], "then", ("save", "submit", "cancel")))
        if "as" in keys:
            bind = self.bind(keys["as"][1], object_name)
        expect: tuple[Check, ...] = ()
        if "expect" in keys:
            expect = self.expect(keys["expect"][1], device)
        return Step(
            action=action,
            line=line,
            device=device,
            value=value,
            fields=fields,
            children=children,
            then=then,
            bind=bind,
            options=options,
            say=say,
            expect=expect,
            setup=setup,
        )

    def payload(
        self, node: Node, what: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        keys = self.mapping(node, what)
        self.unknown_keys(keys, required + optional, what)
        for name in required:
            if name not in keys:
                self.fail(node, f"{what}: needs {name}:")
        return {name: self.text(v, f"{what} {name}") for name, (_, v) in keys.items()}

    def switch(self, node: Node, what: str) -> bool:
        """``on`` / ``off`` (YAML reads them as true / false; either spelling is fine)."""
        value = self.value(node)
        if isinstance(value, str) and value.strip().lower() in ("on", "off"):
            return value.strip().lower() == "on"
        if not isinstance(value, bool):
            self.fail(node, f"{what} must be on or off, not {value!r}")
        return value

    def sync_settings(self, node: Node) -> dict[str, Any]:
        """``{user: anna, refresh_mode: on, sync_warn_interval_days: 3}``: an admin's settings."""
        keys = self.mapping(node, "sync_settings")
        self.unknown_keys(keys, ("user", "refresh_mode", "sync_warn_interval_days"), "sync_settings")
        if "user" not in keys:
            self.fail(node, "sync_settings: needs user: (whose iPads the settings are for)")
        if len(keys) < 2:
            self.fail(node, "sync_settings: give refresh_mode: and/or sync_warn_interval_days:")
        out: dict[str, Any] = {"user": self.text(keys["user"][1], "user")}
        if "refresh_mode" in keys:
            out["refresh_mode"] = self.switch(keys["refresh_mode"][1], "refresh_mode")
        if "sync_warn_interval_days" in keys:
            out["sync_warn_interval_days"] = self.integer(
                keys["sync_warn_interval_days"][1], "sync_warn_interval_days", minimum=1
            )
        return out

    def alignment(self, node: Node) -> dict[str, Any]:
        keys = self.mapping(node, "territory_alignment")
        self.unknown_keys(keys, ("accounts", "territory", "user", "territories"), "territory_alignment")
        out: dict[str, Any] = {}
        if "accounts" in keys:
            out["accounts"] = [
                self.ref(n, "accounts") for n in self.sequence(keys["accounts"][1], "accounts")
            ]
            if "territory" not in keys:
                self.fail(node, "territory_alignment: moving accounts needs territory:")
        if "territory" in keys:
            out["territory"] = self.text(keys["territory"][1], "territory")
        if ("user" in keys) != ("territories" in keys):
            self.fail(node, "territory_alignment: reassigning a user needs both user: and territories:")
        if "user" in keys:
            out["user"] = self.text(keys["user"][1], "user")
            out["territories"] = [
                self.text(n, "territory") for n in self.sequence(keys["territories"][1], "territories")
            ]
        if "accounts" not in out and "user" not in out:
            self.fail(node, "territory_alignment: needs accounts: to move or a user: to reassign")
        return out

    def children(self, node: Node) -> tuple[ChildChange, ...]:
        out = []
        for child in self.sequence(node, "children"):
            keys = self.mapping(child, "a child record")
            ops = [k for k in ("add", "edit", "remove") if k in keys]
            if len(ops) != 1:
                self.fail(child, "a child record is one of add: OBJECT, edit: RECORD or remove: RECORD")
            op = ops[0]
            line = child.start_mark.line + 1
            if op == "add":
                self.unknown_keys(keys, ("add", "set", "as"), "a child added")
                obj = self.known_object(keys["add"][1], self.value(keys["add"][1]))
                fields = self.field_values(keys["set"][1], obj, "set") if "set" in keys else {}
                bind = self.bind(keys["as"][1], obj) if "as" in keys else None
                out.append(ChildChange("add", object=obj, fields=fields, bind=bind, line=line))
            elif op == "edit":
                self.unknown_keys(keys, ("edit", "set"), "a child edited")
                ref = self.ref(keys["edit"][1], "edit")
                if "set" not in keys:
                    self.fail(child, "a child edited needs set:")
                fields = self.field_values(keys["set"][1], self.ref_object(ref), "set")
                out.append(ChildChange("edit", record=ref, fields=fields, line=line))
            else:
                self.unknown_keys(keys, ("remove",), "a child removed")
                out.append(ChildChange("remove", record=self.ref(keys["remove"][1], "remove"), line=line))
        return tuple(out)

    # checks -----------------------------------------------------------------------------------
    def expect(self, node: Node, device: str | None) -> tuple[Check, ...]:
        nodes = [node] if isinstance(node, MappingNode) else self.sequence(node, "expect")
        return tuple(self.check(n, device) for n in nodes)

    def check(self, node: Node, device: str | None) -> Check:
        keys = self.mapping(node, "a check")
        kind = next((k for k in CHECK_PRIORITY if k in keys), None)
        if kind is None:
            first = next(iter(keys.values()))[0] if keys else node
            self.fail(first, f"unknown check (a check is one of: {_choices(CHECK_OPTIONS)})")
        self.unknown_keys(keys, {kind} | CHECK_OPTIONS[kind], f"a {kind} check")
        own = keys[kind][1]
        opts = {name: value for name, (_, value) in keys.items() if name != kind}
        options: dict[str, Any] = {}
        subject: Any
        check_kind = cast(CheckKind, kind)
        if kind == "record":
            subject = self.ref(own, "record")
            at = self.at(opts.get("at"), device, node, allow_online=True)
            options["at"] = at
            if "fields" in opts:
                options["fields"] = self.field_values(
                    opts["fields"], self.ref_object(subject), "fields", matchers=True
                )
            if "state" in opts:
                if at == "online":
                    self.fail(opts["state"], "state: is what a device shows; it cannot be checked online")
                options["state"] = self.choice(opts["state"], "state", SYNC_STATE_TEXT)
            if "exists" in opts:
                options["exists"] = self.boolean(opts["exists"], "exists")
        elif kind in (
            "queue",
            "sync_errors",
            "waiting",
            "loss",
            "notice",
            "device",
            "sync_widget",
            "refresh",
        ):
            subject = self.device_id(own, kind)
        elif kind == "feed":
            subject = self.text(own, "feed (a user)")
        elif kind == "refused":
            subject = self.value(own)
            if subject is not True and not (isinstance(subject, str) and subject):
                self.fail(own, "refused: is true or a part of the reason the user reads")
        elif kind == "event":
            subject = self.choice(own, "event", KINDS)
        else:  # dataset
            subject = self.text(own, "dataset")
            options["at"] = self.at(opts.get("at"), device, node, allow_online=False)
        for name, value_node in opts.items():
            if name in options or (kind == "record" and name == "at"):
                continue
            options[name] = self.check_option(kind, name, value_node)
        return Check(check_kind, subject, options, node.start_mark.line + 1)

    def sends(self, node: Node) -> dict[str, dict[str, Any]]:
        """AS-08: ``{field: {old: V, new: V}}``, what the first queue item sends for its record."""
        out = {}
        for name, (_, value_node) in self.mapping(node, "sends").items():
            keys = self.mapping(value_node, f"sends {name}")
            self.unknown_keys(keys, ("old", "new"), f"sends {name}")
            if set(keys) != {"old", "new"}:
                self.fail(value_node, f"sends {name}: give old: and new:")
            out[name] = {k: self.value(v) for k, (_, v) in keys.items()}
        return out

    def at(self, node: Node | None, device: str | None, check: Node, *, allow_online: bool) -> str:
        if node is None:
            if device is None:
                where = "a device or online" if allow_online else "a device"
                self.fail(check, f"say where to look: at: {where}")
            return device
        if allow_online and self.value(node) == "online":
            return "online"
        return self.device_id(node, "at")

    def check_option(self, kind: str, name: str, node: Node) -> Any:
        if name in (
            "count",
            "at_risk",
            "metadata_version",
            "version",
            "pending",
            "errors",
            "days_since",
            "unread",
        ):
            return self.integer(node, name)
        if name == "state" and kind == "refresh" and self.value(node) is False:
            return "off"  # YAML reads an unquoted ``off`` as false
        if name == "state" and kind in ("sync_widget", "refresh"):
            return self.choice(node, "state", WIDGET_STATES if kind == "sync_widget" else REFRESH_STATES)
        if name == "colour":
            return self.choice(node, "colour", WIDGET_COLOURS if kind == "sync_widget" else REFRESH_COLOURS)
        if name in ("remind", "blocked"):
            return self.boolean(node, name)
        if name == "xray":
            return self.switch(node, name)
        if name == "actions":
            return [self.choice(n, "actions", ERROR_ACTIONS) for n in self.sequence(node, "actions")]
        if name == "requested":
            return self.choice(node, "requested", (*ERROR_ACTIONS[:2], "nothing"))
        if name == "kind" and kind == "notice":
            return self.choice(node, "kind", ("sync_error", "discarded", "reminder"))
        if name in ("record", "not_record"):
            return self.ref(node, name)
        if name == "records":
            return [self.ref(n, "records") for n in self.sequence(node, "records")]
        if name in ("labels", "queued"):
            return [self.text(n, name) for n in self.sequence(node, name)]
        if name == "sizes":
            return [self.integer(n, "sizes", minimum=1) for n in self.sequence(node, "sizes")]
        if name in ("traditional", "eligible", "autosync_active", "foreground"):
            return self.boolean(node, name)
        if name == "network":
            return self.choice(node, "network", NETWORK_MODES)
        if name == "screen":
            return self.choice(node, "screen", ("list", "view", "edit"))
        if name == "since":
            return self.choice(node, "since", ("step", "start"))
        if name == "sends":
            return self.sends(node)
        if name == "head_state":
            return self.choice(node, "head_state", ("queued", "uploading", "waiting"))
        if name == "at" and kind == "event":
            value = self.value(node)
            if value in self.devices or value in EVENT_ACTORS or str(value).startswith("feed:"):
                return value
            self.fail(node, f"at: {value!r} is not a device, online, stage, server or feed:USER")
        return self.text(node, name)  # text, message, kind, reason, item
