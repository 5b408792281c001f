"""The scenario format, published: its JSON Schema and its reference, both made from the classes.

:func:`json_schema` turns the declarations of the language's classes (:mod:`emulator.scenarios.specs`)
into a JSON Schema of the file format, for editors: ``resources/scenario.schema.json``, named by
the ``# yaml-language-server: $schema=...`` comment on a scenario file's first line.
:func:`markdown` writes ``docs/scenarios.md``: every step, check and matcher with what its keys
take and an example (each example plays, after :data:`EXAMPLE_HEAD`, as a test proves). Both
are written by ``autosync-emulator scenario schema`` and ``scenario docs``; a test fails when the
files in the repository are not what the classes make.
"""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path

from emulator.scenarios.actions import ACTION_GROUPS
from emulator.scenarios.checks import CHECK_GROUPS
from emulator.scenarios.loader import object_schema, sample_world
from emulator.scenarios.model import DeviceSpec, Scenario, Step
from emulator.scenarios.specs import (
    SCALAR_SCHEMA,
    Declared,
    JsonObject,
    JsonValue,
    declared,
    is_payload,
)
from emulator.scenarios.values import CHILD_CHANGES, MATCHERS, EventPattern, Lookup, Query, Sent

SCHEMA_FILE = "scenario.schema.json"
#: Where the schema is in the repository, and the reference.
SCHEMA_PATH = Path("resources") / SCHEMA_FILE
DOCS_PATH = Path("docs") / "scenarios.md"
SCHEMA_ID = "https://autosync-emulator.invalid/scenario.schema.json"
#: The head every example in the reference plays after.
EXAMPLE_HEAD = """\
title: An example
devices:
  - {id: pro, name: Anna's iPad Pro, user: anna}
  - {id: air, name: Anna's iPad Air, user: anna, model: iPad Air 2}
  - {id: bens, name: Ben's iPad, user: ben, later: true}
records:
  harper: {object: account__v, where: {last_name__v: Harper}}
steps:
"""
NESTED: tuple[tuple[str, type], ...] = (
    ("lookup", Lookup),
    ("query", Query),
    ("event_pattern", EventPattern),
    ("sent", Sent),
    ("device", DeviceSpec),
)


def doc_of(cls: type) -> str:
    """A class's docstring, dedented, as Markdown (its ``code`` in single backticks)."""
    return inspect.cleandoc(cls.__doc__ or "").replace("``", "`")


def summary(cls: type) -> str:
    """The first paragraph of a class's docstring, on one line."""
    return " ".join(doc_of(cls).split("\n\n")[0].split())


def example_of(cls: type) -> str:
    """A class's example: a few steps, as a scenario's ``steps:`` list writes them."""
    return textwrap.dedent(getattr(cls, "example", "")).strip("\n")


def example_scenario(cls: type) -> str:
    """A whole scenario file playing ``cls``'s example."""
    return EXAMPLE_HEAD + textwrap.indent(example_of(cls), "  ") + "\n"


# JSON Schema -------------------------------------------------------------------------------------
def _key_schema(d: Declared) -> JsonObject:
    return {**d.meta.spec.schema(), "description": d.meta.doc}


