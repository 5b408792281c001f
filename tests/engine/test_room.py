"""A device tells the server who it is and how long its queue is, so the trainer sees the room."""

from __future__ import annotations

from typing import Any

from tests.engine.conftest import World, account_of


def room(world: World) -> dict[str, dict[str, Any]]:
    return {d["device_id"]: d for d in world.online("GET", "/devices")["devices"]}


def test_the_server_lists_each_ipad_with_its_model_and_last_reported_queue(world: World) -> None:
    pro = world.device("Anna iPad Pro")
    air = world.device("Anna iPad Air", model="iPad Air 2")
    world.poll_all()
    listed = room(world)
    assert listed[pro.id]["model"] == "iPad Pro 11-inch" and listed[air.id]["model"] == "iPad Air 2"
    assert listed[air.id]["user_id"] == "anna" and listed[air.id]["queue_length"] == 0
    assert listed[air.id]["last_poll_at"] == world.stage.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listed[air.id]["last_upload_at"] is None
    account = account_of(air)
    air.set_network("offline")
    air.save("account__v", account["id"], {"phone__v": "+1 555 0111"})
    air.save("account__v", account["id"], {"email__v": "two@example.org"})
    air.set_foreground(False)  # in the background the queue waits, but a request still goes out
    air.set_network("online")
    world.settle()
    world.run(air.client.get("/api/v1/me"))
    assert room(world)[air.id]["queue_length"] == 2, "the queue as it stood when the request left"
    air.set_foreground(True)
    world.settle()
    world.poll_all()
    after = room(world)[air.id]
    assert after["queue_length"] == 0 and after["last_upload_at"] is not None
