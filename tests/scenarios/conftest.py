"""Helpers for scenario tests: play a scenario headless; find values not of their declared type."""

from __future__ import annotations

import dataclasses
import types
from collections import abc
from pathlib import Path
from typing import Annotated, ClassVar, Literal, Union, get_args, get_origin, get_type_hints

from emulator.scenarios.loader import parse_scenario
from emulator.scenarios.runner import ScenarioResult, run_scenario
from tests.conftest import detached_from_running_loop


def play(source: str | Path, seed: int | None = None) -> ScenarioResult:
    """Play scenario YAML text (or a file) on a fresh stage, in a private event loop."""
    scenario = parse_scenario(source, source="test.yaml") if isinstance(source, str) else source
    with detached_from_running_loop():
        return run_scenario(scenario, seed)


def _holds(value: object, hint: object) -> bool:
    """Whether ``value`` is of the type ``hint`` (the subset of typing the scenario model uses)."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        return _holds(value, args[0])
    if origin in (Union, types.UnionType):
        return any(_holds(value, a) for a in args)
    if origin is Literal:
        return value in args
    if origin is tuple:
        return isinstance(value, tuple) and all(_holds(v, args[0]) for v in value)
    if origin is ClassVar:
        return True
    if origin in (abc.Mapping, dict):
        return isinstance(value, abc.Mapping) and all(
            _holds(k, args[0]) and _holds(v, args[1]) for k, v in value.items()
        )
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is None or hint is type(None):
        return value is None
    assert isinstance(hint, type), hint
    return isinstance(value, hint)


def wrong_types(value: object, where: str = "") -> list[str]:
    """Every field of every dataclass in ``value`` whose value is not of its declared type."""
    if isinstance(value, list | tuple):
        return [w for n, v in enumerate(value) for w in wrong_types(v, f"{where}[{n}]")]
    if isinstance(value, abc.Mapping):
        return [w for k, v in value.items() for w in wrong_types(v, f"{where}.{k}")]
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return []
    hints = get_type_hints(type(value), include_extras=True)
    out = []
    for f in dataclasses.fields(value):
        item = getattr(value, f.name)
        if not _holds(item, hints[f.name]):
            out.append(f"{where}.{type(value).__name__}.{f.name} = {item!r}")
        out += wrong_types(item, f"{where}.{f.name}")
    return out
