"""Why an upload waits: one pure decision, which the uploader, the queued event and the X-ray obey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.engine.localstore import QueueItem
from emulator.engine.timefmt import iso
from emulator.engine.upload_wait import upload_wait
from tests.engine.conftest import World, account_of

NOW = datetime(2026, 11, 26, 9, tzinfo=UTC)
LATER = iso(NOW + timedelta(seconds=20))
EARLIER = iso(NOW - timedelta(seconds=1))


def item(state: str = "queued", next_attempt_at: str | None = None, attempts: int = 0) -> QueueItem:
    return QueueItem(
        seq=1, transaction_id="t", state=state, next_attempt_at=next_attempt_at, attempts=attempts, items=[]
    )


@pytest.mark.rule("AS-06")
@pytest.mark.parametrize(
    ("queued", "traditional", "foreground", "online", "manual", "reason"),
    [
        (item(), False, True, True, False, None),
        (item("uploading"), False, True, True, False, "in_flight"),
        (item("uploading"), True, False, False, False, "in_flight"),
        (item(), True, True, True, False, "traditional"),
        (item(), True, True, True, True, None),  # a sync uploads in traditional sync (AS-32)
        (item(), False, True, False, False, "offline"),
        (item(), True, True, False, True, "offline"),  # not even a sync uploads offline
        (item(), False, False, True, False, "background"),
        (item(), False, False, True, True, None),
        (item("waiting", LATER, 2), False, True, True, False, "backoff"),
        (item("waiting", LATER, 2), False, True, True, True, None),  # a sync does not wait for it
        (item("waiting", EARLIER, 2), False, True, True, False, None),  # its retry is due
        (item("waiting", LATER, 2), False, True, False, False, "offline"),  # no retry happens offline
        (item("waiting", LATER, 2), False, False, True, False, "background"),
    ],
)
def test_why_an_upload_waits(
    queued: QueueItem, traditional: bool, foreground: bool, online: bool, manual: bool, reason: str | None
) -> None:
    wait = upload_wait(
        queued,
        now=NOW,
        traditional=traditional,
        foreground=foreground,
        app_thinks_online=online,
        manual=manual,
    )
    assert (wait and wait.reason) == reason


def test_the_words_of_each_wait() -> None:
    def words(queued: QueueItem, **conditions: bool) -> str:
        given = {"traditional": False, "foreground": True, "app_thinks_online": True, **conditions}
        wait = upload_wait(queued, now=NOW, **given)
        assert wait is not None
        return wait.describe()

    assert words(item("waiting", LATER, 2)) == "Retry at 09:00:20 (attempt 3)"
    assert words(item(), app_thinks_online=False) == "Waits for connectivity"
    assert words(item(), foreground=False) == "Waits for the foreground"
    assert words(item(), traditional=True) == "Waits for a sync (traditional sync)"
    assert words(item("uploading")) == "Uploading"


@pytest.mark.rule("AS-06")
@pytest.mark.parametrize("condition", ["offline", "background", "traditional"])
def test_the_uploader_the_event_and_the_device_agree(world: World, condition: str) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    {
        "offline": lambda: ipad.set_network("offline"),
        "background": lambda: ipad.set_foreground(False),
        "traditional": lambda: ipad.set_traditional(True),
    }[condition]()
    ipad.save("account__v", account["id"], {"phone__v": condition})
    world.advance(minutes=10)
    (head,) = ipad.queue()
    wait = ipad.upload_wait(head)
    assert wait is not None and wait.reason == condition
    (queued,) = world.events("queued", ipad)
    assert queued.text.endswith(f"(waiting for {wait.waits_for}).")
    assert ipad.upload_wait(head, manual=True) == (wait if condition == "offline" else None), "and a sync"


@pytest.mark.rule("AS-06")
def test_a_retry_pending_while_offline_waits_for_connectivity(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)
    ipad.inject_fault("server_error")
    ipad.save("account__v", account["id"], {"phone__v": "503 first"})
    world.settle()
    (head,) = ipad.queue()
    assert head.state == "waiting" and ipad.upload_wait(head).reason == "backoff"  # type: ignore[union-attr]
    ipad.set_network("offline")
    wait = ipad.upload_wait(head)
    assert wait is not None and wait.describe() == "Waits for connectivity", "its retry time will not send it"
    world.advance(seconds=30)
    assert ipad.queue()[0].attempts == 1, "no attempt while offline"
