"""What the real app shows about sync, on the engine: the Sync widget (AS-33), the blocking
incremental sync (AS-35), Refresh mode (AS-36) and the full database refresh (AS-37)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta

import pytest

from emulator.engine.device import ActionRefused, Device
from emulator.engine.events import Event
from emulator.engine.incremental import BATCH, FAILURE_ALERTS, HANDSHAKE, PER_RECORD, SyncReport
from emulator.engine.refresh import APPLY_TIME
from server_stub import sync as server_sync
from tests.engine.conftest import World, account_of, save_order


def midnight_after(moment: datetime) -> datetime:
    return datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), moment.tzinfo)


@pytest.mark.rule("AS-33")
def test_the_widget_is_green_when_up_to_date_and_shows_the_last_sync(world: World) -> None:
    ipad = world.device("Anna iPad")
    widget = ipad.sync_widget()
    assert (widget.state, widget.colour, widget.pending, widget.errors) == ("up_to_date", "green", 0, 0)
    assert widget.last_sync == world.stage.clock.now() and widget.days_since == 0
    assert not widget.remind


@pytest.mark.rule("AS-33")
def test_pending_uploads_are_counted_without_orders_and_turn_red_after_the_warn_interval(
    world: World,
) -> None:
    ipad = world.device("Anna iPad")
    ipad.set_network("offline")
    accounts = [r for r in ipad.records("account__v") if r.get("territory__v") == "T-NE"][:2]
    for n, account in enumerate(accounts):
        ipad.save("account__v", account["id"], {"phone__v": f"+1 555 00{n}"})
    save_order(ipad, ("cholecap__c", 1, 10.0))
    widget = ipad.sync_widget()
    assert (widget.state, widget.pending, widget.colour) == ("pending", 2, "orange")
    world.advance(days=3)
    assert ipad.sync_widget().colour == "orange", "three days is not longer than the interval"
    world.advance(seconds=1)
    widget = ipad.sync_widget()
    assert (widget.state, widget.overdue, widget.colour) == ("pending", True, "red")
    assert widget.days_since == 3 and widget.remind


@pytest.mark.rule("AS-33")
def test_the_warn_interval_is_the_admins_setting_read_at_incremental_sync(world: World) -> None:
    ipad = world.device("Anna iPad")
    world.online("PATCH", "/users/anna/settings", json={"sync_warn_interval_days": 1})
    world.sync(ipad)
    ipad.set_network("offline")
    ipad.save("account__v", account_of(ipad)["id"], {"phone__v": "+1 555 0001"})
    world.advance(days=1, seconds=1)
    assert ipad.sync_widget().colour == "red"


@pytest.mark.rule("AS-33")
@pytest.mark.rule("AS-34")
def test_sync_errors_show_red_with_an_exclamation_point(world: World) -> None:
    ipad = world.device("Anna iPad")
    ipad.save("account__v", account_of(ipad)["id"], {"last_name__v": ""})  # a validation rule refuses
    world.settle()
    widget = ipad.sync_widget()
    assert (widget.state, widget.colour, widget.errors) == ("errors", "red", 1)


@pytest.mark.rule("AS-33")
@pytest.mark.rule("AS-35")
def test_a_running_sync_blocks_the_app_spins_the_widget_and_takes_time_per_record(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)["id"]
    ipad.set_network("offline")
    ipad.save("account__v", account, {"phone__v": "+1 555 0101"})
    ipad.set_network("online")
    world.settle()
    ipad.set_network("offline")
    ipad.save("account__v", account, {"phone__v": "+1 555 0102"})
    ipad.set_network("online")  # uploads at once: nothing left for the sync to send
    world.settle()
    started = world.stage.clock.now()

    async def begin() -> asyncio.Task[object]:
        task = asyncio.ensure_future(ipad.syncer.run(full=True))
        await world.stage.settle()
        return task

    task = world.run(begin())
    assert not task.done(), "the sync waits for emulated time"
    widget = ipad.sync_widget()
    assert widget.state == "syncing" and widget.progress is not None
    assert ipad.blocking == "Syncing"
    for refused in (
        lambda: ipad.open_record("account__v", account),
        lambda: ipad.begin_edit("account__v"),
    ):
        with pytest.raises(ActionRefused, match="syncing"):
            refused()
    report = world.run(world.stage.complete(task))
    assert report.ok and ipad.blocking is None
    records = report.updated + report.removed
    assert records > 50
    assert world.stage.clock.now() - started >= HANDSHAKE + PER_RECORD * records
    progress = [e for e in world.events("sync_progress", ipad) if e.data["phase"] == "Downloading"]
    assert progress[-1].data["downloaded"] == progress[-1].data["to_download"] == records
    assert len(progress) > 2, "progress is reported as the records come in"
    assert ipad.sync_widget().state == "up_to_date"
    ipad.open_record("account__v", account)  # usable again


@pytest.mark.rule("AS-35")
def test_an_incremental_sync_blocks_the_app_and_takes_time_per_record_uploaded_and_downloaded(
    world: World,
) -> None:
    """Not a full refresh: the sync sends the queue, then downloads only what changed online."""
    ipad = world.device("Anna iPad")
    ipad.set_traditional(True)  # compare: the edits wait for the sync to upload them
    accounts = [r["id"] for r in ipad.records("account__v") if r.get("territory__v") == "T-NE"][:3]
    for n, account in enumerate(accounts):
        ipad.save("account__v", account, {"phone__v": f"+1 555 02{n:02}"})
    created = 60
    for k in range(created):  # changes made online reach the iPad only by incremental sync
        fields = {"account_type__v": "hcp__v", "last_name__v": f"Online {k}", "territory__v": "T-NE"}
        world.online("POST", "/records/account__v", json={"owner": "anna", "fields": fields})
    started, earlier = world.stage.clock.now(), len(world.events("sync_progress", ipad))

    async def begin() -> asyncio.Task[SyncReport]:
        task = asyncio.ensure_future(ipad.syncer.run())
        await world.stage.settle()
        return task

    task = world.run(begin())
    assert not task.done(), "the sync waits for emulated time"
    assert ipad.blocking == "Syncing" and not ipad.syncer.full
    assert ipad.sync_widget().state == "syncing"
    for refused in (
        lambda: ipad.open_record("account__v", accounts[0]),
        lambda: ipad.begin_edit("account__v"),
    ):
        with pytest.raises(ActionRefused, match="syncing"):
            refused()
    with pytest.raises(ActionRefused, match="already running"):
        world.run(ipad.syncer.run())
    report = world.run(world.stage.complete(task))
    assert report.ok and not report.full and ipad.blocking is None
    assert ipad.queue() == []
    progress = world.events("sync_progress", ipad)[earlier:]
    uploaded = max(int(e.data["uploaded"]) for e in progress)
    assert uploaded == progress[0].data["to_upload"] == len(accounts)
    downloaded = report.updated + report.removed
    assert created <= downloaded < created + 10, "only what changed comes down, not everything"
    assert world.stage.clock.now() - started >= HANDSHAKE + PER_RECORD * (uploaded + downloaded)
    assert len({e.data["downloaded"] for e in progress}) > 2, "the count moves as records come"
    ipad.open_record("account__v", accounts[0])  # usable again


@pytest.mark.rule("AS-35")
def test_the_event_loop_gets_turns_while_a_big_incremental_sync_runs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window stays responsive: the loop gets a turn between every two pages of the answer
    and every two batches of records applied, and the count shown moves meanwhile. Turns are
    counted by a zero-delay callback that reschedules itself, not by the clock."""
    monkeypatch.setattr(server_sync, "PAGE_RECORDS", 20)
    monkeypatch.setattr(server_sync, "PAGE_IDS", 40)
    ipad = world.device("Chloe iPad", "chloe")
    created = 120
    for k in range(created):
        fields = {"account_type__v": "hcp__v", "last_name__v": f"Many {k}", "territory__v": "T-WC"}
        world.online("POST", "/records/account__v", json={"owner": "chloe", "fields": fields})
    turns = 0
    received: list[tuple[int, int]] = []  # records received so far, turns so far
    applied: list[tuple[int, int]] = []  # records applied so far, turns so far

    def noted(event: Event) -> None:
        if event.kind != "sync_progress" or event.actor != ipad.actor:
            return
        phase = str(event.data["phase"])
        if phase.startswith("Downloading: "):
            received.append((int(phase.split()[1].replace(",", "")), turns))
        elif phase == "Downloading" and event.data["downloaded"]:
            applied.append((int(event.data["downloaded"]), turns))

    async def counted() -> SyncReport:
        loop = asyncio.get_running_loop()
        running = True

        def turn() -> None:
            nonlocal turns
            turns += 1
            if running:
                loop.call_soon(turn)

        loop.call_soon(turn)
        try:
            return await ipad.syncer.run(timed=False)
        finally:
            running = False

    stop = world.stage.events.subscribe(noted)
    try:
        report = world.run(counted())
    finally:
        stop()
    assert report.ok and report.updated >= created
    pages = -(-created // 20)
    assert len(received) >= pages, received
    assert received[-1][0] == report.updated
    for (count, turn), (later_count, later_turn) in itertools.pairwise(received):
        assert later_count > count and later_turn > turn, "a turn between every two pages"
    assert len(applied) >= 2 and applied[-1][0] == report.updated
    for (count, turn), (later_count, later_turn) in itertools.pairwise(applied):
        assert later_count > count and later_turn > turn, "a turn while the records are written"
    assert turns >= pages + report.updated // BATCH


@pytest.mark.rule("AS-35")
def test_incremental_sync_needs_a_connection_and_the_foreground(world: World) -> None:
    ipad = world.device("Anna iPad")
    ipad.set_foreground(False)
    assert "background" in world.sync(ipad).message
    ipad.set_foreground(True)
    ipad.set_network("offline")
    assert "offline" in world.sync(ipad).message


@pytest.mark.rule("AS-35")
def test_a_sync_stops_when_the_app_leaves_the_foreground_while_it_runs(world: World) -> None:
    """The rep switches to another app during the handshake: the sync stops, says why, and
    writes nothing; the next sync, in the foreground, brings what is new."""
    ipad = world.device("Anna iPad")
    account = next(r for r in ipad.records("account__v") if r.get("territory__v") == "T-NE")
    world.online(
        "PATCH", f"/records/account__v/{account['id']}", json={"fields": {"phone__v": "+1 555 9090"}}
    )
    cursor = ipad.store.setting("last_sync_cursor")

    async def leave_during_the_handshake() -> SyncReport:
        task = ipad.spawn(ipad.syncer.run())  # a device task: the clock waits for it
        assert task is not None
        await world.stage.advance(HANDSHAKE / 2)
        assert ipad.syncer.running
        ipad.set_foreground(False)
        report: SyncReport = await world.stage.complete(task)
        return report

    report = world.run(leave_during_the_handshake())
    assert not report.ok and "foreground" in report.message
    assert world.events("sync_failed", ipad)[-1].data["reason"] == "background"
    assert ipad.record(account["id"])["phone__v"] != "+1 555 9090", "nothing downloaded"  # type: ignore[index]
    assert ipad.store.setting("last_sync_cursor") == cursor
    ipad.set_foreground(True)
    assert world.sync(ipad).ok
    assert ipad.record(account["id"])["phone__v"] == "+1 555 9090"  # type: ignore[index]


@pytest.mark.rule("AS-35")
def test_a_failed_sync_tells_the_rep_why_in_an_alert(world: World) -> None:
    ipad = world.device("Anna iPad")

    def alerted(reason: str) -> str:
        assert world.events("sync_failed", ipad)[-1].data["reason"] == reason
        (notice,) = ipad.unread_notices()
        assert notice.kind == "sync_failed"
        ipad.dismiss_notices(notice.id)  # OK
        return notice.text

    ipad.set_foreground(False)
    world.sync(ipad)
    assert alerted("background") == FAILURE_ALERTS["background"]
    ipad.set_foreground(True)
    ipad.set_network("offline")
    world.sync(ipad)
    assert alerted("offline").startswith("No network connection.")
    ipad.set_network("online")
    ipad.inject_fault("server_error")
    world.sync(ipad, full=True)
    assert alerted("server") == FAILURE_ALERTS["server"]
    assert world.events("sync_failed", ipad)[-1].data["full"] is True
    ipad.set_network("lie-fi")
    world.sync(ipad)
    assert alerted("no_answer") == FAILURE_ALERTS["no_answer"]
    for text in FAILURE_ALERTS.values():  # the rep's words, not the emulator's
        assert not any(word in text.lower() for word in ("queue", "drain", "lie-fi", "503", "http"))


def sync_while_autosync_uploads(world: World, ipad: Device, *, full: bool) -> SyncReport:
    """The rep taps Sync (or Full Database Refresh) while Autosync's upload is on the wire."""

    async def tap() -> SyncReport:
        # Autosync's upload task, started first, has had its first turn: the queue is being sent
        assert ipad.uploader.draining and ipad.queue(), "no race to prove"
        return await world.stage.complete(ipad.syncer.run(full=full))

    return world.run(tap())  # type: ignore[no-any-return]


def uploads_of(world: World, ipad: Device, record_id: str) -> tuple[int, int]:
    """How many times the record went on the wire, and how many answers came back."""
    sent = [e for e in world.events("uploading", ipad) if e.record and e.record[1] == record_id]
    answered = [e for e in world.events("uploaded", ipad) if e.record and e.record[1] == record_id]
    return len(sent), len(answered)


SYNC_OR_FULL = [
    pytest.param(False, marks=pytest.mark.rule("AS-35"), id="incremental"),
    pytest.param(True, marks=pytest.mark.rule("AS-37"), id="full"),
]


@pytest.mark.parametrize("full", SYNC_OR_FULL)
def test_a_sync_tapped_while_autosync_uploads_waits_for_that_upload_then_runs(
    world: World, full: bool
) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)["id"]
    ipad.set_network("online", latency=timedelta(seconds=1))
    ipad.save("account__v", account, {"phone__v": "+1 555 0111"})  # Autosync sends it at once
    report = sync_while_autosync_uploads(world, ipad, full=full)
    assert report.ok, report.message
    assert report.full == full
    assert uploads_of(world, ipad, account) == (1, 1), "uploaded once, by Autosync"
    assert ipad.queue() == [] and not world.events("sync_failed", ipad)
    assert world.online_record("account__v", account)["phone__v"] == "+1 555 0111"


