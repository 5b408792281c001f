"""Network conditions, applied in the device's HTTP transport (a seam, not ``if`` branches).

Per device: online; offline (the app knows and does not try); lie-fi (the app thinks it is
online, requests time out after the request timeout of emulated time); added latency; random
loss; and one-shot injected faults: the next request's reply is lost after the server committed,
the server answers 503, or the request times out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import httpx

from emulator.engine.clock import EmulatedClock

Mode = Literal["online", "offline", "lie-fi"]
Fault = Literal["reply_lost", "server_error", "timeout"]
FAULTS: tuple[Fault, ...] = ("reply_lost", "server_error", "timeout")
#: Emulated time a request waits for an answer that never comes (lie-fi, loss, a timeout fault).
REQUEST_TIMEOUT = timedelta(seconds=30)
#: Wall-clock seconds the HTTP client waits for a real server (a remote stub that hangs).
WIRE_TIMEOUT_SECONDS = 60.0


class Offline(httpx.ConnectError):
    """Raised for a request made while the device is offline."""


@dataclass
class NetworkConditions:
    """A device's network, as the user set it."""

    mode: Mode = "online"
    latency: timedelta = timedelta(0)
    loss: float = 0.0  # probability that a request is lost (times out)
    request_timeout: timedelta = REQUEST_TIMEOUT
    faults: list[Fault] = field(default_factory=list)

    @property
    def app_thinks_online(self) -> bool:
        """Whether the app believes it has connectivity (lie-fi fools it)."""
        return self.mode != "offline"

    def describe(self) -> str:
        text = {"online": "Online", "offline": "Offline", "lie-fi": "Lie-fi"}[self.mode]
        if self.mode == "online" and self.latency:
            text += f", +{self.latency.total_seconds():g} s latency"
        if self.mode == "online" and self.loss:
            text += f", {self.loss:.0%} loss"
        return text


class ConditionedTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport and applies the device's network conditions per request."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        conditions: NetworkConditions,
        clock: EmulatedClock,
        rng: random.Random,
    ) -> None:
        self.inner = inner
        self.conditions = conditions
        self.clock = clock
        self.rng = rng

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        c = self.conditions
        if c.mode == "offline":
            raise Offline("the device is offline", request=request)
        fault = c.faults.pop(0) if c.faults else None
        lost = c.loss > 0 and self.rng.random() < c.loss
        if c.mode == "lie-fi" or fault == "timeout" or lost:
            await self.clock.sleep(c.request_timeout)
            raise httpx.ReadTimeout("no answer before the request timed out", request=request)
        await self.clock.sleep(c.latency / 2)
        if fault == "server_error":
            return httpx.Response(503, json={"detail": "service unavailable"}, request=request)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        await self.clock.sleep(c.latency / 2)
        if fault == "reply_lost":
            raise httpx.ReadError("the connection dropped before the reply arrived", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
