"""Bug bundles: one file with everything QA needs to replay what happened, event for event.

A bundle is a YAML file::

    bundle: autosync-emulator bug bundle 1
    app_version: 0.1.0
    seed: 0
    title: ...
    scenario: |
      title: ...          # the scenario file, as the loader reads it
      steps: ...
    events:               # the full event stream (Event.to_json()) of the run it came from
      - {seq: 1, time: ..., actor: stage, kind: device_added, ...}

``autosync-emulator scenario run BUNDLE`` plays the scenario with the bundle's seed and then
compares the replayed event stream with the recorded one, reporting the first difference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from emulator.engine.events import Event
from emulator.scenarios.loader import ScenarioFileError, parse_scenario
from emulator.scenarios.model import Scenario
from emulator.scenarios.writer import to_yaml, write_file

MAGIC = "autosync-emulator bug bundle 1"
#: The fields an event is compared on (``seq`` is its place in the stream).
EVENT_FIELDS = ("time", "actor", "kind", "text", "record", "data")
_SCENARIO_KEY = re.compile(r"^scenario:\s*[|>]")
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def app_version() -> str:
    try:
        return metadata.version("autosync-emulator")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def plain_events(events: Iterable[Event | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Events as plain JSON values (tuples as lists ...), so a stream compares equal to its copy."""
    rows = [e.to_json() if isinstance(e, Event) else dict(e) for e in events]
    loaded: list[dict[str, Any]] = json.loads(json.dumps(rows, default=str))
    return loaded


@dataclass(frozen=True)
class Bundle:
    """A loaded bug bundle."""

    scenario: Scenario
    seed: int
    events: list[dict[str, Any]]
    app_version: str
    source: str


class _BundleDumper(_Dumper):  # type: ignore[misc, valid-type]  # the C dumper is untyped
    """Writes multi-line text (the scenario) as a literal block, so the bundle reads like the file."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BundleDumper.add_representer(str, _text)


def bundle_text(scenario: Scenario | str, events: Iterable[Event | Mapping[str, Any]], seed: int) -> str:
    """The bundle file's text: the scenario (a model or its YAML), the event stream and the seed."""
    text = scenario if isinstance(scenario, str) else to_yaml(scenario)
    title = scenario.title if isinstance(scenario, Scenario) else ""
    data: dict[str, Any] = {"bundle": MAGIC, "app_version": app_version(), "seed": seed}
    if title:
        data["title"] = title
    data["scenario"] = text if text.endswith("\n") else text + "\n"
    data["events"] = plain_events(events)
    dumped: str = yaml.dump(data, Dumper=_BundleDumper, sort_keys=False, allow_unicode=True, width=120)
    return dumped


def save_bundle(
    path: str | Path, scenario: Scenario | str, events: Iterable[Event | Mapping[str, Any]], seed: int
) -> Path:
    return write_file(path, bundle_text(scenario, events, seed))


def is_bundle(path: str | Path) -> bool:
    """Whether ``path`` is a bug bundle (its first line is ``bundle: ...``)."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            first = handle.readline()
    except (OSError, UnicodeDecodeError):
        return False
    return first.startswith("bundle:")


def load_bundle(path: str | Path) -> Bundle:
    """Read a bundle; a bad one raises ScenarioFileError (scenario lines are the bundle's lines)."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioFileError(source, 0, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ScenarioFileError(source, mark.line + 1 if mark else 0, f"not a valid bundle: {exc}") from None
    if not isinstance(data, dict) or data.get("bundle") != MAGIC:
        raise ScenarioFileError(source, 1, f"not a bug bundle (the first line should be bundle: {MAGIC})")
    scenario_text = data.get("scenario")
    events = data.get("events")
    seed = data.get("seed", 0)
    if not isinstance(scenario_text, str):
        raise ScenarioFileError(source, 1, "the bundle has no scenario: text")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise ScenarioFileError(source, 1, "the bundle's events: must be a list of events")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ScenarioFileError(source, 1, f"the bundle's seed must be a whole number, not {seed!r}")
    lines = text.splitlines()
    offset = next((n + 1 for n, line in enumerate(lines) if _SCENARIO_KEY.match(line)), 0)
    scenario = parse_scenario("\n" * offset + scenario_text, source=source, path=path)
    return Bundle(scenario, seed, plain_events(events), str(data.get("app_version", "?")), source)


def first_difference(
    recorded: Sequence[Mapping[str, Any]], replayed: Sequence[Mapping[str, Any]]
) -> str | None:
    """None if the two streams are the same event for event, else the first difference in words."""
    for n, (old, new) in enumerate(zip(recorded, replayed, strict=False), start=1):
        wrong = [k for k in EVENT_FIELDS if old.get(k) != new.get(k)]
        if wrong:
            detail = "; ".join(f"{k}: recorded {old.get(k)!r}, replayed {new.get(k)!r}" for k in wrong)
            return f"event {n} differs ({detail})"
    if len(recorded) != len(replayed):
        n = min(len(recorded), len(replayed))
        longer, extra = (
            ("recorded", recorded[n]) if len(recorded) > len(replayed) else ("replayed", replayed[n])
        )
        return (
            f"the recorded stream has {len(recorded)} events, the replay {len(replayed)}; "
            f"event {n + 1} is only in the {longer} one: {extra.get('kind')} by {extra.get('actor')}: "
            f"{extra.get('text')!r}"
        )
    return None
