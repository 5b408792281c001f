"""The same stage against a standalone ``autosync-stub`` over a real socket (``--server URL``).

Rules: AS-03, AS-15, AS-16, AS-20, AS-27.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from emulator.stage import Stage
from tests.conftest import LoopRunner
from tests.engine.conftest import account_of
from tests.stub_process import ADMIN_TOKEN, running_stub


@pytest.mark.rule("AS-03")
@pytest.mark.rule("AS-15")
@pytest.mark.rule("AS-16")
@pytest.mark.rule("AS-20")
@pytest.mark.rule("AS-27")
def test_a_save_reaches_the_other_ipad_through_a_standalone_server(tmp_path: Path) -> None:
    loop = LoopRunner()
    with running_stub(tmp_path / "stub.db") as url:
        stage = Stage(data_dir=tmp_path / "stage", server_url=url, admin_token=ADMIN_TOKEN)
        try:
            loop.run(stage.start())
            pro = loop.run(stage.add_device("Anna's iPad Pro", "anna"))
            air = loop.run(stage.add_device("Anna's iPad Air", "anna", model="iPad Air 2"))
            account = account_of(pro)
            pro.save("account__v", account["id"], {"phone__v": "+1 617-555-7777"})
            loop.run(stage.settle())
            assert pro.queue() == [] and pro.sync_state(account["id"]) == "synced"  # uploaded at once
            online = loop.run(stage.online("GET", "/records", params={"object": "account__v", "limit": 5000}))
            assert {r["id"]: r["fields"].get("phone__v") for r in online["records"]}[account["id"]] == (
                "+1 617-555-7777"
            )
            assert air.record(account["id"])["phone__v"] != "+1 617-555-7777"  # type: ignore[index]
            loop.run(stage.advance(timedelta(seconds=30)))  # the Air's next feed poll, over the socket
            assert air.record(account["id"])["phone__v"] == "+1 617-555-7777"  # type: ignore[index]

            loop.run(
                stage.online(
                    "PATCH",
                    f"/records/account__v/{account['id']}",
                    json={"fields": {"phone__v": "+1 617-555-8888"}, "actor": "integration"},
                )
            )
            report = loop.run(
                stage.complete(air.syncer.run())
            )  # online edits arrive only by incremental sync
            assert report.ok
            assert air.record(account["id"])["phone__v"] == "+1 617-555-8888"  # type: ignore[index]
        finally:
            loop.run(stage.close())
            loop.close()
