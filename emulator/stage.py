"""The stage: the emulated clock, the server (embedded or remote) and several virtual iPads.

The GUI, the tests and the scenario runner all build the same world the same way through a
:class:`Stage`. Devices reach the server only over HTTP: embedded, through
``httpx.ASGITransport`` on the in-process app (lifespan run properly); remote, through a normal
transport to ``autosync-stub``. Same seed and same calls give the same event stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import tempfile
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

from emulator.engine.clock import DEFAULT_START, EmulatedClock
from emulator.engine.device import DEFAULT_POLL_INTERVAL, Device
from emulator.engine.events import Event, EventKind, EventLog, PolledData
from emulator.engine.profile import DeviceProfile
from emulator.errors import NotFound, ServerError, ServerUnreachable, check_answer
from emulator.xray import XRay

EMBEDDED_URL = "http://embedded-stub"
#: Events after which a feed poll may find something new.
FEED_WRITES = frozenset(
    {
        EventKind.PUT_ON_FEED,
        EventKind.DISCARDED_ONLINE,
        EventKind.DUPLICATED,
        EventKind.UPLOADED,
        EventKind.ONLINE_CHANGE,
    }
)
DEVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
T = TypeVar("T")


class Stage:
    """Everything on the stage. ``await start()`` before use, ``await close()`` after.

    Attributes:
        clock: the one emulated clock.
        events: the one event stream.
        devices: the virtual iPads by device ID, in the order they were added.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        start: datetime = DEFAULT_START,
        data_dir: Path | None = None,
        server_url: str | None = None,
        admin_token: str | None = None,
        poll_interval: timedelta = DEFAULT_POLL_INTERVAL,
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.clock = EmulatedClock(start)
        self.events = EventLog(self.clock.now)
        self.poll_interval = poll_interval
        self.server_url = server_url
        self._own_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="autosync-stage-"))
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.admin_token = admin_token or f"stage-admin-{self.rng.getrandbits(64):016x}"
        self.devices: dict[str, Device] = {}
        self.xray = XRay()
        self._stack = AsyncExitStack()
        self._transport: httpx.AsyncBaseTransport | None = None
        self.admin: httpx.AsyncClient | None = None
        self._feed_writes = 0
        self._read_after: dict[str, int] = {}
        self.events.subscribe(self._watch_feed_activity)

    @property
    def embedded(self) -> bool:
        return self.server_url is None

    async def start(self) -> None:
        """Start the embedded server (running its lifespan) or check the remote one answers."""
        if self.embedded:
            from server_stub.app import embedded_app

            app = embedded_app(clock=self.clock, admin_token=self.admin_token)
            await self._stack.enter_async_context(app.router.lifespan_context(app))
            self._transport = httpx.ASGITransport(app=app)
            base_url = EMBEDDED_URL
        else:
            self._transport = httpx.AsyncHTTPTransport(retries=0)
            base_url = str(self.server_url)
        self.admin = await self._stack.enter_async_context(
            httpx.AsyncClient(
                transport=self._transport,
                base_url=base_url,
                headers={"Authorization": f"Bearer {self.admin_token}"},
            )
        )
        check_answer(await self._request("GET", "/health"))

    async def close(self) -> None:
        for device in list(self.devices.values()):
            await device.close()
        self.devices.clear()
        await self._stack.aclose()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # devices ------------------------------------------------------------------------------------
    async def users(self) -> list[dict[str, Any]]:
        """The server's users (raises :class:`~emulator.errors.ServerError` if it cannot tell)."""
        response = await self._request("GET", "/api/v1/admin/users")
        return list(check_answer(response).json())

    async def add_device(
        self,
        name: str,
        user_id: str,
        *,
        model: str = "iPad Pro 11-inch",
        ios_version: str = "17.5",
        device_id: str | None = None,
    ) -> Device:
        """Add a virtual iPad signed in as ``user_id`` (reopened from its file if it exists).

        A bad or taken device ID is a ``ValueError``; a user the server does not have is a
        :class:`~emulator.errors.NotFound`.
        """
        device_id = device_id or _slug(name)
        if not DEVICE_ID.match(device_id):
            raise ValueError(f"device ID {device_id!r}: use lower-case letters, digits and dashes")
        if device_id in self.devices:
            raise ValueError(f"there is already a device called {device_id!r} on the stage")
        response = await self._request("GET", f"/api/v1/admin/users/{user_id}/token")
        if response.status_code == 404:
            raise NotFound(f"no user {user_id!r} on the server")
        check_answer(response)
        profile = DeviceProfile(
            device_id=device_id,
            name=name,
            user_id=user_id,
            token=response.json()["token"],
            model=model,
            ios_version=ios_version,
        )
        device = self._make_device(profile)
        self.devices[device_id] = device
        self.events.names[device.actor] = name
        instance = f"{self.rng.getrandbits(48):012x}" if self.embedded else os.urandom(6).hex()
        await device.start(instance)
        note = "" if profile.autosync_eligible else f" No Autosync: {profile.ineligibility}"
        self.events.emit(
            "stage",
            EventKind.DEVICE_ADDED,
            f"{name} ({model}, iOS {ios_version}) joined as {user_id}.{note}",
            device=device_id,
        )
        return device

    def _make_device(self, profile: DeviceProfile) -> Device:
        assert self._transport is not None, "start the stage first"
        return Device(
            profile,
            clock=self.clock,
            events=self.events,
            transport=_Unclosable(self._transport),
            base_url=EMBEDDED_URL if self.embedded else str(self.server_url),
            path=self.data_dir / f"{profile.device_id}.sqlite",
            rng=random.Random(f"{self.seed}:{profile.device_id}"),
            poll_interval=self.poll_interval,
        )

    async def remove_device(self, device_id: str, *, wipe: bool = True) -> None:
        device = self.devices.pop(device_id)
        await device.close()
        if wipe:
            self._wipe(device_id)
        self.events.emit(
            "stage", EventKind.DEVICE_REMOVED, f"{device.profile.name} left the stage.", device=device_id
        )

    def _wipe(self, device_id: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            (self.data_dir / f"{device_id}.sqlite{suffix}").unlink(missing_ok=True)

    async def reset(self) -> list[Device]:
        """Back to the sample state: the server's sample data, every iPad set up from scratch.

        The iPads leave the stage first (so none uploads to the fresh server), the server is
        reset, and each iPad joins again with the same name, user, model and iOS version, in the
        same order, its file wiped: it syncs everything as on its first start. Returns them.

        If the server refuses the reset or does not answer, nothing is wiped: the iPads are
        reopened from their files (if the server lets them in) and the error is raised.
        """
        profiles = [d.profile for d in self.devices.values()]
        for device_id in list(self.devices):
            await self.remove_device(device_id, wipe=False)
        try:
            await self.online("POST", "/reset", say="The server was reset to the sample data.")
        except ServerError:
            with contextlib.suppress(ServerError):
                for profile in profiles:
                    await self._rejoin(profile)
            raise
        for profile in profiles:
            self._wipe(profile.device_id)
        return [await self._rejoin(profile) for profile in profiles]

    async def _rejoin(self, p: DeviceProfile) -> Device:
        return await self.add_device(
            p.name, p.user_id, model=p.model, ios_version=p.ios_version, device_id=p.device_id
        )

    async def reopen_device(self, device_id: str) -> Device:
        """Close a device and open it again from its file (an app restart)."""
        old = self.devices.pop(device_id)
        await old.close()
        device = self._make_device(old.profile)
        self.devices[device_id] = device
        await device.start("unused")
        return device

    def set_xray(self, on: bool, device_id: str | None = None) -> None:
        """Show or hide the X-ray view, on one iPad or on all (an ``xray`` event tells the window)."""
        name = None
        if device_id is not None:
            if device_id not in self.devices:
                raise ValueError(f"there is no iPad {device_id!r} on the stage")
            name = self.devices[device_id].profile.name
        self.xray.set(on, device_id)
        state = "on" if on else "off"
        where = f"on {name}" if name else "on every iPad"
        text = f"X-ray view {state} {where}: " + (
            "the emulator's explanations are shown." if on else "the iPad shows exactly what a rep sees."
        )
        self.events.emit("stage", EventKind.XRAY, text, on=on, device=device_id)

    # time ---------------------------------------------------------------------------------------
    async def settle(self) -> None:
        """Let every device finish what it is doing, except waiting for the emulated clock.

        Waits (without spinning) until each device task has finished or parked on the clock.
        """
        while busy := [t for d in self.devices.values() for t in d.busy_tasks()]:
            parked = self.clock.next_park()
            try:
                await asyncio.wait([*busy, parked], return_when=asyncio.FIRST_COMPLETED)
            finally:
                parked.cancel()

    async def advance(self, delta: timedelta, *, skip_idle_polls: bool = True) -> None:
        """Move the clock forward by ``delta``, timer by timer, settling after each.

        A day has 2,880 feed polls per iPad. When a poll provably finds nothing (embedded
        server, nothing written to any feed since the device last read it, nothing else due
        before it) it is skipped: the device's next poll moves to the last one in that quiet
        stretch, keeping its 30-second rhythm. Pass ``skip_idle_polls=False`` to see every poll.
        """
        await self.settle()
        target = self.clock.now() + delta
        while (due := self.clock.next_due()) is not None and due <= target:
            if skip_idle_polls:
                self._skip_idle_polls(target)
                due = self.clock.next_due()
                if due is None or due > target:
                    break
            self.clock.advance_to(due)
            await self.settle()
        self.clock.advance_to(target)
        await self.settle()

    async def complete(self, action: Awaitable[T]) -> T:
        """Run ``action`` to its end, moving the clock timer by timer while it waits for it.

        For a step that takes emulated time of its own (a request over a network with latency):
        whenever ``action`` waits for the clock and every device has settled, the clock moves to
        the next timer due (firing it, as :meth:`advance` does).
        """
        task = asyncio.ensure_future(action)
        try:
            while not task.done():
                if not self.clock.is_parked(task):  # (it may be parked already when handed over)
                    parked = self.clock.next_park()
                    either: list[asyncio.Future[Any]] = [task, parked]
                    try:
                        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        parked.cancel()
                    if task.done() or not self.clock.is_parked(task):
                        continue
                await self.settle()
                if not self.clock.is_parked(task):
                    continue
                due = self.clock.next_due()
                if due is None:  # cannot happen while it sleeps on the clock; never spin
                    raise RuntimeError("the action waits for the clock but no timer is due")
                self.clock.advance_to(due)
            return task.result()
        finally:
            if not task.done():
                task.cancel()

    def _watch_feed_activity(self, event: Event) -> None:
        if event.kind in FEED_WRITES:
            self._feed_writes += 1
        elif event.kind is EventKind.POLLED and event.data_as(PolledData)["ok"]:
            self._read_after[event.actor] = self._feed_writes

    def _skip_idle_polls(self, target: datetime) -> None:
        if not self.embedded:
            return  # another stage may write to a shared server's feeds at any time
        horizon = target
        for timer in self.clock.pending():
            if timer.due > target:
                break
            if timer.label != "poll":
                horizon = min(horizon, timer.due)
                break
        for device in self.devices.values():
            if self._read_after.get(device.actor) == self._feed_writes or not device.autosync_active:
                device.skip_polls_until(horizon)

    # the online side ----------------------------------------------------------------------------
    async def online(self, method: str, path: str, *, say: str | None = None, **kwargs: Any) -> Any:
        """Call the server's online side (admin API).

        A call that changes something is an ``online_change`` event, told with ``say`` (or a
        plain description of the call); its data carry the call (``method``, ``path``, ``body``).
        A 4xx raises :class:`~emulator.errors.ServerRefused` with the server's reason; no answer
        (or a 5xx), :class:`~emulator.errors.ServerUnreachable`.
        """
        response = check_answer(await self._request(method, f"/api/v1/admin{path}", **kwargs))
        if method.upper() != "GET":
            self.events.emit(
                "online",
                EventKind.ONLINE_CHANGE,
                say or f"Online: {method.upper()} {path}.",
                path=path,
                method=method.upper(),
                body=kwargs.get("json"),
            )
        return response.json()

    async def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One admin request; a transport failure is a :class:`~emulator.errors.ServerUnreachable`."""
        try:
            return await self._admin().request(method, url, **kwargs)
        except httpx.TransportError as exc:
            where = self.server_url or "the embedded server"
            raise ServerUnreachable(f"{where} did not answer: {exc or type(exc).__name__}") from exc

    def _admin(self) -> httpx.AsyncClient:
        if self.admin is None:
            raise RuntimeError("start the stage first")
        return self.admin


class _Unclosable(httpx.AsyncBaseTransport):
    """Shares the stage's transport with a device without letting the device close it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        return None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "ipad"
