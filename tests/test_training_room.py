"""The README's training room holds: its two commands parse, and an app joins such a server."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import httpx

from emulator.app import parse_args as app_args
from emulator.stage import Stage
from server_stub.cli import parse_args as stub_args
from tests.conftest import LoopRunner
from tests.stub_process import ADMIN_TOKEN, running_stub

ROOT = Path(__file__).resolve().parents[1]


def room_commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## A training room") :]
    section = section[: section.index("\n## ", 3)]
    return [shlex.split(block.strip()) for block in re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)]


def test_the_readme_training_room_commands_are_ones_the_programs_accept() -> None:
    stub, app = room_commands()
    assert stub[:2] == ["./dev", "stub"] and app[:2] == ["./dev", "app"]
    args = stub_args(stub[2:])
    assert args.workers == 2 and args.db.startswith("postgresql+psycopg://")
    assert args.user_tokens == "random", "a room's server refuses the development tokens"
    joined = app_args(app[2:])
    assert joined.server.startswith("http://") and joined.token == "ADMIN_TOKEN"


def test_the_postgres_extra_carries_the_driver_the_readme_names() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.startswith("psycopg[binary]") for dep in extras["optional-dependencies"]["postgres"])
    assert "postgresql+psycopg://" in room_commands()[0][-3]


def test_an_app_joins_a_server_whose_users_have_random_tokens(tmp_path: Path) -> None:
    loop = LoopRunner()
    with running_stub(tmp_path / "room.db", "--user-tokens", "random") as url:
        refused = httpx.get(
            f"{url}/api/v1/me", headers={"Authorization": "Bearer anna-dev-token"}, timeout=10
        )
        assert refused.status_code == 401
        stage = Stage(server_url=url, admin_token=ADMIN_TOKEN, data_dir=tmp_path / "ipads")
        try:
            loop.run(stage.start())
            ipad = loop.run(stage.add_device("Trainee iPad", "anna", model="iPad mini 6"))
            loop.run(ipad.poller.poll())
            room = loop.run(stage.online("GET", "/devices"))["devices"]
            assert [(d["user_id"], d["device_id"], d["model"]) for d in room] == [
                ("anna", ipad.id, "iPad mini 6")
            ]
        finally:
            loop.run(stage.close())
            loop.close()