def _object(properties: JsonObject, required: list[str], *, title: str, description: str) -> JsonObject:
    out: JsonObject = {"title": title, "description": description, "type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    out["additionalProperties"] = False
    return out


def _fields_schema(cls: type, *, title: str) -> JsonObject:
    """A mapping of ``cls``'s declared keys (a payload, a nested value)."""
    keys = [d for d in declared(cls) if not d.subject]
    props: JsonObject = {d.key: _key_schema(d) for d in keys}
    out = _object(props, [d.key for d in keys if d.required], title=title, description=summary(cls))
    one_of = getattr(cls, "one_of", None)
    if one_of is not None:
        out["anyOf"] = [{"required": [key]} for key in one_of[0]]
    together = getattr(cls, "together", ())
    if together:
        dependencies: JsonObject = {key: list(needed) for key, needed, _ in together}
        out["dependencies"] = dependencies
    return out


def _tagged_schema(cls: type, common: JsonObject, *, title: str) -> JsonObject:
    """A mapping whose own key names ``cls`` (a step's action, a check, a child, a matcher)."""
    kind: str = getattr(cls, "kind")  # noqa: B009  # every tagged class has one
    props: JsonObject = {}
    required = [kind]
    subject = next((d for d in declared(cls) if d.subject), None)
    if is_payload(cls):
        props[kind] = _fields_schema(cls, title=kind)
    elif subject is None:
        props[kind] = {"enum": [None, True], "description": "no value: write `KEY:` or `KEY: true`"}
    else:
        props[kind] = _key_schema(subject)
    if not is_payload(cls):
        for d in declared(cls):
            if not d.subject:
                props[d.key] = _key_schema(d)
                required += [d.key] if d.required else []
    props.update(common)
    return _object(props, required, title=title, description=summary(cls))


def _step_common(on_device: str) -> JsonObject:
    keys: JsonObject = {d.key: _key_schema(d) for d in declared(Step)}
    if on_device == "never":
        del keys["device"]
    return keys


def _declared_key(cls: type, key: str) -> Declared:
    return next(d for d in declared(cls) if d.key == key)


SETUP = "steps that set the stage before the story (told as setup)"


def json_schema() -> JsonObject:
    """The JSON Schema of a scenario file, made from the language's classes."""
    defs: JsonObject = {}
    steps: list[JsonValue] = []
    for _group, classes in ACTION_GROUPS:
        for cls in classes:
            defs[f"step.{cls.kind}"] = _tagged_schema(
                cls, _step_common(cls.on_device), title=f"{cls.kind}: step"
            )
            steps.append({"$ref": f"#/$defs/step.{cls.kind}"})
    defs["step.narration"] = _object(
        _step_common("optional"),
        [],
        title="a step without an action",
        description="Narration, checks, or both.",
    )
    defs["step"] = {"anyOf": [*steps, {"$ref": "#/$defs/step.narration"}]}
    checks: list[JsonValue] = []
    for _check_group, check_classes in CHECK_GROUPS:
        for check in check_classes:
            defs[f"check.{check.kind}"] = _tagged_schema(check, {}, title=f"{check.kind}: check")
            checks.append({"$ref": f"#/$defs/check.{check.kind}"})
    defs["check"] = {"anyOf": checks}
    defs["child"] = {"anyOf": [{"$ref": f"#/$defs/child.{c.kind}"} for c in CHILD_CHANGES]}
    for child in CHILD_CHANGES:
        defs[f"child.{child.kind}"] = _tagged_schema(child, {}, title=f"{child.kind}: a child record")
    for matcher in MATCHERS:
        defs[f"matcher.{matcher.kind}"] = _tagged_schema(matcher, {}, title=f"{matcher.kind}: matcher")
    matchers: list[JsonValue] = [{"$ref": f"#/$defs/matcher.{m.kind}"} for m in MATCHERS]
    defs["field_check"] = {"anyOf": [dict(SCALAR_SCHEMA), *matchers]}
    for name, cls in NESTED:
        defs[name] = _fields_schema(cls, title=name)
    objects: list[JsonValue] = [*sorted(object_schema().fields)]
    defs["object"] = {"enum": objects, "description": "an object of the object schema"}
    world = sample_world()
    users: list[JsonValue] = list(world.users)
    territories: list[JsonValue] = list(world.territories)
    defs["user"] = {"type": "string", "minLength": 1, "examples": users}
    defs["territory"] = {"type": "string", "minLength": 1, "examples": territories}
    head: JsonObject = {d.key: _key_schema(d) for d in declared(Scenario)}
    head["setup"] = {**_key_schema(_declared_key(Scenario, "steps")), "description": SETUP}
    required = [d.key for d in declared(Scenario) if d.required]
    out: JsonObject = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": SCHEMA_ID,
        **_object(head, required, title="Autosync Emulator scenario", description=summary(Scenario)),
        "$defs": defs,
    }
    return out


