"""The upload loop and the network: when a waiting item goes (AS-06)."""

from __future__ import annotations

import pytest

from emulator.engine.backoff import retry_delay
from tests.engine.conftest import World, account_of


@pytest.mark.rule("AS-06")
def test_lie_fi_back_to_online_sends_the_waiting_item_at_once(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_network("lie-fi")
    ipad.save("account__v", account["id"], {"phone__v": "after lie-fi"})
    # three timeouts: the head now waits retry_delay(3) before its fourth attempt
    world.advance(seconds=30 + retry_delay(1).total_seconds() + 30 + retry_delay(2).total_seconds() + 30)
    (head,) = ipad.queue()
    assert head.state == "waiting" and head.attempts == 3
    ipad.set_network("online")
    world.settle()  # no emulated time passes
    assert ipad.queue() == [], "the item left at once, not at its next retry"
    assert world.online_record("account__v", account["id"])["phone__v"] == "after lie-fi"


@pytest.mark.rule("AS-06")
def test_an_upload_on_the_wire_under_lie_fi_is_sent_again_as_soon_as_it_times_out(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_network("lie-fi")
    ipad.save("account__v", account["id"], {"phone__v": "in flight"})
    world.settle()
    assert ipad.queue()[0].state == "uploading"
    ipad.set_network("online")  # the request already sent still waits for its timeout
    world.advance(seconds=ipad.conditions.request_timeout.total_seconds())
    assert ipad.queue() == [], "sent again when it timed out, without waiting for its backoff"
    (retry,) = world.events("retry_scheduled", ipad)
    assert "sent again now that the network is back" in retry.text


@pytest.mark.rule("AS-06")
def test_lie_fi_to_offline_and_back_keeps_the_order(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_network("lie-fi")
    ipad.save("account__v", account["id"], {"phone__v": "first"})
    ipad.save("account__v", account["id"], {"phone__v": "second"})
    world.advance(seconds=31)
    ipad.set_network("offline")
    ipad.set_network("online")
    world.settle()
    assert ipad.queue() == []
    uploaded = [e.data["transaction_id"] for e in world.events("uploaded", ipad)]
    assert uploaded == sorted(uploaded, key=lambda t: int(t.rsplit("-", 1)[1]))
    assert world.online_record("account__v", account["id"])["phone__v"] == "second"


def test_lie_fi_to_lie_fi_does_not_skip_the_backoff(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.set_network("lie-fi")
    ipad.save("account__v", account["id"], {"phone__v": "still lie-fi"})
    world.advance(seconds=31)
    ipad.set_network("lie-fi")
    world.settle()
    (head,) = ipad.queue()
    assert head.state == "waiting" and head.attempts == 1
