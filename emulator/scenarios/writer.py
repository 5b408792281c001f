"""Writing scenarios back out: a :class:`~emulator.scenarios.model.Scenario` as loader-ready YAML.

The inverse of the loader: ``parse_scenario(to_yaml(s))`` gives back the same scenario (line
numbers aside). Each step, check and value is written by the same declarations the loader reads
it by (:mod:`emulator.scenarios.specs`), so the two cannot drift apart. The recorder and bug
bundles write scenarios through here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import yaml

from emulator.scenarios.checks import CheckKind
from emulator.scenarios.model import DeviceSpec, Lookup, Scenario, Step
from emulator.scenarios.specs import fields_data, plain, tagged_data
from emulator.scenarios.values import RecordRef


def ref_data(ref: RecordRef) -> str | dict[str, object]:
    """A record ref as the loader reads it: a name, or ``{object, where}``."""
    return ref if isinstance(ref, str) else fields_data(ref)


def device_data(spec: DeviceSpec) -> dict[str, object]:
    out: dict[str, object] = {"id": spec.id, "name": spec.name, "user": spec.user}
    out["model"], out["ios"] = spec.model, spec.ios
    if spec.later:
        out["later"] = True
    return out


def check_data(check: CheckKind) -> dict[str, object]:
    return tagged_data(check)


def step_data(step: Step) -> dict[str, object]:
    """One step as a mapping the loader accepts."""
    out: dict[str, object] = {}
    if step.device is not None:
        out["device"] = step.device
    if step.action is not None:
        out.update(tagged_data(step.action))
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
) -> dict[str, object]:
    """What a scenario file says before its steps, as plain data."""
    out: dict[str, object] = {"title": title}
    if description:
        out["description"] = description
    if rules:
        out["rules"] = list(rules)
    out["seed"] = seed
    if start is not None:
        out["start"] = start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    out["devices"] = [device_data(d) for d in devices]
    if records:
        out["records"] = {name: plain(lookup) for name, lookup in records.items()}
    return out


def scenario_data(scenario: Scenario) -> dict[str, object]:
    """The whole scenario as plain data (what :func:`to_yaml` writes)."""
    s = scenario
    out = head_data(s.title, s.description, s.rules, s.seed, s.devices, s.records, s.start)
    setup = [step_data(s) for s in scenario.steps if s.setup]
    if setup:
        out["setup"] = setup
    out["steps"] = [step_data(s) for s in scenario.steps if not s.setup]
    return out


def dump_yaml(data: object) -> str:
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
