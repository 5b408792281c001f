"""The rules catalogue in the repository (docs/rules.md) is in step with the code and the tests."""

from __future__ import annotations

import re
from pathlib import Path

from emulator.scenarios.loader import library_dir, load_scenario
from emulator.scenarios.model import RULE_IDS

ROOT = Path(__file__).resolve().parents[1]
RULE = re.compile(r"AS-\d\d")


def test_the_catalogue_lists_exactly_the_rules_the_scenario_model_knows() -> None:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| (AS-\d\d) \|", text, flags=re.MULTILINE)
    assert listed == list(RULE_IDS), "docs/rules.md and RULE_IDS list the same rules, in order"


def test_every_rule_is_proved_by_a_test_and_shown_by_a_scenario() -> None:
    tested = {
        rule
        for path in (ROOT / "tests").rglob("test_*.py")
        for rule in RULE.findall(path.read_text(encoding="utf-8"))
        if path.name != Path(__file__).name
    }
    shown = {rule for path in library_dir().glob("*.yaml") for rule in load_scenario(path).rules}
    assert set(RULE_IDS) - tested == set(), "rules no test names"
    assert set(RULE_IDS) - shown == set(), "rules no scenario shows"
