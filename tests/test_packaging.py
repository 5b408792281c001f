"""The wheel carries everything in resources/ (a plain ``pip install .`` works, not only a checkout)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from autosync_resources import RESOURCES

ROOT = Path(__file__).resolve().parents[1]


def test_every_resource_file_is_declared_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["package-dir"]["autosync_resources"] == "resources"
    assert "autosync_resources" in config["packages"]
    shipped = {p for pattern in config["package-data"]["autosync_resources"] for p in RESOURCES.glob(pattern)}
    present = {
        p for p in RESOURCES.rglob("*") if p.is_file() and p.suffix != ".pyc" and p.name != "__init__.py"
    }
    assert present, "resources/ holds the schema, the sample data and the scenarios"
    assert present - shipped == set(), "add these to [tool.setuptools.package-data] autosync_resources"


def test_every_python_package_is_declared() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("autosync_wire", "emulator", "server_stub")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found <= set(config["packages"]), (
        f"missing from [tool.setuptools] packages: {found - set(config['packages'])}"
    )


def test_the_wire_package_is_shipped_typed_and_checked() -> None:
    """autosync_wire (what engine and server both import) ships, carries py.typed and is type-checked."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = pyproject["tool"]
    assert "autosync_wire" in tool["setuptools"]["packages"]
    assert (ROOT / "autosync_wire" / "py.typed").is_file()
    assert "autosync_wire" in tool["mypy"]["files"]
    assert "autosync_wire" in tool["importlinter"]["root_packages"]
    neutral = [c for c in tool["importlinter"]["contracts"] if c["source_modules"] == ["autosync_wire"]]
    assert neutral and set(neutral[0]["forbidden_modules"]) >= {"emulator", "server_stub"}