@pytest.mark.parametrize("full", SYNC_OR_FULL)
def test_a_sync_tapped_right_after_coming_online_waits_for_the_upload_autosync_starts(
    world: World, full: bool
) -> None:
    ipad = world.device("Anna iPad")
    first, second = (r["id"] for r in ipad.records("account__v")[:2])
    ipad.set_network("offline")
    ipad.save("account__v", first, {"phone__v": "+1 555 0112"})
    ipad.save("account__v", second, {"phone__v": "+1 555 0113"})
    ipad.set_network("online")  # AS-06: Autosync sends the queue at once
    report = sync_while_autosync_uploads(world, ipad, full=full)
    assert report.ok, report.message
    assert uploads_of(world, ipad, first) == uploads_of(world, ipad, second) == (1, 1)
    assert ipad.queue() == [] and not world.events("sync_failed", ipad)
    assert world.online_record("account__v", second)["phone__v"] == "+1 555 0113"


@pytest.mark.rule("AS-35")
def test_a_sync_sends_again_what_autosync_could_not_and_fails_only_if_that_fails_too(
    world: World,
) -> None:
    """The upload on the wire fails (a 503): the sync does not wait for its backoff but sends it
    at once. Under lie-fi it times out again: then the queue really cannot be sent."""
    ipad = world.device("Anna iPad")
    account = account_of(ipad)["id"]
    ipad.set_network("online", latency=timedelta(seconds=1))
    ipad.inject_fault("server_error")
    ipad.save("account__v", account, {"phone__v": "+1 555 0114"})
    report = sync_while_autosync_uploads(world, ipad, full=False)
    assert report.ok, report.message
    assert len(world.events("retry_scheduled", ipad)) == 1
    assert uploads_of(world, ipad, account) == (2, 1)

    ipad.set_network("lie-fi")
    ipad.save("account__v", account, {"phone__v": "+1 555 0115"})
    report = sync_while_autosync_uploads(world, ipad, full=False)
    assert not report.ok and "could not be sent" in report.message
    assert ipad.queue() and world.events("sync_failed", ipad)[-1].data["reason"] == "upload"
    assert ipad.unread_notices()[-1].text == FAILURE_ALERTS["upload"]


