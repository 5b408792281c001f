"""Recording from the event stream: what happens on a stage, written down as scenario steps.

An :class:`EventRecording` listens to a stage's :class:`~emulator.engine.events.EventLog` and
turns each event that tells a user's action into the step a scenario file writes for it, handed
to a :class:`~emulator.scenarios.recorder.Recorder`. A step is recorded whatever caused it: a
click in the window, a scenario being run, a test driving the engine directly. An action the
engine refused emits no event, so it is not recorded (it changes nothing the end state shows).

What each event becomes (the device's steps carry ``device:``):

============================================  ==================================================
``screen`` (view; edit, new; list; cancel)    ``open``; ``edit`` or ``new ... as:``; ``leave``;
                                              ``cancel`` (a save's closing is its ``saved``)
``saved``                                     ``set:`` and ``children:`` with ``then: save`` or
                                              ``submit``; ``save``/``submit`` if nothing was set
``deleted``, ``dismissed``                    ``delete``, ``dismiss``
``error_action``, ``error_resolved`` (clear)  ``resolve ... how:``
``sync_started``, ``refresh`` (applying)      ``incremental_sync`` or ``full_refresh``,
                                              ``apply_update``
``network``, ``foreground``, ``mode``         ``network`` (with ``latency``, ``loss``), ``app``,
                                              ``sync_mode``
``setting``                                   ``poll_interval``, ``feed_page_size``, ``fault``
``xray``, ``device_added``, ``device_removed``  ``xray``; ``join``; a ``say:`` (not replayable)
``online_change``                             ``validation_rule``, ``sync_settings``,
                                              ``publish_content``, ``metadata_change``,
                                              ``refresh_dataset``, ``clear_sync_errors``,
                                              ``force_full_refresh``
============================================  ==================================================

The emulated time that passed since the last recorded step (a running clock, a jump) is written
first as an ``advance:`` step, so the replay fires the same timers at the same emulated moments;
the time a sync or an update took is not (the replay's sync takes it). Records are named by
:meth:`EventRecording.ref` (a lookup on the record's title field when that finds exactly one
record where it is first used, else on its ID) or bound when created during the recording
(:meth:`EventRecording.bind`, ``as:``). An online record edit or territory alignment names its
records by a lookup online (a request, which an event listener cannot make): the window hands
those steps to :meth:`EventRecording.record` itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from emulator.engine.device import Device
from emulator.engine.events import (
    DeletedData,
    DeviceData,
    ErrorResolvedData,
    Event,
    EventKind,
    ForegroundData,
    ModeData,
    NetworkData,
    OnlineChangeData,
    RefreshData,
    SavedData,
    ScreenData,
    SettingData,
    SyncStartedData,
    XrayData,
)
from emulator.engine.uploader import server_ids
from emulator.scenarios.loader import NAME
from emulator.scenarios.model import DeviceSpec, Lookup
from emulator.scenarios.recorder import Recorder
from emulator.stage import Stage

#: Field types whose value is another record's ID (written as ``"@name"``).
REF_TYPES = ("lookup", "master_detail")
#: Text the runner would read as a date (``today``, ``today+3``): not usable in a lookup.
TODAY_LIKE = re.compile(r"^today(?:[+-]\d+)?$")
#: A scenario step as a file writes it.
StepData = dict[str, Any]


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


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


class EventRecording:
    """Records ``stage`` into ``recorder`` from the stage's events, until :meth:`close`.

    ``on_step`` is called after each step recorded (the window redraws its step count).
    """

    def __init__(
        self, stage: Stage, recorder: Recorder, *, on_step: Callable[[], None] = lambda: None
    ) -> None:
        self.stage = stage
        self.recorder = recorder
        self.on_step = on_step
        self._time: datetime = stage.clock.now()  # the emulated time the recorded steps have reached
        self._names: dict[str, str] = {}  # record ID -> its name in the file
        self._id_map: dict[str, str] = {}  # temporary ID -> server ID (AS-14), from upload answers
        self._events_seen = len(stage.events.events)
        # iPads set up and on the stage: one still joining (its first sync) does nothing recorded
        self._joined: set[str] = set(stage.devices)
        self._unsubscribe: Callable[[], None] | None = stage.events.subscribe(self._on_event)

    @classmethod
    def start(
        cls, stage: Stage, *, on_step: Callable[[], None] = lambda: None, **kwargs: Any
    ) -> EventRecording:
        """Record ``stage`` from now on (its iPads, seed and time); ``kwargs`` go to the Recorder."""
        return cls(stage, Recorder.for_stage(stage, **kwargs), on_step=on_step)

    @property
    def active(self) -> bool:
        return self._unsubscribe is not None

    def close(self) -> None:
        """Stop listening (the time since the last step is written first)."""
        if self._unsubscribe is not None:
            self.catch_up()
            self._unsubscribe()
            self._unsubscribe = None

    # steps --------------------------------------------------------------------------------------
    def record(self, step: Mapping[str, Any]) -> None:
        """Append ``step`` (a scenario-file mapping), after the time that passed since the last."""
        if not self.active:
            return
        self.catch_up()
        self.recorder.record(step)
        self.on_step()

    def catch_up(self) -> None:
        """Write the emulated time that passed since the last step as an ``advance:`` step."""
        if not self.active:
            return
        now = self.stage.clock.now()
        if now > self._time:
            self.recorder.record({"advance": duration_text(now - self._time)})
            self._time = now
            self.on_step()

    def took_time(self) -> None:
        """The step recorded last took the emulated time up to now (a sync): its replay takes it too."""
        self._time = self.stage.clock.now()

    def _on_event(self, event: Event) -> None:
        if event.actor == "stage":
            self._stage_event(event)
            return
        if event.kind is EventKind.ONLINE_CHANGE:
            step = self._online_step(event.data_as(OnlineChangeData))
            if step is not None:
                self.record(step)
            return
        kind, _, device_id = event.actor.partition(":")
        device = self.stage.devices.get(device_id) if kind == "device" else None
        if device is None or device.actor != event.actor or device_id not in self._joined:
            return  # not an iPad on the stage now (one joining or gone, an online change, the server)
        step = self._device_step(device, event)
        if step is not None:
            self.record({"device": device.id, **step})
        if event.kind in (EventKind.SYNC_FINISHED, EventKind.SYNC_FAILED) or (
            event.kind is EventKind.REFRESH and event.data_as(RefreshData)["phase"] == "applied"
        ):
            self.took_time()

    def _stage_event(self, event: Event) -> None:
        """The X-ray switch; iPads joining or leaving the stage."""
        if event.kind is EventKind.XRAY:
            xray = event.data_as(XrayData)
            device_id, on = xray["device"], xray["on"]
            self.record({"xray": on} if device_id is None else {"device": device_id, "xray": on})
            return
        if event.kind not in (EventKind.DEVICE_ADDED, EventKind.DEVICE_REMOVED):
            return
        recorder = self.recorder
        device_id = event.data_as(DeviceData)["device"]
        if event.kind is EventKind.DEVICE_ADDED:
            self._joined.add(device_id)
        else:
            self._joined.discard(device_id)
        known = {d.id for d in recorder.devices}
        device = self.stage.devices.get(device_id)
        self.catch_up()
        if event.kind is EventKind.DEVICE_ADDED and device is not None and device_id not in known:
            profile = device.profile
            recorder.add_device(
                DeviceSpec(device_id, profile.name, profile.user_id, profile.model, profile.ios_version)
            )
        elif event.kind is EventKind.DEVICE_ADDED:
            recorder.record({"say": f"{device_id} was set up again here (a scenario cannot do that)."})
        elif device_id in known:
            recorder.record({"say": f"{device_id} left the stage here (a scenario cannot remove an iPad)."})
        self.on_step()

    def _device_step(self, device: Device, event: Event) -> StepData | None:
        """The step an iPad's event tells (None: the event is not a user's action)."""
        match event.kind:
            case EventKind.SCREEN:
                return self._screen_step(device, event)
            case EventKind.SAVED:
                return self._save_step(device, event)
            case EventKind.DELETED if event.record is not None:
                object_name, record_id = event.record
                return {
                    "delete": self.device_ref(
                        device, object_name, record_id, before=event.data_as(DeletedData)["values"]
                    )
                }
            case EventKind.DISMISSED:
                return {"dismiss": True}
            case EventKind.ERROR_ACTION | EventKind.ERROR_RESOLVED if "records" in event.data:
                return self._resolve_step(device, event)
            case EventKind.SYNC_STARTED:
                return (
                    {"full_refresh": True}
                    if event.data_as(SyncStartedData)["full"]
                    else {"incremental_sync": True}
                )
            case EventKind.REFRESH if event.data_as(RefreshData)["phase"] == "applying":
                return {"apply_update": True}
            case EventKind.NETWORK:
                return self._network_step(event.data_as(NetworkData))
            case EventKind.FOREGROUND:
                return {"app": "foreground" if event.data_as(ForegroundData)["foreground"] else "background"}
            case EventKind.MODE:
                return {"sync_mode": "traditional" if event.data_as(ModeData)["traditional"] else "autosync"}
            case EventKind.SETTING:
                return self._setting_step(event.data_as(SettingData))
            case _:
                return None

    def _screen_step(self, device: Device, event: Event) -> StepData | None:
        screen = event.data_as(ScreenData)
        mode, closed = screen["mode"], screen.get("closed")
        if mode == "list":
            return {"leave": True}
        if event.record is None:
            return None
        object_name, record_id = event.record
        if mode == "edit" and screen.get("new"):
            name = self.bind(object_name, record_id, f"new_{device.schema.label(object_name)}")
            return {"new": object_name, "as": name}
        if mode == "edit":
            return {"edit": self.device_ref(device, object_name, record_id)}
        if closed == "cancel":
            return {"cancel": True}
        if closed is None:
            return {"open": self.device_ref(device, object_name, record_id)}
        return None  # closed by a save: its ``saved`` event tells the step

    def _save_step(self, device: Device, event: Event) -> StepData | None:
        """``set:`` the fields set, ``children:``, ``then: save``; ``save: true`` if nothing was set."""
        if event.record is None:
            return None
        data = event.data_as(SavedData)
        how = "submit" if data["submitted"] else "save"
        schema = device.schema
        children: list[StepData] = []
        for child in data["children"]:
            object_name, child_id = child["object"], child["id"]
            if child["op"] == "add":
                master = schema.master_field(object_name)
                values = {
                    k: v
                    for k, v in child.get("fields", {}).items()
                    if v is not None and (master is None or k != master[0])
                }
                name = self.bind(object_name, child_id, f"new_{schema.label(object_name)}")
                added: StepData = {"add": object_name}
                if values:
                    added["set"] = self.values(device, object_name, values)
                added["as"] = name
                children.append(added)
            elif child["op"] == "remove":
                children.append(
                    {"remove": self.device_ref(device, object_name, child_id, before=child.get("before"))}
                )
            else:
                ref = self.device_ref(device, object_name, child_id, before=child.get("before"))
                children.append(
                    {"edit": ref, "set": self.values(device, object_name, child.get("fields", {}))}
                )
        fields: dict[str, Any] = dict(data["fields"])
        if not fields and not children:
            return {how: True}
        order = list(schema.fields(event.record[0]))  # as the edit screen lists them
        fields = dict(
            sorted(fields.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
        )
        step: StepData = {"set": self.values(device, event.record[0], fields)}
        if children:
            step["children"] = children
        step["then"] = how
        return step

    def _resolve_step(self, device: Device, event: Event) -> StepData | None:
        """``resolve:`` the error's record (the root, else the first still on the device), ``how:``."""
        if event.record is None:
            return None
        resolved = event.data_as(ErrorResolvedData)  # error_action's data have the same keys
        ids = resolved.get("records", [])
        here = [rid for rid in ids if device.record(rid) is not None]
        record_id = here[0] if here else event.record[1]
        found = device.store.get(record_id)
        object_name = found[0] if found is not None else event.record[0]
        return {"resolve": self.device_ref(device, object_name, record_id), "how": resolved["how"]}

    @staticmethod
    def _network_step(data: NetworkData) -> StepData | None:
        """``network:``, with ``latency:`` and ``loss:`` when set; None if nothing changed."""
        before = data["before"]
        mode, latency, loss = data["mode"], _seconds(data["latency"]), data["loss"]
        was_latency, was_loss = _seconds(before["latency"]), before["loss"]
        if (mode, latency, loss) == (before["mode"], was_latency, was_loss):
            return None
        step: StepData = {"network": mode}
        if latency != was_latency or latency > timedelta(0):
            step["latency"] = duration_text(latency)
        if loss or was_loss:
            step["loss"] = loss
        return step

    @staticmethod
    def _online_step(data: OnlineChangeData) -> StepData | None:
        """The step of an online change; None for a call whose step names records online.

        An online record edit or a territory alignment names its records by a lookup among the
        records online (a request): whoever makes the call hands that step to :meth:`record`.
        """
        body = dict(data["body"]) if isinstance(data["body"], dict) else {}
        match data["method"], data["path"].strip("/").split("/"):
            case "PUT", ["validation-rules", name]:
                return {"validation_rule": name, "enabled": bool(body.get("enabled"))}
            case "POST", ["users", user, "commands"]:
                kind = body.get("kind")
                return {"clear_sync_errors" if kind == "clear_sync_errors" else "force_full_refresh": user}
            case "PATCH", ["users", user, "settings"]:
                return {"sync_settings": {"user": user, **body}}
            case "POST", ["datasets", name, "refresh"]:
                return {"refresh_dataset": name}
            case "POST", ["content"]:
                return {"publish_content": {k: v for k, v in body.items() if v}}
            case "POST", ["metadata"]:
                return {"metadata_change": {k: v for k, v in body.items() if v}}
            case _:
                return None

    @staticmethod
    def _setting_step(data: SettingData) -> StepData | None:
        match data["setting"]:
            case "poll_interval":
                return {"poll_interval": duration_text(_seconds(data.get("seconds", 0.0)))}
            case "feed_page_size":
                return {"feed_page_size": int(data.get("value", 0))}
            case "fault":
                return {"fault": str(data.get("value", ""))}

    # naming records -----------------------------------------------------------------------------
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
        events = self.stage.events.events
        self._id_map.update(server_ids(events[self._events_seen :]))
        self._events_seen = len(events)

    def device_ref(
        self,
        device: Device,
        object_name: str,
        record_id: str,
        *,
        before: Mapping[str, Any] | None = None,
    ) -> str:
        """The name of a record on ``device`` (looked up there when it is first named).

        ``before``: the record as it was before the event (a record deleted or changed since):
        the name is looked up among the records as they were, as the replay will find them.
        """
        title = device.schema.object(object_name).get("title")
        rows = device.records(object_name)
        if before is not None:
            rows = [r for r in rows if r.get("id") != record_id] + [dict(before)]
        return self.ref(object_name, record_id, rows, str(title) if title else None)

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
