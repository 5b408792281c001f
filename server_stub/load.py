"""``autosync-stub load``: a room of simulated iPads against a stub server on this machine.

Each simulated device saves one record (an account) about once a second, uploads its queue
first-in first-out exactly as an iPad does (one transaction at a time, the same transaction ID on
every retry), and reads its user's feed about once a second. When the time is up the devices
stop saving, drain their queues, read their feeds to the end, and the driver checks the server:

* **lost**: a save never answered, answered but not online, or never seen on a feed by a device
  of its user;
* **duplicated**: a save online twice, or seen twice on a feed;
* **reordered**: one device's saves online or on a feed in another order than it made them.

Each must be 0 (the exit code says so). It prints throughput and the p50 / p95 / p99 of upload and
feed-read requests, and of the time from a save to its answer (which grows if the server falls
behind). With ``--db`` the driver starts the server itself (``autosync-stub`` on that database,
``--workers N``), and with ``--chaos N`` kills it (SIGKILL, the whole process group) N times at
random moments and starts it again on the same database while the devices keep retrying.

It only ever targets a loopback address, and is bounded in devices, seconds and restarts. This
is the one place that paces on wall time (it simulates people); the server and the emulator
read emulated clocks only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import resource
import secrets
import signal
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from server_stub.cli import is_loopback

MAX_DEVICES = 500
MAX_SECONDS = 900
MAX_CHAOS = 20
MAX_DRAIN = 300
MODELS = ("iPad Pro 11-inch", "iPad Air (5th generation)", "iPad mini 6", "iPad (9th generation)")
HEALTH_TIMEOUT = 60.0


@dataclass(frozen=True)
class Options:
    devices: int
    seconds: int
    server: str
    host: str
    port: int
    admin_token: str | None
    db: str | None
    workers: int
    chaos: int
    seed: int
    drain: int


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autosync-stub load",
        description="Simulated iPads against a stub server on this machine: each saves a record and "
        "reads its feed about once a second; then lost, duplicated and reordered saves are counted.",
    )
    parser.add_argument("--devices", type=int, required=True, help=f"simulated iPads (1 to {MAX_DEVICES})")
    parser.add_argument("--seconds", type=int, required=True, help=f"how long they save (1 to {MAX_SECONDS})")
    parser.add_argument(
        "--server", required=True, help="the server's URL, on loopback: http://127.0.0.1:8765"
    )
    parser.add_argument(
        "--admin-token",
        default=os.environ.get("AUTOSYNC_ADMIN_TOKEN"),
        help="the server's admin token (default $AUTOSYNC_ADMIN_TOKEN); not needed with --db",
    )
    parser.add_argument(
        "--db", help="start the server (autosync-stub) on this database URL at --server's port, and stop it"
    )
    parser.add_argument("--workers", type=int, default=1, help="with --db: server processes (PostgreSQL)")
    parser.add_argument(
        "--chaos",
        type=int,
        default=0,
        help=f"with --db: kill the server (SIGKILL) this many times at random moments (0 to {MAX_CHAOS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the devices' jitter and the kills")
    parser.add_argument(
        "--drain",
        type=int,
        default=60,
        help=f"seconds allowed at the end to empty the queues (max {MAX_DRAIN})",
    )
    return parser


def parse_args(argv: list[str]) -> Options:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 1 <= args.devices <= MAX_DEVICES:
        parser.error(f"--devices must be between 1 and {MAX_DEVICES}, not {args.devices}")
    if not 1 <= args.seconds <= MAX_SECONDS:
        parser.error(f"--seconds must be between 1 and {MAX_SECONDS}, not {args.seconds}")
    if not 1 <= args.drain <= MAX_DRAIN:
        parser.error(f"--drain must be between 1 and {MAX_DRAIN}, not {args.drain}")
    if not 0 <= args.chaos <= MAX_CHAOS:
        parser.error(f"--chaos must be between 0 and {MAX_CHAOS}, not {args.chaos}")
    url = urlsplit(args.server)
    try:
        port = url.port
    except ValueError:
        port = None
    if url.scheme != "http" or not url.hostname or port is None or url.path not in {"", "/"}:
        parser.error(f"--server must look like http://127.0.0.1:8765, not {args.server!r}")
    if not is_loopback(url.hostname):
        parser.error(
            f"--server {url.hostname} is not a loopback address: the load driver only ever "
            "targets this machine (127.0.0.1, ::1 or localhost)"
        )
    if args.chaos and not args.db:
        parser.error("--chaos needs --db: the driver can only kill and restart a server it started")
    if args.db is None and not args.admin_token:
        parser.error("--admin-token (or $AUTOSYNC_ADMIN_TOKEN) is needed to read the users' tokens")
    host = url.hostname
    return Options(
        devices=args.devices,
        seconds=args.seconds,
        server=f"http://{'[' + host + ']' if ':' in host else host}:{port}",
        host=host,
        port=port,
        admin_token=args.admin_token,
        db=args.db,
        workers=args.workers,
        chaos=args.chaos,
        seed=args.seed,
        drain=args.drain,
    )


# the server the driver may start --------------------------------------------------------------------
class ServerProcess:
    """``autosync-stub`` started, killed and restarted by the driver (its own process group)."""

    def __init__(self, options: Options, admin_token: str, log_dir: Path) -> None:
        self.options = options
        self.admin_token = admin_token
        self.log_path = log_dir / "server.log"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0
        self.deaths = 0  # exits the driver did not cause (the test fault hook, a crash)
        self.cpu_seconds = 0.0  # of processes that are gone
        self._stopping = False
        self._killing = False

    def command(self) -> list[str]:
        o = self.options
        assert o.db is not None
        return [
            sys.executable,
            "-m",
            "server_stub.cli",
            "--host",
            o.host,
            "--port",
            str(o.port),
            "--db",
            o.db,
            # one word: a random token starts with "-" one time in 64, which argparse takes for an option
            f"--admin-token={self.admin_token}",
            "--workers",
            str(o.workers),
        ]

    async def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.command(), stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()
        self.starts += 1
        await wait_healthy(self.options.server, self)

    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def group_cpu(self) -> float:
        """CPU seconds used so far by the server's processes (its process group)."""
        if self.process is None:
            return 0.0
        return group_cpu_seconds(self.process.pid)

    async def kill(self) -> None:
        """SIGKILL the whole process group (the server and its workers) and wait for it."""
        if not self.alive():
            return
        assert self.process is not None
        self._killing = True
        self.cpu_seconds += self.group_cpu()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()
        self.kills += 1
        self._killing = False

    def stopping(self) -> bool:
        return self._stopping

    async def supervise(self) -> None:
        """Start the server again whenever it is gone, until told to stop."""
        while not self.stopping():
            assert self.process is not None
            process = self.process
            await process.wait()
            if self.stopping():
                return
            if not self._killing and process is self.process:
                self.deaths += 1
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # workers left without their parent
            while self._killing:
                await asyncio.sleep(0.01)
            await self.start()

    async def stop(self) -> None:
        self._stopping = True
        if self.alive():
            assert self.process is not None
            self.cpu_seconds += self.group_cpu()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                await self.process.wait()

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group ``pgid`` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:  # pgrp
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def own_cpu() -> float:
    """CPU seconds this driver process has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return float(sum(values) - idle), float(sum(values))


async def wait_healthy(base: str, server: ServerProcess | None = None) -> None:
    """Wait (bounded) until the server answers /health."""
    deadline = time.monotonic() + HEALTH_TIMEOUT
    async with httpx.AsyncClient(base_url=base, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server is not None and not server.alive():
                raise RuntimeError(f"the server exited while starting:\n{server.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get("/health")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server at {base} did not answer /health within {HEALTH_TIMEOUT:.0f} s")


# the simulated devices -------------------------------------------------------------------------------
@dataclass
class SimDevice:
    """One simulated iPad: its queue, what it got answered and what it read on the feed."""

    id: str
    user: str
    token: str
    territory: str
    model: str
    queue: deque[tuple[int, float]] = field(default_factory=deque)  # (n, when saved)
    made: int = 0
    answered: dict[int, str] = field(default_factory=dict)  # n -> server record ID
    refused: list[str] = field(default_factory=list)
    replayed: int = 0
    retries: int = 0
    cursor: int = 0
    seen: dict[str, list[int]] = field(default_factory=dict)  # origin device -> n in feed order
    upload_ms: list[float] = field(default_factory=list)
    poll_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)  # from the save to its answer
    poll_errors: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def transaction_id(self, n: int) -> str:
        return f"{self.id}-{n:06d}"

    def body(self, n: int) -> dict[str, Any]:
        fields = {
            "account_type__v": "hcp__v",
            "first_name__v": "Load",
            "last_name__v": f"{self.id} #{n:06d}",
            "territory__v": self.territory,
        }
        item = {"op": "create", "object": "account__v", "id": f"tmp-{self.id}-{n}", "fields": fields}
        return {"transaction_id": self.transaction_id(n), "device_id": self.id, "items": [item]}

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "X-Autosync-Device": self.id,
            "X-Autosync-Model": self.model,
            "X-Autosync-Queue": str(len(self.queue)),
        }


def marker(record: dict[str, Any], run: str) -> tuple[str, int] | None:
    """(device ID, save number) of a load save, from its last name; None for other records."""
    name = record.get("last_name__v")
    if not isinstance(name, str) or not name.startswith(f"load-{run}-") or " #" not in name:
        return None
    device, _, number = name.partition(" #")
    return (device, int(number)) if number.isdigit() else None


def from_transaction(transaction_id: str, run: str) -> tuple[str, int] | None:
    if not transaction_id.startswith(f"load-{run}-"):
        return None
    device, _, number = transaction_id.rpartition("-")
    return (device, int(number)) if number.isdigit() else None


class Room:
    """The simulated devices, their pacing, and the checks at the end."""

    def __init__(self, options: Options, admin_token: str) -> None:
        self.options = options
        self.admin_token = admin_token
        self.rng = random.Random(options.seed)
        self.run = secrets.token_hex(4)
        self.devices: list[SimDevice] = []
        self.saving_over = asyncio.Event()
        self.done = asyncio.Event()
        self.backlog: list[int] = []  # total queue length, once a second

    async def join(self, client: httpx.AsyncClient) -> None:
        admin = {"Authorization": f"Bearer {self.admin_token}"}
        users = (await client.get("/api/v1/admin/users", headers=admin)).raise_for_status().json()
        if not users:
            raise RuntimeError("the server has no users")
        tokens = {}
        for user in users:
            answer = await client.get(f"/api/v1/admin/users/{user['id']}/token", headers=admin)
            tokens[user["id"]] = answer.raise_for_status().json()["token"]
        for number in range(self.options.devices):
            user = users[number % len(users)]
            self.devices.append(
                SimDevice(
                    id=f"load-{self.run}-{number:03d}",
                    user=user["id"],
                    token=tokens[user["id"]],
                    territory=(user["territories"] or ["T-NE"])[0],
                    model=MODELS[number % len(MODELS)],
                )
            )

    # the device's three loops ---------------------------------------------------------------------
    async def saver(self, device: SimDevice, start: float) -> None:
        offset = self.rng.random()
        for n in range(1, self.options.seconds + 1):
            await sleep_until(start + offset + n - 1)
            device.queue.append((n, time.monotonic()))
            device.made = n
            device.wake.set()

    async def uploader(self, device: SimDevice, client: httpx.AsyncClient) -> None:
        backoff = 0.1
        while True:
            if not device.queue:
                if self.saving_over.is_set() or self.done.is_set():
                    return
                device.wake.clear()
                await device.wake.wait()
                continue
            n, saved_at = device.queue[0]
            sent = time.monotonic()
            try:
                response = await client.post(
                    "/api/v1/transactions", json=device.body(n), headers=device.headers()
                )
            except httpx.HTTPError:
                response = None
            device.upload_ms.append((time.monotonic() - sent) * 1000)
            if response is None or response.status_code >= 500 or response.status_code in {401, 408, 429}:
                device.retries += 1
                if self.done.is_set():
                    return
                await asyncio.sleep(backoff * (0.5 + self.rng.random()))
                backoff = min(backoff * 2, 2.0)
                continue
            backoff = 0.1
            answer = response.json() if response.status_code == 200 else {}
            device.queue.popleft()
            device.answer_ms.append((time.monotonic() - saved_at) * 1000)
            if answer.get("outcome") == "saved" and answer.get("id_map"):
                device.answered[n] = next(iter(answer["id_map"].values()))
                device.replayed += bool(answer.get("replayed"))
            else:
                device.refused.append(
                    f"{device.transaction_id(n)}: {response.status_code} {response.text[:200]}"
                )

    async def poll(self, device: SimDevice, client: httpx.AsyncClient) -> int:
        """Read the device's feed to its end; returns how many entries came (-1: it failed)."""
        got = 0
        for _page in range(50):
            sent = time.monotonic()
            try:
                response = await client.get(
                    f"/api/v1/feeds/{device.user}",
                    params={"after": device.cursor, "limit": 200},
                    headers=device.headers(),
                )
            except httpx.HTTPError:
                response = None
            device.poll_ms.append((time.monotonic() - sent) * 1000)
            if response is None or response.status_code != 200:
                device.poll_errors += 1
                return -1
            entries = response.json()["entries"]
            for entry in entries:
                origin = from_transaction(entry["transaction_id"], self.run)
                if origin is not None:
                    device.seen.setdefault(origin[0], []).append(origin[1])
                device.cursor = max(device.cursor, entry["seq"])
            got += len(entries)
            if len(entries) < 200:
                break
        return got

    async def poller(self, device: SimDevice, client: httpx.AsyncClient, start: float) -> None:
        offset = self.rng.random()
        tick = 0
        while not self.saving_over.is_set():
            await sleep_until(start + offset + tick + 0.5)
            tick += 1
            await self.poll(device, client)

    async def watch_backlog(self, start: float) -> None:
        for tick in range(1, self.options.seconds + 1):
            await sleep_until(start + tick)
            self.backlog.append(sum(len(d.queue) for d in self.devices))

    # a whole run ---------------------------------------------------------------------------------
    async def play(self, server: ServerProcess | None) -> dict[str, Any]:
        o = self.options
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        timeout = httpx.Timeout(15.0)
        clients = [httpx.AsyncClient(base_url=o.server, timeout=timeout, limits=limits) for _ in self.devices]
        try:
            start = time.monotonic() + 0.5
            cpu_before = server.group_cpu() if server else 0.0
            busy_before = machine_busy()
            driver_before = own_cpu()
            tasks = [asyncio.create_task(self.watch_backlog(start))]
            for device, client in zip(self.devices, clients, strict=True):
                tasks.append(asyncio.create_task(self.saver(device, start)))
                tasks.append(asyncio.create_task(self.uploader(device, client)))
                tasks.append(asyncio.create_task(self.poller(device, client, start)))
            chaos = asyncio.create_task(self.chaos(server, start)) if server and o.chaos else None
            await sleep_until(start + o.seconds + 0.05)
            self.saving_over.set()
            for device in self.devices:
                device.wake.set()
            saving_busy = machine_busy()
            driver_cpu = own_cpu() - driver_before
            uploaders = [t for i, t in enumerate(tasks) if i % 3 == 2]  # watch, (saver, uploader, poller)*
            _finished, pending = (
                await asyncio.wait(uploaders, timeout=o.drain) if uploaders else (set(), set())
            )
            self.done.set()
            for device in self.devices:
                device.wake.set()
            if chaos is not None:
                await chaos
            await asyncio.gather(*tasks, return_exceptions=True)
            drained = time.monotonic()
            for _round in range(5):  # read every feed to its end
                results = await asyncio.gather(
                    *(self.poll(d, c) for d, c in zip(self.devices, clients, strict=True))
                )
                if all(r == 0 for r in results):
                    break
            cpu = (server.cpu_seconds + server.group_cpu() - cpu_before) if server else None
            busy_after = machine_busy()
            async with httpx.AsyncClient(base_url=o.server, timeout=60.0) as admin:
                online = await self.online_saves(admin)
                room = await self.room(admin)
            return self.report(
                start=start,
                drained=drained,
                still_queued=len(pending),
                online=online,
                room=room,
                server_cpu=cpu,
                driver_cpu=driver_cpu,
                busy=(saving_busy[0] - busy_before[0], saving_busy[1] - busy_before[1]),
                busy_all=(busy_after[0] - busy_before[0], busy_after[1] - busy_before[1]),
                server=server,
            )
        finally:
            for client in clients:
                await client.aclose()

    async def chaos(self, server: ServerProcess, start: float) -> None:
        o = self.options
        moments = sorted(self.rng.uniform(0.15, 0.85) * o.seconds for _ in range(o.chaos))
        for moment in moments:
            await sleep_until(start + moment)
            await server.kill()

    async def online_saves(self, admin: httpx.AsyncClient) -> list[tuple[str, int, str]]:
        """(device, n, record ID) of every load save online, in record ID order."""
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        out = []
        offset = 0
        for _page in range(1000):
            page = (
                (
                    await admin.get(
                        "/api/v1/admin/records",
                        params={"object": "account__v", "offset": offset, "limit": 5000},
                        headers=headers,
                    )
                )
                .raise_for_status()
                .json()
            )
            for record in page["records"]:
                found = marker(record["fields"], self.run)
                if found is not None:
                    out.append((found[0], found[1], record["id"]))
            offset += len(page["records"])
            if not page["records"] or offset >= page["total"]:
                break
        return sorted(out, key=lambda saved: saved[2])

    async def room(self, admin: httpx.AsyncClient) -> int:
        headers = {"Authorization": f"Bearer {self.admin_token}"}
        listed = (await admin.get("/api/v1/admin/devices", headers=headers)).raise_for_status().json()
        return sum(1 for d in listed["devices"] if d["device_id"].startswith(f"load-{self.run}-"))

    def report(
        self,
        *,
        start: float,
        drained: float,
        still_queued: int,
        online: list[tuple[str, int, str]],
        room: int,
        server_cpu: float | None,
        busy: tuple[float, float],
        driver_cpu: float = 0.0,
        busy_all: tuple[float, float],
        server: ServerProcess | None,
    ) -> dict[str, Any]:
        devices = {d.id: d for d in self.devices}
        lost = duplicated = reordered = 0
        problems: list[str] = []
        # online: each answered save exactly once, in each device's order
        by_device: dict[str, list[int]] = {}
        for device_id, n, _record_id in online:
            by_device.setdefault(device_id, []).append(n)
        for device in self.devices:
            numbers = by_device.get(device.id, [])
            unanswered = len(device.queue)
            missing = sorted(set(device.answered) - set(numbers))
            extra = len(numbers) - len(set(numbers))
            out_of_order = sum(1 for a, b in itertools.pairwise(numbers) if b < a)
            lost += unanswered + len(missing)
            duplicated += extra
            reordered += out_of_order
            if unanswered or missing or extra or out_of_order:
                problems.append(
                    f"{device.id} online: {unanswered} unanswered, missing {missing[:5]}, "
                    f"{extra} twice, {out_of_order} out of order"
                )
        # feeds: every device saw every save of its user's devices, once, in order
        for device in self.devices:
            for origin_id, numbers in device.seen.items():
                origin = devices.get(origin_id)
                if origin is None or origin.user != device.user:
                    problems.append(f"{device.id} saw saves of {origin_id}, another user's device")
                    reordered += len(numbers)
                    continue
                twice = len(numbers) - len(set(numbers))
                backwards = sum(1 for a, b in itertools.pairwise(numbers) if b < a)
                duplicated += twice
                reordered += backwards
                if twice or backwards:
                    problems.append(
                        f"{device.id} read {origin_id}'s saves {twice} twice, {backwards} out of order"
                    )
            for origin in self.devices:
                if origin.user != device.user:
                    continue
                unseen = set(origin.answered) - set(device.seen.get(origin.id, []))
                if unseen:
                    lost += len(unseen)
                    problems.append(
                        f"{device.id} never read {len(unseen)} of {origin.id}'s saves on the feed"
                    )
        refused = [r for d in self.devices for r in d.refused]
        saving_seconds = self.options.seconds
        uploads = sum(len(d.answered) for d in self.devices)
        requests_upload = sum(len(d.upload_ms) for d in self.devices)
        requests_poll = sum(len(d.poll_ms) for d in self.devices)
        result = {
            "devices": self.options.devices,
            "seconds": saving_seconds,
            "workers": self.options.workers,
            "saves": sum(d.made for d in self.devices),
            "answered": uploads,
            "refused": len(refused),
            "upload_requests": requests_upload,
            "poll_requests": requests_poll,
            "uploads_per_s": round(uploads / max(drained - start, 1e-9), 1),
            "polls_per_s": round(requests_poll / max(drained - start, 1e-9), 1),
            "upload_ms": percentiles([ms for d in self.devices for ms in d.upload_ms]),
            "poll_ms": percentiles([ms for d in self.devices for ms in d.poll_ms]),
            "save_to_answer_ms": percentiles([ms for d in self.devices for ms in d.answer_ms]),
            "backlog": {
                "max": max(self.backlog, default=0),
                "at_end": self.backlog[-1] if self.backlog else 0,
            },
            "drain_s": round(max(drained - start - saving_seconds, 0.0), 1),
            "retries": sum(d.retries for d in self.devices),
            "replayed": sum(d.replayed for d in self.devices),
            "poll_errors": sum(d.poll_errors for d in self.devices),
            "still_queued": still_queued,
            "room": room,
            "server_starts": server.starts if server else None,
            "server_kills": server.kills if server else None,
            "server_deaths": server.deaths if server else None,
            "server_cpu_s": None if server_cpu is None else round(server_cpu, 2),
            "server_cpu_ms_per_request": None
            if server_cpu is None
            else round(server_cpu * 1000 / max(requests_upload + requests_poll, 1), 2),
            "driver_cpu_s_while_saving": round(driver_cpu, 2),
            "machine_busy_pct": round(100 * busy[0] / busy[1] * (os.cpu_count() or 1), 0)
            if busy[1]
            else None,
            "lost": lost,
            "duplicated": duplicated,
            "reordered": reordered,
            "problems": problems[:20] + refused[:5],
        }
        result["ok"] = lost == duplicated == reordered == 0 and not refused and room == self.options.devices
        return result


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": round(ordered[-1], 1)}


