"""The published format: the JSON Schema and docs/scenarios.md are made from the classes and current.

Every example in the reference plays and passes; every library file names the schema on its
first line and is valid by it; the schema refuses what the loader refuses.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema_rs
import pytest
import yaml

from emulator.scenarios import cli, reference
from emulator.scenarios.actions import ACTION_GROUPS
from emulator.scenarios.checks import CHECK_GROUPS
from emulator.scenarios.loader import ScenarioFileError, library_dir, parse_scenario
from emulator.scenarios.specs import declared
from emulator.scenarios.values import CHILD_CHANGES, MATCHERS
from tests.scenarios.conftest import play, wrong_types

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = (
    "stale: run .venv/bin/autosync-emulator scenario docs --output docs/scenarios.md "
    "and scenario schema --output resources/scenario.schema.json"
)
CLASSES = [
    *(cls for _, group in ACTION_GROUPS for cls in group),
    *(cls for _, group in CHECK_GROUPS for cls in group),
    *CHILD_CHANGES,
    *MATCHERS,
]
LIBRARY = sorted(library_dir().glob("*.yaml"))


class _YamlAsWritten(yaml.SafeLoader):
    """Reads times and dates as the text they are written as (what an editor's schema sees)."""


_YamlAsWritten.add_constructor(
    "tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node)
)


def validator() -> jsonschema_rs.Draft7Validator:
    return jsonschema_rs.validator_for(json.loads((ROOT / reference.SCHEMA_PATH).read_text(encoding="utf-8")))


def test_the_schema_in_the_repository_is_made_from_the_classes() -> None:
    assert (ROOT / reference.SCHEMA_PATH).read_text(encoding="utf-8") == reference.schema_text(), REGENERATE


def test_the_reference_in_the_repository_is_made_from_the_classes() -> None:
    text = (ROOT / reference.DOCS_PATH).read_text(encoding="utf-8")
    assert text == reference.markdown(), REGENERATE
    assert "scenario docs --output docs/scenarios.md" in text, "the reference says how it is made"


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.__module__.rsplit('.', 1)[1]}.{c.kind}")
def test_every_step_check_and_matcher_has_a_documented_example_that_plays(cls: type) -> None:
    docs = (ROOT / reference.DOCS_PATH).read_text(encoding="utf-8")
    example = reference.example_of(cls)
    assert reference.doc_of(cls) and example in docs, "documented, with its example"
    assert all(d.meta.doc for d in declared(cls)), "every key says what it means"
    scenario = parse_scenario(reference.example_scenario(cls), source=f"{cls.__name__}.yaml")
    assert cls in _classes_in(scenario), f"the example of {cls.__name__} shows it"
    assert wrong_types(list(scenario.steps)) == [], "read into the declared types"
    result = play(scenario)
    assert result.passed, "\n".join(result.failures())
    assert result.checks, "the example shows what the step does"


def _classes_in(scenario: object) -> set[type]:
    """Every class of the language in a scenario (steps' actions, checks, children, matchers)."""
    found: set[type] = set()

    def walk(value: object) -> None:
        found.add(type(value))
        if isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                walk(getattr(value, name))

    walk(scenario)
    return found


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.stem)
def test_a_library_file_names_the_schema_and_is_valid_by_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../scenario.schema.json"
    assert (path.parent / "../scenario.schema.json").resolve() == (ROOT / reference.SCHEMA_PATH).resolve()
    errors = [str(e) for e in validator().iter_errors(yaml.load(text, Loader=_YamlAsWritten))]
    assert errors == []


@pytest.mark.parametrize(
    "step",
    [
        "{device: pro, dance: harper}",  # an unknown step
        "{device: pro, network: sometimes}",  # a bad choice
        "{device: pro, leave: , mood: happy}",  # a key that does not go with the step
        "{advance: 5s, device: pro}",  # a stage action on a device
        "{device: pro, resolve: harper}",  # a missing key
        "{say: hi, expect: [{queue: pro, length: 2}]}",  # an unknown key of a check
        "{say: hi, expect: [{sync_widget: pro, colour: blue}]}",
        "{say: hi, expect: [{matching: {object: account__v}, at: online}]}",  # count: missing
        "{sync_settings: {user: anna}}",  # no setting given
        "{territory_alignment: {accounts: [harper]}}",  # moving accounts needs territory
    ],
)
def test_the_schema_refuses_what_the_loader_refuses(step: str) -> None:
    text = reference.EXAMPLE_HEAD + f"  - {step}\n"
    with pytest.raises(ScenarioFileError, match=r"test\.yaml:9: "):
        parse_scenario(text, source="test.yaml")
    assert not validator().is_valid(yaml.load(text, Loader=_YamlAsWritten))


def test_the_schema_accepts_what_the_loader_accepts() -> None:
    checked = validator()
    for cls in CLASSES:
        data = yaml.load(reference.example_scenario(cls), Loader=_YamlAsWritten)
        assert [str(e) for e in checked.iter_errors(data)] == [], cls.__name__


@pytest.mark.parametrize("command", ["schema", "docs"])
def test_scenario_schema_and_docs_print_or_write_what_the_classes_make(command: str, tmp_path: Path) -> None:
    made = reference.schema_text() if command == "schema" else reference.markdown()
    out = io.StringIO()
    assert cli.main([command], out=out) == 0
    assert out.getvalue() == made
    target = tmp_path / "out"
    assert cli.main([command, "--output", str(target)], out=io.StringIO()) == 0
    assert target.read_text(encoding="utf-8") == made


def test_the_desktop_entry_point_writes_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from emulator.app import main

    assert main(["scenario", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$id"] == reference.SCHEMA_ID
    assert {"check.never", "check.matching", "check.uploads", "check.in_order"} <= set(schema["$defs"])
