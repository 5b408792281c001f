"""A small runtime checker: an event's data against the TypedDict its kind declares (EVENT_DATA)."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import ForwardRef, Literal, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

from emulator.engine import events
from emulator.engine.events import EVENT_DATA, Event


def _resolve(hint: object) -> object:
    if isinstance(hint, str):
        hint = ForwardRef(hint)
    if isinstance(hint, ForwardRef):  # the recursive ``Json`` alias
        return eval(hint.__forward_arg__, vars(events))  # a name in our own module
    return hint


def problems(value: object, hint: object, where: str) -> list[str]:
    """Where ``value`` is not of the type ``hint`` (the subset of typing the event data use)."""
    hint = _resolve(hint)
    origin, args = get_origin(hint), get_args(hint)
    if is_typeddict(hint):
        return typed_dict_problems(value, typing.cast(type, hint), where)
    if origin in (Union, types.UnionType):
        found = [problems(value, a, where) for a in args]
        return [] if any(not p for p in found) else [f"{where} = {value!r} is not {hint}"]
    if origin is Literal:
        return [] if value in args else [f"{where} = {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where} = {value!r} is not a list"]
        return [p for n, v in enumerate(value) for p in problems(v, args[0], f"{where}[{n}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where} = {value!r} is not a dict"]
        return [
            p
            for k, v in value.items()
            for p in problems(k, args[0], f"{where} key") + problems(v, args[1], f"{where}.{k}")
        ]
    if hint is None or hint is type(None):
        return [] if value is None else [f"{where} = {value!r} is not None"]
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where} = {value!r} is not a float"]
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where} = {value!r} is not an int"]
    assert isinstance(hint, type), f"{where}: the checker does not know {hint!r}"
    return [] if isinstance(value, hint) else [f"{where} = {value!r} is not a {hint.__name__}"]


def typed_dict_problems(value: object, shape: type, where: str) -> list[str]:
    """Missing keys, unknown keys and values of the wrong type in ``value`` read as ``shape``."""
    if not isinstance(value, Mapping):
        return [f"{where} = {value!r} is not a mapping"]
    # read from the annotations: ``__required_keys__`` misses ``NotRequired`` under PEP 563
    hints = get_type_hints(shape, include_extras=True)
    optional = {key for key, hint in hints.items() if get_origin(hint) is NotRequired}
    hints = {key: get_args(hint)[0] if key in optional else hint for key, hint in hints.items()}
    required = hints.keys() - optional
    out = [f"{where}: {key!r} missing ({shape.__name__})" for key in sorted(required - value.keys())]
    out += [f"{where}: {key!r} unknown to {shape.__name__}" for key in sorted(value.keys() - hints.keys())]
    for key in sorted(value.keys() & hints.keys()):
        out += problems(value[key], hints[key], f"{where}.{key}")
    return out


def event_problems(event: Event) -> list[str]:
    """What in ``event.data`` differs from the TypedDict its kind declares."""
    return typed_dict_problems(event.data, EVENT_DATA[event.kind], f"{event.kind.value} #{event.seq}")