async def sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def run(options: Options) -> dict[str, Any]:
    admin_token = options.admin_token or secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="autosync-load-") as folder:
        server = ServerProcess(options, admin_token, Path(folder)) if options.db else None
        supervisor = None
        try:
            if server is not None:
                await server.start()
                supervisor = asyncio.create_task(server.supervise())
            else:
                await wait_healthy(options.server)
            room = Room(options, admin_token)
            async with httpx.AsyncClient(base_url=options.server, timeout=30.0) as client:
                await room.join(client)
            result = await room.play(server)
            result["run"] = room.run
            return result
        finally:
            if server is not None:
                await server.stop()
            if supervisor is not None:
                supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervisor


def describe(result: dict[str, Any]) -> str:
    u, p, a = result["upload_ms"], result["poll_ms"], result["save_to_answer_ms"]
    lines = [
        f"load: {result['devices']} devices for {result['seconds']} s, run {result['run']}"
        + (f", {result['workers']} server process(es)" if result["server_starts"] else ""),
        f"  saves: {result['saves']} made, {result['answered']} answered ({result['uploads_per_s']}/s), "
        f"{result['refused']} refused, {result['retries']} retried requests, "
        f"{result['replayed']} replayed answers",
        f"  upload requests: {result['upload_requests']}, p50 {u['p50']} ms, p95 {u['p95']} ms, "
        f"p99 {u['p99']} ms, max {u['max']} ms",
        f"  feed reads: {result['poll_requests']} ({result['polls_per_s']}/s), p50 {p['p50']} ms, "
        f"p95 {p['p95']} ms, p99 {p['p99']} ms, max {p['max']} ms",
        f"  save to answer: p50 {a['p50']} ms, p95 {a['p95']} ms, p99 {a['p99']} ms; backlog max "
        f"{result['backlog']['max']}, at the end {result['backlog']['at_end']}, "
        f"drained in {result['drain_s']} s",
    ]
    if result["server_starts"]:
        lines.append(
            f"  server: started {result['server_starts']} time(s), killed {result['server_kills']}, "
            f"died {result['server_deaths']}; CPU {result['server_cpu_s']} s "
            f"({result['server_cpu_ms_per_request']} ms per request); machine busy "
            f"{result['machine_busy_pct']}% of {os.cpu_count()} cores while saving, "
            f"{result['driver_cpu_s_while_saving']} s of it the driver's"
        )
    lines.append(f"  room: {result['room']} of {result['devices']} devices listed by the server")
    lines.append(
        f"  check: lost {result['lost']}, duplicated {result['duplicated']}, reordered {result['reordered']}"
        + (" - OK" if result["ok"] else " - FAILED")
    )
    lines += [f"  ! {problem}" for problem in result["problems"]]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    options = parse_args(argv)
    try:
        result = asyncio.run(run(options))
    except (RuntimeError, httpx.HTTPError) as exc:
        print(f"autosync-stub load: {exc}", file=sys.stderr)
        return 2
    print(describe(result), flush=True)
    print("load-result: " + json.dumps(result), flush=True)
    return 0 if result["ok"] else 1
