"""Recording: what a person does on the stage, written down as a scenario file.

An :class:`~emulator.scenarios.event_recording.EventRecording` hands the :class:`Recorder` each
step, built from the stage's events, in the shape a scenario file has (``{"device": "pro",
"edit": "harper", "set": {...}, "then": "save"}``) as it happens on the stage; the recorder
reads it as the loader would (into a typed :class:`~emulator.scenarios.model.Step`, knowing the
devices, the names and the edit screens of the steps before it) to follow the records it touches.
``await recorder.finish(stage)`` appends one last step whose ``expect:`` lines snapshot what is
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
from dataclasses import dataclass, replace
from datetime import datetime

from emulator.engine.uploader import server_ids
from emulator.scenarios.actions import (
    Cancel,
    Delete,
    Edit,
    New,
    OnlineCreate,
    OnlineEdit,
    Open,
    Resolve,
    Save,
    SetFields,
    Submit,
)
from emulator.scenarios.checks import CheckKind, QueueCheck, RecordCheck, SyncErrorsCheck
from emulator.scenarios.loader import NAME, ScenarioFileError, StepReader, parse_scenario
from emulator.scenarios.model import DeviceSpec, Scenario, Step
from emulator.scenarios.specs import plain
from emulator.scenarios.values import ONLINE, AddChild, Child, EditChild, Lookup, RecordRef, Scalar
from emulator.scenarios.writer import check_data, dump_yaml, head_data
from emulator.stage import Stage

END_SAY = "End of the recording: this is the state it reached."
#: A record as the engine and the server hold it: field name -> value.
Row = Mapping[str, object]


@dataclass(frozen=True)
class _Touch:
    """What a step did to the records it names: the key of the record, values set, children."""

    key: str | None = None
    fields: Mapping[str, Scalar] | None = None
    children: tuple[Child, ...] = ()
    opens: bool = False  # the record is on the device's edit screen now
    closes: bool = False  # the step leaves the edit screen


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
        embedded: bool = True,
    ) -> None:
        self.title = title
        self.description = description
        self.rules = tuple(rules)
        self.seed = seed
        self.start = start  # the emulated time the recording began (the replay starts there)
        self.embedded = embedded  # recorded on the embedded server (its users are the sample's)
        self.devices: list[DeviceSpec] = list(devices)
        self.records: dict[str, Lookup] = {}
        self.steps: list[dict[str, object]] = []
        self._reader = StepReader(self.devices, {})
        self._ids: dict[str, tuple[str, str]] = {}  # name -> (object, record ID when named)
        self._touched: dict[str, RecordRef] = {}  # key -> the record as the file names it
        self._fields: dict[str, dict[str, Scalar]] = {}  # key -> field -> value as recorded
        self._editing: dict[str, str] = {}  # device -> key of the record on its edit screen
        self.finished = False

    @classmethod
    def for_stage(
        cls,
        stage: Stage,
        *,
        title: str = "Recorded session",
        description: str = "",
        rules: Iterable[str] = (),
    ) -> Recorder:
        """A recorder for the iPads on ``stage`` now, with the stage's seed and emulated time."""
        specs = [
            DeviceSpec(d.id, d.profile.name, d.profile.user_id, d.profile.model, d.profile.ios_version)
            for d in stage.devices.values()
        ]
        return cls(
            specs,
            title=title,
            description=description,
            rules=rules,
            seed=stage.seed,
            start=stage.clock.now(),
            embedded=stage.embedded,
        )

    # naming records ------------------------------------------------------------------------------
    def name(self, object_name: str, where: Mapping[str, Scalar], record_id: str | None = None) -> str:
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
        self._reader.name(name, object_name)
        if record_id is not None:
            self._ids[name] = (object_name, record_id)
        return name

    def bind(self, name: str, object_name: str, record_id: str) -> None:
        """Remember the ID of a record created by a step with ``as: name``."""
        self._ids[name] = (object_name, record_id)
        self._reader.name(name, object_name)

    # steps ---------------------------------------------------------------------------------------
    def add_device(self, spec: DeviceSpec) -> None:
        """An iPad joined the stage during the recording."""
        joined = replace(spec, later=True)
        self.devices.append(joined)
        self._reader.add_device(joined)
        self.record({"device": spec.id, "join": True})

    def record(self, step: Mapping[str, object]) -> None:
        """Append one step, a mapping as in a scenario file."""
        if self.finished:
            raise RuntimeError("the recording is finished")
        data = dict(step)
        self.steps.append(data)
        try:
            typed = self._reader.read(data)
        except ScenarioFileError:
            return  # kept as it is; reading the whole file (finish, scenario) says what is wrong
        self._follow(typed)

    def _follow(self, step: Step) -> None:
        """Note the records ``step`` touches and the values it gives them."""
        touch = self._touch_of(step)
        device = step.device
        key = touch.key
        if key is None and device is not None and isinstance(step.action, SetFields):
            key = self._editing.get(device)
        if key is not None:
            self._fields.setdefault(key, {}).update(touch.fields or {})
            if device is not None and touch.opens:
                self._editing[device] = key
        for child in touch.children:
            match child:
                case EditChild():
                    self._fields.setdefault(self._touch(child.record), {}).update(child.fields)
                case AddChild(bind=str(name)):
                    self._fields.setdefault(self._touch(name), {}).update(child.fields)
        if device is not None and touch.closes:
            self._editing.pop(device, None)

    def _touch_of(self, step: Step) -> _Touch:
        a = step.action
        match a:
            case Open() | Delete() | Resolve():
                return _Touch(self._touch(a.record))
            case Edit():
                return _Touch(self._touch(a.record), a.fields, a.children, True, a.then is not None)
            case New():
                key = None if a.bind is None else self._touch(a.bind)
                return _Touch(key, a.fields, a.children, True, a.then is not None)
            case SetFields():
                return _Touch(None, a.fields, a.children, False, a.then is not None)
            case OnlineEdit():
                return _Touch(self._touch(a.record), a.fields)
            case OnlineCreate():
                return _Touch(None if a.bind is None else self._touch(a.bind), a.fields)
            case Save() | Submit() | Cancel():
                return _Touch(closes=True)
            case _:
                return _Touch()

    def _touch(self, ref: RecordRef) -> str:
        key = ref if isinstance(ref, str) else dump_yaml(plain(ref))
        self._touched.setdefault(key, ref)
        return key

    # the file ------------------------------------------------------------------------------------
    def data(self) -> dict[str, object]:
        out = head_data(
            self.title, self.description, self.rules, self.seed, self.devices, self.records, self.start
        )
        out["steps"] = self.steps or [{"say": "Nothing was recorded."}]
        return out

    def to_yaml(self) -> str:
        return dump_yaml(self.data())

    def scenario(self, source: str = "<recording>") -> Scenario:
        """The recording so far, checked by the loader (raises ScenarioFileError if it is wrong)."""
        return parse_scenario(self.to_yaml(), source=source, embedded=self.embedded)

    async def finish(self, stage: Stage) -> Scenario:
        """Append the end-state checks (read from ``stage``) and return the checked scenario."""
        id_map = server_ids(stage.events.events)
        checks: list[CheckKind] = []
        recorded = {d.id for d in self.devices}
        for device in stage.devices.values():
            if device.id not in recorded:
                continue
            checks.append(QueueCheck(device=device.id, count=len(device.queue())))
            checks.append(SyncErrorsCheck(device=device.id, count=len(device.sync_errors())))
            for key, ref in self._touched.items():
                found = self._locate(ref, device.records, id_map)
                if found is None:
                    checks.append(RecordCheck(record=ref, at=device.id, exists=False))
                else:
                    state = device.sync_state(str(found["id"]))
                    checks.append(
                        RecordCheck(record=ref, at=device.id, state=state, fields=self._snapshot(key, found))
                    )
        online: dict[str, list[Row]] = {}
        for key, ref in self._touched.items():
            object_name = self._object(ref)
            if object_name is not None and object_name not in online:
                page = await stage.online("GET", "/records", params={"object": object_name, "limit": 5000})
                online[object_name] = [r["fields"] for r in page["records"]]
            found = self._locate(ref, lambda name: online.get(name, []), id_map)
            if found is None:
                checks.append(RecordCheck(record=ref, at=ONLINE, exists=False))
            else:
                checks.append(RecordCheck(record=ref, at=ONLINE, fields=self._snapshot(key, found)))
        self.steps.append({"say": END_SAY, "expect": [check_data(c) for c in checks]})
        self.finished = True
        return self.scenario()

    def _object(self, ref: RecordRef) -> str | None:
        if isinstance(ref, Lookup):
            return ref.object
        if ref in self._ids:
            return self._ids[ref][0]
        lookup = self.records.get(ref)
        return lookup.object if lookup is not None else None

    def _locate(
        self, ref: RecordRef, rows: Callable[[str], Iterable[Row]], id_map: Mapping[str, str]
    ) -> Row | None:
        """The record ``ref`` names among ``rows(object)``: by its known ID, else by its lookup."""
        object_name = self._object(ref)
        if object_name is None:
            return None
        records = list(rows(object_name))
        if isinstance(ref, str) and ref in self._ids:
            record_id = self._ids[ref][1]
            ids = {record_id, id_map.get(record_id, record_id)}
            return next((r for r in records if r.get("id") in ids), None)
        where = ref.where if isinstance(ref, Lookup) else self.records[ref].where
        matches = [r for r in records if all(r.get(k) == v for k, v in where.items())]
        return matches[0] if len(matches) == 1 else None

    def _snapshot(self, key: str, record: Row) -> dict[str, Scalar]:
        out: dict[str, Scalar] = {}
        for name, recorded in self._fields.get(key, {}).items():
            actual = record.get(name)
            if isinstance(recorded, str) and recorded.startswith("@") and not recorded.startswith("@@"):
                out[name] = recorded  # a record's ID: named, as recorded
            elif isinstance(actual, str) and actual.startswith("@"):
                out[name] = "@" + actual
            elif isinstance(actual, str) and actual.startswith("today"):
                continue  # would be read as a date; not worth a check
            elif isinstance(actual, str | int | float | bool | None):
                out[name] = actual
            # anything else (a list) is not a value a scenario file can write: not checked
        return out
