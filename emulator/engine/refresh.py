"""Refresh mode: the non-blocking sync of the first use of a day (AS-36).

When the user's admin setting ``refresh_mode`` is on, the first moment of a new emulated day with
the app in the foreground and online starts a download of everything new online while the user
keeps working. It pauses when the app leaves the foreground; back in the foreground within 12
hours it resumes, later it starts over. When it is done the app shows **Apply Update**; pressing
it applies the update in a few seconds (the app is blocked meanwhile). The button's colour says
how long the update has waited: blue under a day, orange after one or two days, red after more.

States::

    off ── setting on ──> idle ──(first use of a day)──> downloading ──> ready ──(Apply)──> applying ──> idle
                                                           │    ^
                                              background   v    │ foreground (<12 h; else start over)
                                                          paused
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from emulator.engine.events import EventKind
from emulator.engine.incremental import (
    CHUNK,
    HANDSHAKE,
    PER_RECORD,
    Download,
    DownloadError,
    SyncReport,
    download,
)

if TYPE_CHECKING:
    from emulator.engine.device import Device

RefreshState = Literal["off", "idle", "downloading", "paused", "ready", "applying"]
ButtonColour = Literal["blue", "orange", "red"]
RESUME_WITHIN = timedelta(hours=12)
APPLY_TIME = timedelta(seconds=3)


def button_colour(waited: timedelta) -> ButtonColour:
    """AS-36: blue under a day, orange after one or two days, red after more."""
    if waited < timedelta(days=1):
        return "blue"
    if waited < timedelta(days=3):
        return "orange"
    return "red"


class RefreshMode:
    """A device's non-blocking sync.

    Attributes:
        progress: records downloaded so far, out of how many.
        ready_at: when the update finished downloading (Apply Update shows from then on).
    """

    def __init__(self, device: Device) -> None:
        self.device = device
        self.progress: tuple[int, int] = (0, 0)
        self.ready_at: datetime | None = None
        self.paused_at: datetime | None = None
        self.applying = False
        self._download: Download | None = None
        self._task: asyncio.Task[Any] | None = None

    # state ----------------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        """The admin's setting for this user, as of the last incremental sync."""
        return bool(self.device.store.setting("user_settings", {}).get("refresh_mode", False))

    @property
    def downloading(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def state(self) -> RefreshState:
        if self.applying:
            return "applying"
        if self.ready_at is not None:
            return "ready"
        if self.downloading:
            return "downloading"
        if self.paused_at is not None:
            return "paused"
        return "idle" if self.enabled else "off"

    def colour(self) -> ButtonColour | None:
        """The Apply Update button's colour now, or None while there is no update to apply."""
        if self.ready_at is None:
            return None
        return button_colour(self.device.clock.now() - self.ready_at)

    # starting, pausing, resuming ------------------------------------------------------------------
    def first_use_of_day(self, today: str) -> None:
        """The app is in use on ``today`` (foreground): start today's refresh if it is due."""
        device = self.device
        if not self.enabled or not device.conditions.app_thinks_online:
            return
        if device.store.setting("refresh_day") == today or self.state not in ("idle", "paused"):
            return
        device.store.set_setting("refresh_day", today)
        self._start(fresh=True, how="started")

    def foreground_changed(self, foreground: bool) -> None:
        """Back in the foreground: a paused download resumes (or starts over after 12 hours)."""
        if not foreground or self.paused_at is None or self.downloading:
            return
        device = self.device
        if not device.conditions.app_thinks_online:
            return
        fresh = device.clock.now() - self.paused_at > RESUME_WITHIN
        self._start(fresh=fresh, how="restarted" if fresh else "resumed")

    def _start(self, *, fresh: bool, how: str) -> None:
        device = self.device
        if fresh:
            self._download = None
            self.progress = (0, 0)
        self.paused_at = None
        verb = {
            "started": "Refresh mode started downloading today's update in the background",
            "resumed": "Refresh mode resumed its download",
            "restarted": "Refresh mode started its download over (paused for more than 12 hours)",
        }[how]
        device.say(EventKind.REFRESH, f"{verb} on {device.profile.name}.", phase=how)
        self._task = device.spawn(self._run())

    async def _run(self) -> None:
        device = self.device
        try:
            if self._download is None:
                await device.clock.sleep(HANDSHAKE)
                undo = {i["object"] for e in device.store.errors() if e.requested == "undo" for i in e.items}
                self._download = await download(
                    device, device.store.setting("last_sync_cursor"), table_refresh=undo
                )
            total = len(self._download.records)
            done = self.progress[0]
            self._set_progress(done, total)
            while done < total:
                if not device.foreground:
                    self.paused_at = device.clock.now()
                    device.say(
                        EventKind.REFRESH,
                        f"Refresh mode paused: the app is in the background ({done} of {total}).",
                        phase="paused",
                    )
                    return
                chunk = min(CHUNK, total - done)
                await device.clock.sleep(PER_RECORD * chunk)
                done += chunk
                self._set_progress(done, total)
            self.ready_at = device.clock.now()
            device.say(
                EventKind.REFRESH,
                f"Refresh mode downloaded {total} records on {device.profile.name}: Apply Update is shown.",
                phase="ready",
                records=total,
            )
        except DownloadError as exc:
            self.paused_at = device.clock.now()
            device.say(
                EventKind.REFRESH,
                f"Refresh mode could not download: {exc or type(exc).__name__}.",
                phase="paused",
            )

    def _set_progress(self, done: int, total: int) -> None:
        self.progress = (done, total)

    def discard(self, why: str) -> None:
        """Drop a download in progress or an update not applied (an incremental sync supersedes it)."""
        if self.state in ("off", "idle", "applying"):
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
        self._download = None
        self.ready_at = self.paused_at = None
        self.progress = (0, 0)
        self.device.say(EventKind.REFRESH, f"Refresh mode dropped its update: {why}.", phase="discarded")

    # applying ------------------------------------------------------------------------------------
    async def apply(self) -> SyncReport:
        """Apply Update: a few seconds during which the app is blocked."""
        from emulator.engine.device import ActionRefused

        device = self.device
        got = self._download
        if self.ready_at is None or got is None:
            raise ActionRefused("There is no update to apply.")
        if device.edit is not None:
            raise ActionRefused("Save or cancel the edit screen before applying the update.")
        if device.syncer.running:
            raise ActionRefused("A sync is already running.")
        self.applying = True
        try:
            device.say(EventKind.REFRESH, f"Applying the update on {device.profile.name}.", phase="applying")
            await device.clock.sleep(APPLY_TIME)
            report = await device.syncer.apply(got, timed=False, what="Update")
        finally:
            self.applying = False
            self._download = None
            self.ready_at = None
            self.progress = (0, 0)
        device.say(EventKind.REFRESH, f"Update applied on {device.profile.name}.", phase="applied")
        return report