@pytest.mark.rule("AS-33")
def test_the_app_reminds_the_user_to_sync_on_the_first_use_of_a_day_after_a_day(world: World) -> None:
    ipad = world.device("Anna iPad")
    world.run(world.stage.advance(midnight_after(world.stage.clock.now()) - world.stage.clock.now()))
    assert ipad.unread_notices() == [], "the last sync is not yet a day old"
    world.advance(days=1)
    (reminder,) = ipad.unread_notices()
    assert reminder.kind == "reminder" and "2 days ago" in reminder.text
    world.advance(days=1)
    assert len(ipad.unread_notices()) == 1, "one reminder waits; they do not pile up"


def refresh_mode_on(world: World, ipad: Device) -> None:
    world.online("PATCH", "/users/anna/settings", json={"refresh_mode": True})
    world.sync(ipad)  # the device reads the setting


def to_next_morning(world: World) -> None:
    now = world.stage.clock.now()
    world.run(world.stage.advance(midnight_after(now) - now))


@pytest.mark.rule("AS-36")
def test_refresh_mode_downloads_at_the_first_use_of_a_day_and_waits_for_apply_update(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)["id"]
    refresh_mode_on(world, ipad)
    world.online("PATCH", f"/records/account__v/{account}", json={"fields": {"phone__v": "+1 555 7777"}})
    assert ipad.refresh.state == "idle"
    to_next_morning(world)
    assert ipad.refresh.state == "downloading", "it starts by itself"
    ipad.open_record("account__v", account)  # the user keeps working
    ipad.leave_screen()
    world.advance(minutes=1)
    assert ipad.refresh.state == "ready" and ipad.refresh.colour() == "blue"
    assert (ipad.record(account) or {})["phone__v"] != "+1 555 7777", "nothing applied before Apply Update"
    before = world.stage.clock.now()
    world.run(world.stage.complete(ipad.refresh.apply()))
    assert world.stage.clock.now() - before >= APPLY_TIME, "applying takes seconds"
    assert (ipad.record(account) or {})["phone__v"] == "+1 555 7777"
    assert ipad.refresh.state == "idle"
    assert ipad.sync_widget().last_sync == world.stage.clock.now()


