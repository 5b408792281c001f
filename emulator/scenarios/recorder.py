"""Recording: what a person does on the stage, written down as a scenario file.

The GUI hands the :class:`Recorder` each step in the shape a scenario file has (``{"device":
"pro", "edit": "harper", "set": {...}, "then": "save"}``) as the user does it; ``await
recorder.finish(stage)`` appends one last step whose ``expect:`` lines snapshot what is
observable at the end: on each device its queue size, its sync errors, and the sync state and
the changed field values of every record the recording touched; online those field values.
Replaying the file headless (the runner) reproduces that end state.

The replay starts from a fresh stage (sample data, the recorder's seed), so a recording should
start from one too (a new or reset stage). Records are named in the file by a lookup (``name()``)
or bound when created (``bind()``); the recorder keeps their IDs to snapshot them at the end,
following a temporary ID to the server's through the ``uploaded`` events' ID maps (AS-14).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from emulator.engine.uploader import server_ids
from emulator.scenarios.loader import NAME, parse_scenario
from emulator.scenarios.model import DeviceSpec, Lookup, Scenario
from emulator.scenarios.writer import REF_ACTIONS, dump_yaml, head_data, ref_data
from emulator.stage import Stage

ONLINE = "online"
END_SAY = "End of the recording: this is the state it reached."


class Recorder:
    """Collects steps and, at the end, the checks that pin the end state.

    Attributes:
        devices: the iPads of the recording (the stage's when it started, then those that joined).
        steps: the recorded steps, as scenario-file mappings.
    """

    def __init__(
        self,
        devices: Iterable[DeviceSpec],
        *,
        title: str = "Recorded session",
        description: str = "",
        rules: Iterable[str] = (),
        seed: int = 0,
        start: datetime | None = None,
    ) -> None:
        self.title = title
        self.description = description
        self.rules = tuple(rules)
        self.seed = seed
        self.start = start  # the emulated time the recording began (the replay starts there)
        self.devices: list[DeviceSpec] = list(devices)
        self.records: dict[str, Lookup] = {}
        self.steps: list[dict[str, Any]] = []
        self._ids: dict[str, tuple[str, str]] = {}  # name -> (object, record ID when named)
        self._touched: dict[str, Any] = {}  # key -> ref data (a name or an inline lookup)
        self._fields: dict[str, dict[str, Any]] = {}  # key -> field -> value as recorded
        self._editing: dict[str, str] = {}  # device -> key of the record on its edit screen
        self.finished = False

    @classmethod
    def for_stage(cls, stage: Stage, **kwargs: Any) -> Recorder:
        """A recorder for the iPads on ``stage`` now, with the stage's seed and emulated time."""
        specs = [
            DeviceSpec(d.id, d.profile.name, d.profile.user_id, d.profile.model, d.profile.ios_version)
            for d in stage.devices.values()
        ]
        return cls(specs, seed=stage.seed, start=stage.clock.now(), **kwargs)

    # naming records ------------------------------------------------------------------------------
    def name(self, object_name: str, where: Mapping[str, Any], record_id: str | None = None) -> str:
        """A name for the record of ``object_name`` matching ``where`` (a ``records:`` entry)."""
        lookup = Lookup(object_name, dict(where))
        for name, known in self.records.items():
            if known == lookup:
                return name
        base = "_".join(str(v) for v in where.values()).lower()
        base = re.sub(r"[^0-9a-z]+", "_", base).strip("_")[:30] or "record"
        base = base if base[0].isalpha() else f"r_{base}"
        name, n = base, 1
        while name in self.records or name in self._ids:
            n += 1
            name = f"{base}_{n}"
        assert NAME.match(name)
        self.records[name] = lookup
        if record_id is not None:
            self._ids[name] = (object_name, record_id)
        return name

    def bind(self, name: str, object_name: str, record_id: str) -> None:
        """Remember the ID of a record created by a step with ``as: name``."""
        self._ids[name] = (object_name, record_id)

    # steps ---------------------------------------------------------------------------------------
    def add_device(self, spec: DeviceSpec) -> None:
        """An iPad joined the stage during the recording."""
        self.devices.append(replace(spec, later=True))
        self.record({"device": spec.id, "join": True})

    def record(self, step: Mapping[str, Any]) -> None:
        """Append one step, a mapping as in a scenario file."""
        if self.finished:
            raise RuntimeError("the recording is finished")
        step = dict(step)
        self.steps.append(step)
        device = step.get("device") or (self.devices[0].id if len(self.devices) == 1 else None)
        key: str | None = None
        for action in (*REF_ACTIONS, "new", "online_create", "set"):
            if action not in step:
                continue
            if action in REF_ACTIONS:
                key = self._touch(step[action])
            elif action in ("new", "online_create") and "as" in step:
                key = self._touch(step["as"])
            elif action == "set" and device is not None:
                key = self._editing.get(device)
            break
        if key is not None:
            self._fields.setdefault(key, {}).update(step.get("set") or {})
            if device is not None and ("edit" in step or "new" in step):
                self._editing[device] = key
        for child in step.get("children") or ():
            child_key = self._touch(child["edit"]) if "edit" in child else None
            if "add" in child and "as" in child:
                child_key = self._touch(child["as"])
            if child_key is not None:
                self._fields.setdefault(child_key, {}).update(child.get("set") or {})
        if device is not None and (step.get("then") or any(k in step for k in ("save", "submit", "cancel"))):
            self._editing.pop(device, None)

    def _touch(self, ref: Any) -> str:
        data = ref_data(ref)
        key = data if isinstance(data, str) else dump_yaml(data)
        self._touched.setdefault(key, data)
        return key

    # the file ------------------------------------------------------------------------------------
    def data(self) -> dict[str, Any]:
        out = head_data(
            self.title, self.description, self.rules, self.seed, self.devices, self.records, self.start
        )
        out["steps"] = self.steps or [{"say": "Nothing was recorded."}]
        return out

    def to_yaml(self) -> str:
        return dump_yaml(self.data())

    def scenario(self, source: str = "<recording>") -> Scenario:
        """The recording so far, checked by the loader (raises ScenarioFileError if it is wrong)."""
        return parse_scenario(self.to_yaml(), source=source)

    async def finish(self, stage: Stage) -> Scenario:
        """Append the end-state checks (read from ``stage``) and return the checked scenario."""
        id_map = server_ids(stage.events.events)
        online: dict[str, list[dict[str, Any]]] = {}
        checks: list[dict[str, Any]] = []
        recorded = {d.id for d in self.devices}
        for device in stage.devices.values():
            if device.id not in recorded:
                continue
            checks.append({"queue": device.id, "count": len(device.queue())})
            checks.append({"sync_errors": device.id, "count": len(device.sync_errors())})
            for key, ref in self._touched.items():
                found = self._locate(ref, device.records, id_map)
                check: dict[str, Any] = {"record": ref, "at": device.id}
                if found is None:
                    check["exists"] = False
                else:
                    check["state"] = device.sync_state(found["id"])
                    check["fields"] = self._snapshot(key, found)
                checks.append(check)
        for key, ref in self._touched.items():
            object_name = self._object(ref)
            if object_name is not None and object_name not in online:
                page = await stage.online("GET", "/records", params={"object": object_name, "limit": 5000})
                online[object_name] = [r["fields"] for r in page["records"]]
            found = self._locate(ref, lambda name: online.get(name, []), id_map)
            check = {"record": ref, "at": ONLINE}
            if found is None:
                check["exists"] = False
            else:
                check["fields"] = self._snapshot(key, found)
            checks.append(check)
        for check in checks:  # an empty fields: says nothing
            if check.get("fields") == {}:
                del check["fields"]
        self.steps.append({"say": END_SAY, "expect": checks})
        self.finished = True
        return self.scenario()

    def _object(self, ref: Any) -> str | None:
        if isinstance(ref, dict):
            return str(ref["object"])
        if ref in self._ids:
            return self._ids[ref][0]
        lookup = self.records.get(ref)
        return lookup.object if lookup is not None else None

    def _locate(
        self, ref: Any, rows: Callable[[str], list[dict[str, Any]]], id_map: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """The record ``ref`` names among ``rows(object)``: by its known ID, else by its lookup."""
        object_name = self._object(ref)
        if object_name is None:
            return None
        records = rows(object_name)
        if isinstance(ref, str) and ref in self._ids:
            record_id = self._ids[ref][1]
            ids = {record_id, id_map.get(record_id, record_id)}
            return next((r for r in records if r.get("id") in ids), None)
        where = ref["where"] if isinstance(ref, dict) else self.records[ref].where
        matches = [r for r in records if all(r.get(k) == v for k, v in where.items())]
        return matches[0] if len(matches) == 1 else None

    def _snapshot(self, key: str, record: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, recorded in self._fields.get(key, {}).items():
            actual = record.get(name)
            if isinstance(recorded, str) and recorded.startswith("@") and not recorded.startswith("@@"):
                out[name] = recorded  # a record's ID: named, as recorded
            elif isinstance(actual, str) and actual.startswith("@"):
                out[name] = "@" + actual
            elif isinstance(actual, str) and actual.startswith("today"):
                continue  # would be read as a date; not worth a check
            else:
                out[name] = actual
        return out
