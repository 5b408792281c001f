"""The scenario loader reads with libyaml where it can (issue 11): the same scenarios, lines and errors."""

from __future__ import annotations

import pytest
import yaml

from emulator.scenarios import loader
from emulator.scenarios.loader import ScenarioFileError, library_dir, load_scenario, parse_scenario


def test_every_library_file_reads_the_same_with_both_loaders(monkeypatch: pytest.MonkeyPatch) -> None:
    files = sorted(library_dir().glob("*.yaml"))
    fast = [load_scenario(path) for path in files]
    monkeypatch.setattr(loader, "_FastLoader", yaml.SafeLoader)
    pure = [load_scenario(path) for path in files]
    assert [repr(s) for s in fast] == [repr(s) for s in pure]


BAD = """\
title: Broken
devices:
  - {id: ipad, user: anna
steps: []
"""


def test_a_file_libyaml_refuses_is_told_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ScenarioFileError) as fast:
        parse_scenario(BAD, source="bad.yaml")
    monkeypatch.setattr(loader, "_FastLoader", yaml.SafeLoader)
    with pytest.raises(ScenarioFileError) as pure:
        parse_scenario(BAD, source="bad.yaml")
    assert str(fast.value) == str(pure.value)
    assert "not valid YAML" in str(fast.value)
