"""Stage.reset(): the sample state again, the same iPads from scratch; a failed reset loses nothing."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.errors import ServerRefused
from emulator.stage import Stage
from tests.engine.conftest import World, account_of


def _edit_both_sides(world: World) -> tuple[str, str]:
    pro = world.device("Anna's iPad Pro")
    world.device("Chloe's iPad", "chloe", model="iPad Air (5th generation)")
    account = account_of(pro)["id"]
    pro.set_network("offline")
    pro.save("account__v", account, {"phone__v": "+1 000 queued"})
    world.online("PATCH", f"/records/account__v/{account}", json={"fields": {"email__v": "x@online.example"}})
    return pro.id, account


def test_reset_brings_back_the_sample_state_with_the_same_ipads(world: World) -> None:
    pro_id, account = _edit_both_sides(world)
    first = len(world.events())
    before = {d.id: d for d in world.stage.devices.values()}
    profiles = [(d.id, d.profile.name, d.profile.user_id, d.profile.model) for d in before.values()]

    devices = world.run(world.stage.reset())

    assert [(d.id, d.profile.name, d.profile.user_id, d.profile.model) for d in devices] == profiles
    assert list(world.stage.devices) == [d.id for d in devices], "in the same order"
    assert all(d is not before[d.id] and not d.is_closed for d in devices) and all(
        d.is_closed for d in before.values()
    )
    pro = world.stage.devices[pro_id]
    assert pro.queue() == [] and pro.conditions.mode == "online", "set up from scratch"
    assert (pro.record(account) or {}).get("phone__v") != "+1 000 queued"
    assert world.online_record("account__v", account).get("email__v") != "x@online.example"
    kinds = [e.kind for e in world.events()[first:] if e.actor in ("stage", "online")]
    assert kinds == ["device_removed", "device_removed", "online_change", "device_added", "device_added"]


def test_a_refused_reset_wipes_nothing_and_says_why(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    pro_id, account = _edit_both_sides(world)
    stage: Stage = world.stage
    real_online = stage.online

    async def refusing(method: str, path: str, **kwargs: Any) -> Any:
        if path == "/reset":
            raise ServerRefused(403, "the token may not do or see this")
        return await real_online(method, path, **kwargs)

    monkeypatch.setattr(stage, "online", refusing)
    with pytest.raises(ServerRefused, match="may not do"):
        world.run(stage.reset())

    pro = stage.devices[pro_id]
    assert len(stage.devices) == 2, "the iPads are back on the stage"
    assert (pro.record(account) or {})["phone__v"] == "+1 000 queued", "reopened from its file, not wiped"
    world.settle()  # back online after its restart: the save kept in its queue goes up
    assert pro.queue() == []
    assert world.online_record("account__v", account)["phone__v"] == "+1 000 queued"
