"""Writing scenarios back out: a :class:`~emulator.scenarios.model.Scenario` as loader-ready YAML.

The inverse of the loader: ``parse_scenario(to_yaml(s))`` gives back the same scenario (line
numbers aside). The recorder and bug bundles write scenarios through here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from emulator.scenarios.model import (
    FLAG_ACTIONS,
    Check,
    ChildChange,
    DeviceSpec,
    Lookup,
    Scenario,
    Step,
    format_duration,
)

#: Actions whose value names a record.
REF_ACTIONS = frozenset({"open", "edit", "delete", "resolve", "online_edit"})


def ref_data(ref: Any) -> Any:
    """A record ref as the loader reads it: a name, or ``{object, where}``."""
    if isinstance(ref, Lookup):
        return {"object": ref.object, "where": dict(ref.where)}
    return ref


def _plain(value: Any) -> Any:
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, Lookup):
        return ref_data(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def device_data(spec: DeviceSpec) -> dict[str, Any]:
    out: dict[str, Any] = {"id": spec.id, "name": spec.name, "user": spec.user}
    out["model"], out["ios"] = spec.model, spec.ios
    if spec.later:
        out["later"] = True
    return out


def child_data(child: ChildChange) -> dict[str, Any]:
    if child.op == "add":
        out: dict[str, Any] = {"add": child.object}
        if child.fields:
            out["set"] = dict(child.fields)
        if child.bind:
            out["as"] = child.bind
        return out
    if child.op == "edit":
        return {"edit": ref_data(child.record), "set": dict(child.fields)}
    return {"remove": ref_data(child.record)}


def check_data(check: Check) -> dict[str, Any]:
    subject = ref_data(check.subject) if check.kind == "record" else check.subject
    return {check.kind: subject, **{k: _plain(v) for k, v in check.options.items()}}


def step_data(step: Step) -> dict[str, Any]:
    """One step as a mapping the loader accepts."""
    out: dict[str, Any] = {}
    if step.device is not None:
        out["device"] = step.device
    a = step.action
    if a == "set":
        out["set"] = dict(step.fields)
    elif a is not None:
        if a in FLAG_ACTIONS:
            out[a] = True
        elif a in REF_ACTIONS:
            out[a] = ref_data(step.value)
        else:
            out[a] = _plain(step.value)
        if step.fields:
            out["set"] = dict(step.fields)
    if step.children:
        out["children"] = [child_data(c) for c in step.children]
    if step.then is not None:
        out["then"] = step.then
    if step.bind is not None:
        out["as"] = step.bind
    out.update({k: _plain(v) for k, v in step.options.items()})
    if step.say:
        out["say"] = step.say
    if step.expect:
        out["expect"] = [check_data(c) for c in step.expect]
    return out


def head_data(
    title: str,
    description: str,
    rules: Iterable[str],
    seed: int,
    devices: Iterable[DeviceSpec],
    records: Mapping[str, Lookup],
    start: datetime | None = None,
) -> dict[str, Any]:
    """What a scenario file says before its steps, as plain data."""
    out: dict[str, Any] = {"title": title}
    if description:
        out["description"] = description
    if rules:
        out["rules"] = list(rules)
    out["seed"] = seed
    if start is not None:
        out["start"] = start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    out["devices"] = [device_data(d) for d in devices]
    if records:
        out["records"] = {name: ref_data(lookup) for name, lookup in records.items()}
    return out


def scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The whole scenario as plain data (what :func:`to_yaml` writes)."""
    s = scenario
    out = head_data(s.title, s.description, s.rules, s.seed, s.devices, s.records, s.start)
    setup = [step_data(s) for s in scenario.steps if s.setup]
    if setup:
        out["setup"] = setup
    out["steps"] = [step_data(s) for s in scenario.steps if not s.setup]
    return out


def dump_yaml(data: Any) -> str:
    """Plain data as block YAML, keys in the order given, any text allowed."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def to_yaml(scenario: Scenario) -> str:
    """A scenario as a YAML file the loader reads back to the same scenario."""
    return dump_yaml(scenario_data(scenario))


def write_file(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` whole or not at all (a temporary file renamed over it)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