@pytest.mark.rule("AS-36")
@pytest.mark.parametrize(("waited", "colour"), [(23, "blue"), (25, "orange"), (71, "orange"), (73, "red")])
def test_the_apply_update_button_colour_says_how_long_the_update_waited(
    world: World, waited: int, colour: str
) -> None:
    ipad = world.device("Anna iPad")
    refresh_mode_on(world, ipad)
    to_next_morning(world)
    world.advance(minutes=1)
    assert ipad.refresh.state == "ready"
    world.advance(hours=waited)
    assert ipad.refresh.colour() == colour


def integration_load(world: World, accounts: int) -> None:
    """An integration creates accounts in Anna's territory online (they reach her by sync only)."""
    for n in range(accounts):
        fields = {"account_type__v": "hcp__v", "last_name__v": f"Loaded {n}", "territory__v": "T-NE"}
        world.online("POST", "/records/account__v", json={"owner": "anna", "fields": fields})


@pytest.mark.rule("AS-36")
def test_refresh_mode_pauses_in_the_background_and_resumes_or_starts_over(world: World) -> None:
    ipad = world.device("Anna iPad")
    refresh_mode_on(world, ipad)
    integration_load(world, 120)  # three chunks of download
    to_next_morning(world)
    world.advance(seconds=3)  # past the handshake, into the download
    ipad.set_foreground(False)
    world.advance(seconds=10)
    assert ipad.refresh.state == "paused"
    done = ipad.refresh.progress[0]
    assert 0 < done < 120
    ipad.set_foreground(True)
    assert ipad.refresh.state == "downloading"
    assert [e.data["phase"] for e in world.events("refresh", ipad)][-1] == "resumed"
    assert ipad.refresh.progress[0] == done, "it resumes where it paused"
    ipad.set_foreground(False)
    world.advance(seconds=10)
    world.advance(hours=12, seconds=1)
    ipad.set_foreground(True)
    assert [e.data["phase"] for e in world.events("refresh", ipad)][-1] == "restarted"
    world.advance(minutes=1)
    assert ipad.refresh.state == "ready"


@pytest.mark.rule("AS-36")
def test_refresh_mode_is_off_unless_the_admin_turns_it_on(world: World) -> None:
    ipad = world.device("Anna iPad")
    to_next_morning(world)
    assert ipad.refresh.state == "off" and not world.events("refresh", ipad)


@pytest.mark.rule("AS-37")
def test_a_full_refresh_uploads_first_then_downloads_everything_again(world: World) -> None:
    ipad = world.device("Anna iPad")
    account = account_of(ipad)["id"]
    ipad.set_network("offline")
    ipad.save("account__v", account, {"email__v": "queued@example.org"})
    ipad.store.remove(next(r["id"] for r in ipad.records("account__v") if r["id"] != account))
    ipad.set_network("online")
    ipad.set_traditional(True)  # compare: nothing uploads by itself
    report = world.sync(ipad, full=True)
    assert report.full and ipad.queue() == []
    assert world.online_record("account__v", account)["email__v"] == "queued@example.org"
    online = world.online("GET", "/records?object=account__v&limit=5000")["records"]
    visible = {r["id"] for r in online if r["fields"].get("territory__v") == "T-NE"}
    assert {r["id"] for r in ipad.records("account__v")} == visible
