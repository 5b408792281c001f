"""Playing scenarios on a standalone ``autosync-stub`` instead of the embedded server.

``autosync-emulator scenario run --server URL --token ADMIN_TOKEN`` plays each scenario on a
stage whose iPads reach that server over the network (the same code path as the embedded one).
A scenario expects the sample world, so before each one the server is reset to its sample data
(``POST /api/v1/admin/reset``; ``--keep-data`` plays on what is there). The stage's emulated
clock owns time; the server keeps a clock of its own, which :class:`ServerClock` moves forward
with the stage's (timer by timer while a step advances the clock), so that seven days on the
stage are seven days for the feed's expiry too. The server's clock can only move forward, so its
dates are its own; the durations between them are the stage's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from emulator.scenarios.resolving import ScenarioRunError
from emulator.stage import Stage

ADMIN = "/api/v1/admin"


@dataclass(frozen=True)
class Server:
    """A standalone server to play on: its URL, its admin token, whether to reset it first."""

    url: str
    token: str
    reset: bool = True


class ServerClock:
    """Moves a standalone server's clock along with the stage's (whole seconds, forward only)."""

    def __init__(self, stage: Stage, server: Server) -> None:
        self.stage = stage
        self.server = server
        self._followed = stage.clock.now()

    async def prepare(self) -> None:
        """Reset the server to its sample data (unless told not to); its clock starts following here."""
        if self.server.reset:
            await self._post("/reset", None)
        self._followed = self.stage.clock.now()

    async def follow(self) -> None:
        """Move the server's clock by the time the stage's has moved since the last call."""
        await self.follow_to(self.stage.clock.now())

    async def follow_to(self, moment: datetime) -> None:
        """Move the server's clock on to the stage time ``moment`` (in whole seconds)."""
        whole = int((moment - self._followed).total_seconds())
        if whole > 0:
            await self._post("/clock/advance", {"seconds": whole})
            self._followed += timedelta(seconds=whole)

    async def advance(self, delta: timedelta) -> None:
        """Advance the stage by ``delta``, the server's clock reaching each timer before it fires."""
        clock = self.stage.clock
        target = clock.now() + delta
        while (due := clock.next_due()) is not None and due <= target:
            await self.follow_to(due)
            await self.stage.advance(max(due - clock.now(), timedelta(0)))
        await self.follow_to(target)
        await self.stage.advance(target - clock.now())

    async def _post(self, path: str, body: dict[str, int] | None) -> None:
        admin = self.stage.admin
        assert admin is not None, "start the stage first"
        try:
            response = await admin.post(f"{ADMIN}{path}", json=body)
        except httpx.HTTPError as exc:
            raise ScenarioRunError(f"the server at {self.server.url} did not answer: {exc}") from None
        if response.status_code == 403:
            raise ScenarioRunError(f"the server at {self.server.url} refused the admin token")
        if response.status_code >= 400:
            raise ScenarioRunError(f"the server at {self.server.url} refused {path}: {response.text}")
