"""The GUI side of recording: what the user clicks on the stage, handed to a :class:`Recorder`.

A :class:`Recording` belongs to the window, not to a stage: every :class:`~emulator.ui.support.Context`
holds the same one (``make_context(..., recording=...)`` or ``dataclasses.replace`` hands it on),
so the Record toggle and its indicator follow it when the window shows another stage. It
records only the stage it was started on: each widget passes its own stage, and steps from any
other stage (a scenario being shown) are ignored. ``stop()`` or ``discard()`` end it.

Widgets call ``record(step, stage=...)`` after the engine accepted an action (a refused action
is not recorded: it changes nothing the end state shows), with the step exactly as a scenario
file writes it. The emulated time that passed since the last recorded step (the running clock,
a jump) is written first as an ``advance:`` step, so the replay fires the same timers at the
same emulated moments. Records are named by :meth:`Recording.ref` (a lookup on the record's
title field when that finds exactly one record where it is first used, else on its ID) or
bound when created during the recording (:meth:`Recording.bind`, ``as:``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QObject, Signal

from emulator.engine.device import Device
from emulator.engine.events import Event
from emulator.engine.uploader import server_ids
from emulator.scenarios.loader import NAME
from emulator.scenarios.model import DeviceSpec, Lookup, Scenario
from emulator.scenarios.recorder import Recorder
from emulator.stage import Stage

#: Field types whose value is another record's ID (written as ``"@name"``).
REF_TYPES = ("lookup", "master_detail")
#: Text the runner would read as a date (``today``, ``today+3``): not usable in a lookup.
TODAY_LIKE = re.compile(r"^today(?:[+-]\d+)?$")


def duration_text(delta: timedelta) -> str:
    """A duration as scenario files write it, exact to the microsecond: ``30s``, ``1m 17.654321s``."""
    micros = delta // timedelta(microseconds=1)
    seconds, fraction = divmod(micros, 1_000_000)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    if seconds or fraction or not parts:
        text = str(seconds)
        if fraction:
            text += f".{fraction:06d}".rstrip("0")
        parts.append(f"{text}s")
    return " ".join(parts)


def _slug(text: str) -> str:
    slug = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    slug = re.sub(r"_+", "_", slug)[:30] or "record"
    return slug if slug[0].isalpha() else f"r_{slug}"


class Recording(QObject):
    """An optional active :class:`Recorder` and the stage it records.

    Signals:
        changed(): a recording started, stopped, or got a step.

    Attributes:
        recorder: the recorder while recording (None otherwise).
        stage: the stage recorded (None when not recording).
        last: the recorder of the recording stopped last (finished after :meth:`finish`).
    """

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.recorder: Recorder | None = None
        self.stage: Stage | None = None
        self.last: Recorder | None = None
        self._time: datetime | None = None  # the emulated time the recorded steps have reached
        self._names: dict[str, str] = {}  # record ID -> its name in the file
        self._id_map: dict[str, str] = {}  # temporary ID -> server ID (AS-14), from upload answers
        self._events_seen = 0
        self._unsubscribe: Callable[[], None] | None = None

    # starting and stopping -------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.recorder is not None

    def wants(self, stage: Stage) -> bool:
        """True while recording ``stage`` (call sites skip building steps otherwise)."""
        return self.recorder is not None and self.stage is stage

    @property
    def step_count(self) -> int:
        return len(self.recorder.steps) if self.recorder is not None else 0

    def start(self, stage: Stage, **kwargs: Any) -> Recorder:
        """Record ``stage`` from now on (its iPads and seed); ``kwargs`` go to the Recorder."""
        self.discard()
        self.recorder = Recorder.for_stage(stage, **kwargs)
        self.stage = stage
        self._time = stage.clock.now()
        self._names = {}
        self._id_map = {}
        self._events_seen = len(stage.events.events)
        self._unsubscribe = stage.events.subscribe(self._on_event)
        self.changed.emit()
        return self.recorder

    def stop(self) -> tuple[Recorder, Stage] | None:
        """Stop recording; the recorder (not finished) and its stage, or None if not recording."""
        recorder, stage = self.recorder, self.stage
        if recorder is None or stage is None:
            return None
        self.catch_up(stage)
        self._detach()
        self.last = recorder
        self.changed.emit()
        return recorder, stage

    async def finish(self) -> Scenario | None:
        """Stop and write the end-state checks (``await recorder.finish(stage)``); None if idle.

        Raises ScenarioFileError if the recording does not make a loadable scenario; the
        recorder stays in ``last`` so that its YAML can still be saved and read.
        """
        stopped = self.stop()
        if stopped is None:
            return None
        recorder, stage = stopped
        return await recorder.finish(stage)

    def discard(self) -> None:
        """Drop the recording under way, if any."""
        if self.recorder is not None:
            self._detach()
            self.changed.emit()

    def _detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.recorder = None
        self.stage = None
        self._time = None

    # steps --------------------------------------------------------------------------------------------
    def record(self, step: Mapping[str, Any], *, stage: Stage | None = None) -> None:
        """Append ``step`` (a scenario-file mapping); a no-op unless recording ``stage``."""
        if self.recorder is None or (stage is not None and stage is not self.stage):
            return
        self.catch_up()
        self.recorder.record(step)
        self.changed.emit()

    def catch_up(self, stage: Stage | None = None) -> None:
        """Write the emulated time that passed since the last step as an ``advance:`` step."""
        if self.recorder is None or self.stage is None or self._time is None:
            return
        if stage is not None and stage is not self.stage:
            return
        now = self.stage.clock.now()
        if now > self._time:
            self.recorder.record({"advance": duration_text(now - self._time)})
            self._time = now
            self.changed.emit()

    def took_time(self, stage: Stage) -> None:
        """The step recorded last took the emulated time up to now (a sync): its replay takes it too."""
        if self.recorder is not None and stage is self.stage:
            self._time = stage.clock.now()

    def _on_event(self, event: Event) -> None:
        """iPads joining or leaving the stage recorded."""
        recorder, stage = self.recorder, self.stage
        if recorder is None or stage is None or event.kind not in ("device_added", "device_removed"):
            return
        device_id = str(event.data.get("device", ""))
        known = {d.id for d in recorder.devices}
        device = stage.devices.get(device_id)
        self.catch_up()
        if event.kind == "device_added" and device is not None and device_id not in known:
            profile = device.profile
            recorder.add_device(
                DeviceSpec(device_id, profile.name, profile.user_id, profile.model, profile.ios_version)
            )
        elif event.kind == "device_added":
            recorder.record({"say": f"{device_id} was set up again here (a scenario cannot do that)."})
        elif device_id in known:
            recorder.record({"say": f"{device_id} left the stage here (a scenario cannot remove an iPad)."})
        self.changed.emit()

    # naming records ------------------------------------------------------------------------------------
    def ref(
        self,
        object_name: str,
        record_id: str,
        rows: Iterable[Mapping[str, Any]],
        title_field: str | None,
    ) -> str:
        """The name of a record in the file, named now if it has no name yet.

        ``rows`` are the records of ``object_name`` where the name is first used (a device or
        online): the lookup is on ``title_field`` when that value finds only this record there,
        else on the ID. A record created during the recording keeps the name it was bound to,
        also under the server ID it got when it was uploaded (AS-14).
        """
        assert self.recorder is not None, "not recording"
        known = self._known(record_id)
        if known is not None:
            return known
        records = list(rows)
        where: dict[str, Any] = {"id": record_id}
        mine = next((r for r in records if r.get("id") == record_id), None)
        title = None if mine is None or not title_field else mine.get(title_field)
        if (
            title_field
            and title not in (None, "")
            and not (isinstance(title, str) and (title.startswith("@") or TODAY_LIKE.match(title)))
            and not isinstance(title, dict | list)
            and sum(1 for r in records if r.get(title_field) == title) == 1
            and Lookup(object_name, {title_field: title}) not in self.recorder.records.values()
        ):
            where = {title_field: title}
        name = self.recorder.name(object_name, where, record_id)
        self._names[record_id] = name
        return name

    def bind(self, object_name: str, record_id: str, hint: str) -> str:
        """A new name for a record created during the recording (its step says ``as: name``)."""
        assert self.recorder is not None, "not recording"
        known = self._names.get(record_id)
        if known is not None:
            return known
        base = _slug(hint)
        taken = set(self.recorder.records) | set(self._names.values())
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        assert NAME.match(name)
        self.recorder.bind(name, object_name, record_id)
        self._names[record_id] = name
        return name

    def _known(self, record_id: str) -> str | None:
        if record_id in self._names:
            return self._names[record_id]
        self._follow_ids()
        for temp, server in self._id_map.items():
            if server == record_id and temp in self._names:
                self._names[record_id] = self._names[temp]
                return self._names[temp]
        return None

    def _follow_ids(self) -> None:
        if self.stage is None:
            return
        events = self.stage.events.events
        self._id_map.update(server_ids(events[self._events_seen :]))
        self._events_seen = len(events)

    # values ------------------------------------------------------------------------------------------
    def device_ref(self, device: Device, object_name: str, record_id: str) -> str:
        """The name of a record on ``device`` (looked up there when it is first named)."""
        title = device.schema.object(object_name).get("title")
        return self.ref(object_name, record_id, device.records(object_name), str(title) if title else None)

    def values(self, device: Device, object_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Field values as a file writes them: record IDs as ``"@name"``, a leading ``@`` doubled."""
        fields = device.schema.fields(object_name)
        out: dict[str, Any] = {}
        for name, value in values.items():
            field = fields.get(name, {})
            if isinstance(value, str) and field.get("type") in REF_TYPES and field.get("object"):
                target = str(field["object"])
                if device.record(value) is not None or self._known(value) is not None:
                    out[name] = "@" + self.device_ref(device, target, value)
                    continue
            out[name] = "@" + value if isinstance(value, str) and value.startswith("@") else value
        return out
