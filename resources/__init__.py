"""Data shipped with the app (installed as ``autosync_resources``): schema, sample data, scenarios."""

from pathlib import Path

#: The folder holding ``schema/``, ``sample/`` and ``scenarios/``.
RESOURCES = Path(__file__).resolve().parent