def schema_text() -> str:
    """The JSON Schema as the file in the repository has it."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# the reference -------------------------------------------------------------------------------------
def _keys_table(keys: list[Declared], own: str | None = None) -> list[str]:
    rows = ["| key | value | |", "|---|---|---|"]
    for d in keys:
        key = own if d.subject and own else d.key
        need = "**required**" if d.required or d.subject else ""
        rows.append(f"| `{key}:` | {d.meta.spec.words()} | {d.meta.doc}{'; ' if need else ''}{need} |")
    return rows


def _tagged_section(cls: type, level: str) -> list[str]:
    kind: str = getattr(cls, "kind")  # noqa: B009  # every tagged class has one
    lines = [f"{level} `{kind}`", "", doc_of(cls), ""]
    keys = list(declared(cls))
    if is_payload(cls):
        lines += [f"`{kind}:` holds a mapping:", ""]
    if not keys:
        lines += [f"`{kind}:` takes no value (`{kind}:` or `{kind}: true`).", ""]
    else:
        lines += [*_keys_table(keys, kind), ""]
    example = example_of(cls)
    if example:
        lines += ["```yaml", example, "```", ""]
    return lines


def markdown() -> str:
    """``docs/scenarios.md``: the reference of the scenario format, made from the classes."""
    lines = [
        "<!-- Made from the scenario language's classes (emulator/scenarios/actions.py, checks.py,",
        "     values.py, model.py): do not edit. Change the classes, then run",
        "     .venv/bin/autosync-emulator scenario docs --output docs/scenarios.md",
        "     .venv/bin/autosync-emulator scenario schema --output resources/scenario.schema.json",
        "     tests/scenarios/test_reference.py fails while this file or the schema is stale. -->",
        "",
        "# Scenario files: the reference",
        "",
        *_INTRO,
        "",
        "## The file",
        "",
        *_keys_table(list(declared(Scenario))),
        f"| `setup:` | {_declared_key(Scenario, 'steps').meta.spec.words()} | {SETUP} |",
        "",
        "### A device",
        "",
        *_keys_table(list(declared(DeviceSpec))),
        "",
        *_NAMES,
        "",
        "## Steps",
        "",
        "A step is a mapping: at most one action (its key names it), and these keys:",
        "",
        *_keys_table(list(declared(Step))),
        "",
        "An action on an iPad needs `device:` when the scenario has more than one; an online or",
        "stage action has none. A step without an action narrates, checks, or both.",
        "",
    ]
    for group, classes in ACTION_GROUPS:
        lines += [f"### {_group_title(group)}", "", doc_of(group), ""]
        for cls in classes:
            lines += _tagged_section(cls, "####")
    lines += ["## Child records", "", "`children:` of `edit:`, `new:` and `set:` lists these:", ""]
    for child in CHILD_CHANGES:
        lines += _tagged_section(child, "###")
    lines += ["## Checks", "", *_CHECKS, ""]
    for check_group, check_classes in CHECK_GROUPS:
        if len(check_classes) > 1:
            lines += [f"### {_group_title(check_group)}", "", doc_of(check_group), ""]
        for check in check_classes:
            lines += _tagged_section(check, "####" if len(check_classes) > 1 else "###")
    lines += ["## Matchers", "", *_MATCHERS, ""]
    for matcher in MATCHERS:
        lines += _tagged_section(matcher, "###")
    lines += ["## Values", "", *_VALUES, ""]
    for name, cls in NESTED[:4]:
        lines += [f"### {name.replace('_', ' ')}", "", doc_of(cls), "", *_keys_table(list(declared(cls))), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _group_title(group: type) -> str:
    return {
        "ScreenAction": "On the app's screens",
        "SyncAction": "Syncing and the Errors tab",
        "ControlAction": "The emulator's controls under an iPad",
        "OnlineAction": "Online",
        "StageAction": "The stage",
        "StateCheck": "What an iPad shows",
        "DataCheck": "Records",
        "StreamCheck": "The event stream",
    }.get(group.__name__, group.__name__)


_INTRO = [
    "A scenario is a YAML file: its iPads, the records it names, then steps a person could do",
    "(each with optional `say:` narration and `expect:` checks). Play one headless with",
    "`autosync-emulator scenario run FILE.yaml` (or on a standalone server with `--server URL",
    "--token ADMIN_TOKEN`), or in the app with *Scenario ▸ Open scenario…*. A bad file is refused",
    "before anything runs, with its file, line and what is wrong.",
    "",
    "Editors that speak the YAML language server (VS Code's YAML extension, and others) complete",
    "and check a file that starts with the schema comment, as every file in `resources/scenarios/`",
    "does:",
    "",
    "```yaml",
    "# yaml-language-server: $schema=../scenario.schema.json",
    "```",
    "",
    "(the path is relative to the file: `resources/scenario.schema.json`; `autosync-emulator",
    "scenario schema` prints it). Every example below is a few steps that play, as they are,",
    "after this head:",
    "",
    "```yaml",
    EXAMPLE_HEAD.rstrip("\n"),
    "```",
]
_NAMES = [
    "## Naming records",
    "",
    "A record is named, never given by a server ID (IDs differ between runs, and between an iPad's",
    "temporary ID and the server's):",
    "",
    "* `harper`: a name from `records:` (a lookup, pinned to the record it first finds) or bound",
    "  by `as: harper` on the step that created the record;",
    "* `{object: account__v, where: {last_name__v: Harper}}`: a lookup written in place, looked up",
    "  on the step's iPad (or online) each time it is used. It must find exactly one record.",
    "",
    'In a field value, `"@harper"` is that record\'s ID (`"@@"` starts a text that begins with `@`),',
    "and `today`, `today+3`, `today-1` are dates on the emulated clock.",
]
_CHECKS = [
    "`expect:` lists checks; each is looked at after its step has been played and everything it",
    "started has settled (the clock moves only on `advance:`, or while a sync takes its time). A",
    "failed check does not stop the scenario; it is reported with its file and line. A check's key",
    "names it; `record:` names a record check only when no other check key is there (it is also",
    "an option of `sync_errors:`, `waiting:`, `feed:` and `event:`).",
]
_MATCHERS = [
    "Where a check compares field values (`fields:` of `record:`, `where:` of `matching:`,",
    "`values:` of `sync_errors:`), a value may be a matcher instead: a mapping with one of these",
    "keys.",
]
_VALUES = [
    "Durations are written `30s`, `5m`, `2h`, `7d`, `1m30s`, `7d 1s`, `500ms`, or as a number of",
    "seconds. Switches (`xray:`, `refresh_mode:`) are `on` or `off`. A check's `at:` is a device ID",
    "or `online`; an event's `at:` is who had it: a device ID, `online`, `stage`, `server` or",
    "`feed:USER`. Mappings used inside steps and checks:",
]
