"""Incremental sync, started by the user (AS-27): upload first, then download what changed.

It is the only way online changes, other users' changes, territory alignments, metadata and
content reach a device, and the way back after the feed expired (AS-18). Progress is reported
as ``sync_progress`` events (items done / total).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from emulator.engine.device import Device

CHUNK = 200


@dataclass(frozen=True)
class SyncReport:
    ok: bool
    message: str
    updated: int = 0
    removed: int = 0


class IncrementalSync:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.running = False
        self.progress: tuple[int, int] = (0, 0)

    async def run(self) -> SyncReport:
        from emulator.engine.device import ActionRefused

        device = self.device
        if device.edit is not None:
            raise ActionRefused("Save or cancel the edit screen before syncing.")
        if self.running:
            raise ActionRefused("A sync is already running.")
        self.running = True
        try:
            device.say("sync_started", f"Incremental sync started on {device.profile.name}.")
            if not device.conditions.app_thinks_online:
                return self._failed("the iPad is offline")
            if not await device.uploader.drain(manual=True):
                return self._failed("the upload queue could not be sent")
            try:
                answer = await self._download()
            except httpx.HTTPError as exc:
                return self._failed(str(exc) or type(exc).__name__)
            return await self._apply(*answer)
        finally:
            self.running = False

    def _failed(self, why: str) -> SyncReport:
        self.device.say("sync_failed", f"Incremental sync failed: {why}.")
        return SyncReport(False, why)

    async def _download(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        device = self.device
        cursor = device.store.setting("last_sync_cursor")
        response = await device.client.post("/api/v1/sync", json={"cursor": cursor})
        response.raise_for_status()
        answer = response.json()
        local = {r["id"] for _, r in device.store.records()}
        changed = {r["id"] for r in answer["records"]}
        missing = [
            rid
            for ids in answer["visible_ids"].values()
            for rid in ids
            if rid not in local and rid not in changed
        ]
        fetched: list[dict[str, Any]] = []
        for start in range(0, len(missing), CHUNK):
            got = await device.client.post("/api/v1/sync/fetch", json={"ids": missing[start : start + CHUNK]})
            got.raise_for_status()
            fetched += got.json()
        return answer, fetched

    async def _apply(self, answer: dict[str, Any], fetched: list[dict[str, Any]]) -> SyncReport:
        device = self.device
        store = device.store
        keep = {rid for item in store.queue() for rid in item.record_ids()}
        keep |= {rid for e in store.errors() for rid in e.record_ids()}
        visible = {rid for ids in answer["visible_ids"].values() for rid in ids}
        incoming = [r for r in answer["records"] + fetched if r["id"] not in keep]
        stale = [
            rid
            for _, r in store.records()
            if (rid := r["id"]) not in visible and rid not in keep and not rid.startswith("tmp-")
        ]
        total = len(incoming) + len(stale) + 1
        done = 0
        for start in range(0, len(incoming), CHUNK):
            with store.transaction():
                for record in incoming[start : start + CHUNK]:
                    store.put(record["object"], record["fields"])
            done += len(incoming[start : start + CHUNK])
            self._progress(done, total)
            await asyncio.sleep(0)  # let the UI breathe between chunks
        with store.transaction():
            for rid in stale:
                store.remove(rid)
            store.set_setting("schema", answer["schema"])
            device.forget_schema()
            datasets = dict(store.setting("datasets", {}))
            datasets.update({d["name"]: d for d in answer["datasets"]})
            store.set_setting("datasets", datasets)
            store.set_setting("last_sync_cursor", answer["cursor"])
            store.set_setting("last_sync_at", answer["server_time"])
            store.set_setting("feed_cursor", max(int(store.setting("feed_cursor", 0)), answer["feed_seq"]))
            store.set_setting("feed_missed", False)
        self._progress(total, total)
        message = (
            f"Incremental sync finished: {len(incoming)} records updated, "
            f"{len(stale)} removed, {len(answer['datasets'])} data sets."
        )
        device.say("sync_finished", message, updated=len(incoming), removed=len(stale))
        device.poller.merge_waiting()
        return SyncReport(True, message, len(incoming), len(stale))

    def _progress(self, done: int, total: int) -> None:
        self.progress = (done, total)
        self.device.say("sync_progress", f"Sync {done} of {total}.", done=done, total=total)
