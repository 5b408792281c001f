"""A scenario file as typed values: devices, named records, steps and their ``expect`` checks.

The loader builds these from YAML (checking everything it can before a run); the runner plays
them on a fresh stage; the recorder writes them back out. Every step and check keeps the line it
came from, so a problem found while running can still name ``FILE:LINE``.

A record is named symbolically, never by a server ID (IDs differ between runs of the emulator
and between a device's temporary ID and the server's):

* ``harper``: a name from the scenario's ``records:`` section (a lookup, pinned to the record it
  first finds) or bound by ``as: harper`` on the step that created the record;
* ``{object: account__v, where: {last_name__v: Harper}}``: an inline lookup, resolved on the
  step's device (or online) each time it is used.

Inside field values, ``"@harper"`` stands for that record's ID (``"@@"`` starts a literal ``@``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

#: Every rule of the catalogue (docs/rules.md): AS-01 .. AS-37.
RULE_IDS: tuple[str, ...] = tuple(f"AS-{n:02d}" for n in range(1, 38))

#: Actions that happen on one device (the step needs ``device:`` unless there is one device).
DeviceActionKind = Literal[
    "open",
    "edit",
    "new",
    "set",
    "save",
    "submit",
    "cancel",
    "leave",
    "delete",
    "network",
    "app",
    "sync_mode",
    "poll",
    "incremental_sync",
    "fault",
    "feed_page_size",
    "poll_interval",
    "resolve",
    "full_refresh",
    "apply_update",
    "dismiss",
    "restart",
    "join",
]
#: Actions on the stage or the online side.
StageActionKind = Literal[
    "advance",
    "online_edit",
    "online_create",
    "territory_alignment",
    "metadata_change",
    "publish_content",
    "refresh_dataset",
    "validation_rule",
    "sync_settings",
    "clear_sync_errors",
    "force_full_refresh",
    "xray",
]
ActionKind = Literal[DeviceActionKind, StageActionKind]
CheckKind = Literal[
    "record",
    "queue",
    "sync_errors",
    "waiting",
    "feed",
    "refused",
    "event",
    "loss",
    "notice",
    "device",
    "dataset",
    "sync_widget",
    "refresh",
]
Then = Literal["save", "submit", "cancel"]

DEVICE_ACTIONS: frozenset[str] = frozenset(get_args(DeviceActionKind))
#: Optional keys each action takes besides its own (``device``, ``say``, ``expect`` always allowed).
ACTION_OPTIONS: dict[str, frozenset[str]] = {
    "open": frozenset(),
    "edit": frozenset({"set", "children", "then"}),
    "new": frozenset({"set", "children", "then", "as"}),
    "set": frozenset({"children", "then"}),
    "save": frozenset(),
    "submit": frozenset(),
    "cancel": frozenset(),
    "leave": frozenset(),
    "delete": frozenset(),
    "network": frozenset({"latency", "loss"}),
    "app": frozenset(),
    "sync_mode": frozenset(),
    "poll": frozenset(),
    "incremental_sync": frozenset(),
    "fault": frozenset(),
    "feed_page_size": frozenset(),
    "poll_interval": frozenset(),
    "resolve": frozenset({"how"}),
    "full_refresh": frozenset(),
    "apply_update": frozenset(),
    "dismiss": frozenset(),
    "restart": frozenset(),
    "join": frozenset(),
    "advance": frozenset(),
    "online_edit": frozenset({"set", "actor"}),
    "online_create": frozenset({"set", "actor", "owner", "as"}),
    "territory_alignment": frozenset(),
    "metadata_change": frozenset(),
    "publish_content": frozenset(),
    "refresh_dataset": frozenset(),
    "validation_rule": frozenset({"enabled"}),
    "sync_settings": frozenset(),
    "clear_sync_errors": frozenset(),
    "force_full_refresh": frozenset(),
    "xray": frozenset(),
}
#: Actions without a value (``save:`` or ``save: true``).
FLAG_ACTIONS: frozenset[str] = frozenset(
    {
        "save",
        "submit",
        "cancel",
        "leave",
        "poll",
        "incremental_sync",
        "full_refresh",
        "apply_update",
        "dismiss",
        "restart",
        "join",
    }
)
#: Stage actions that may still name one iPad (``device:`` optional).
DEVICE_OPTIONAL: frozenset[str] = frozenset({"xray"})
#: How a sync error can be dealt with on the Errors tab (AS-34).
ERROR_ACTIONS = ("undo", "undelete", "clear")
#: The keys each kind of check takes besides its own.
CHECK_OPTIONS: dict[str, frozenset[str]] = {
    "record": frozenset({"at", "fields", "state", "exists"}),
    "queue": frozenset({"count", "records", "labels", "sizes", "head_state", "sends"}),
    "sync_errors": frozenset({"count", "kind", "message", "record", "actions", "requested"}),
    "waiting": frozenset({"count", "record", "reason"}),
    "feed": frozenset({"count", "record", "not_record"}),
    "refused": frozenset(),
    "event": frozenset({"at", "text", "record", "count", "since"}),
    "loss": frozenset({"at_risk", "queued"}),
    "notice": frozenset({"text", "count", "kind", "unread"}),
    "device": frozenset(
        {
            "traditional",
            "eligible",
            "autosync_active",
            "network",
            "foreground",
            "screen",
            "metadata_version",
            "blocked",
            "xray",
        }
    ),
    "dataset": frozenset({"at", "item", "version"}),
    "sync_widget": frozenset({"state", "pending", "colour", "errors", "remind", "days_since"}),
    "refresh": frozenset({"state", "colour"}),
}
WIDGET_STATES = ("up_to_date", "syncing", "pending", "errors")
WIDGET_COLOURS = ("green", "orange", "red")
REFRESH_STATES = ("off", "idle", "downloading", "paused", "ready", "applying")
REFRESH_COLOURS = ("blue", "orange", "red")
#: Matchers a field value in ``fields:`` may use instead of a literal value.
MATCHERS = frozenset({"not", "contains", "starts_with", "present", "at_least"})
NETWORK_MODES = ("online", "offline", "lie-fi")
FAULTS = ("reply_lost", "server_error", "timeout")


@dataclass(frozen=True)
class Lookup:
    """A record found by its values: the one record of ``object`` whose fields match ``where``."""

    object: str
    where: Mapping[str, Any]

    def describe(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.where.items())
        return f"{self.object} with {values}"


#: A ref name (``records:`` or ``as:``) or an inline lookup.
RecordRef = str | Lookup


def describe_ref(ref: RecordRef) -> str:
    return ref if isinstance(ref, str) else f"the {ref.describe()}"


@dataclass(frozen=True)
class DeviceSpec:
    """A virtual iPad on the scenario's stage."""

    id: str
    name: str
    user: str
    model: str = "iPad Pro 11-inch"
    ios: str = "17.5"
    later: bool = False  # joins only at a ``join:`` step
    line: int = 0


@dataclass(frozen=True)
class ChildChange:
    """One related record changed on an edit screen (AS-02, AS-05)."""

    op: Literal["add", "edit", "remove"]
    object: str | None = None  # add: the child object
    record: RecordRef | None = None  # edit / remove
    fields: Mapping[str, Any] = field(default_factory=dict)
    bind: str | None = None  # add: ``as`` name
    line: int = 0


@dataclass(frozen=True)
class Check:
    """One ``expect`` check.

    ``subject`` is the value of the check's own key: a record ref (record), a device ID (queue,
    sync_errors, waiting, loss, notice, device), a user ID (feed), an event kind (event), a data
    set name (dataset), or the reason the step was refused (refused; True for any reason).
    """

    kind: CheckKind
    subject: Any
    options: Mapping[str, Any]
    line: int = 0

    def describe(self) -> str:
        return describe_check(self)


@dataclass(frozen=True)
class Step:
    """One thing a person does (or nothing, for a step that only narrates or checks)."""

    action: ActionKind | None
    line: int = 0
    device: str | None = None
    value: Any = None  # the action's own value: a ref, object, mode, duration, payload ...
    fields: Mapping[str, Any] = field(default_factory=dict)  # ``set:``
    children: tuple[ChildChange, ...] = ()
    then: Then | None = None
    bind: str | None = None  # ``as:``
    options: Mapping[str, Any] = field(default_factory=dict)  # latency, loss, how, actor, owner ...
    say: str | None = None
    expect: tuple[Check, ...] = ()
    setup: bool = False  # a starting step (from ``setup:``)

    def describe(self) -> str:
        return describe_step(self)


@dataclass(frozen=True)
class Scenario:
    """A whole scenario file."""

    title: str
    rules: tuple[str, ...]
    devices: tuple[DeviceSpec, ...]
    steps: tuple[Step, ...]
    description: str = ""
    seed: int = 0
    start: datetime | None = None  # the emulated time the stage starts at (None: the default)
    records: Mapping[str, Lookup] = field(default_factory=dict)
    path: Path | None = None
    source: str = "<scenario>"  # what messages call the file

    def where(self, line: int) -> str:
        return f"{self.source}:{line}"

    def device(self, device_id: str) -> DeviceSpec:
        return next(d for d in self.devices if d.id == device_id)


# durations -------------------------------------------------------------------------------------
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|d|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """``30s``, ``5m``, ``2h``, ``7d``, ``7d 1s``, ``1m30s``, ``500ms`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return timedelta(seconds=value)
    text = str(value).strip().lower()
    pos, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if text[pos : match.start()].strip():
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f"{value!r} is not a duration (write it like 30s, 5m, 2h, 7d or 1m30s)")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    total = delta.total_seconds()
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if total >= size:
            n = int(total // size)
            parts.append(f"{n}{unit}")
            total -= n * size
    if total or not parts:
        parts.append(f"{total:g}s")
    return " ".join(parts)


# plain descriptions -------------------------------------------------------------------------------
def setting_text(value: Any) -> str:
    """A setting's value as a person reads it: ``on`` / ``off`` for a switch."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _values(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {v!r}" for k, v in values.items())


def describe_step(step: Step) -> str:
    """What the step does, in a short line (the ``say:`` text is told separately)."""
    a, v = step.action, step.value
    if a is None:
        return "check" if step.expect else "narration"
    texts: dict[str, Callable[[], str]] = {
        "open": lambda: f"open {describe_ref(v)} on the view screen",
        "edit": lambda: f"edit {describe_ref(v)}",
        "new": lambda: f"new {v}" + (f" (as {step.bind})" if step.bind else ""),
        "set": lambda: "set",
        "save": lambda: "tap Save",
        "submit": lambda: "tap Submit",
        "cancel": lambda: "tap Cancel",
        "leave": lambda: "leave the screen",
        "delete": lambda: f"delete {describe_ref(v)}",
        "network": lambda: (
            f"network {v}"
            + "".join(f", {k} {step.options[k]}" for k in ("latency", "loss") if k in step.options)
        ),
        "app": lambda: f"app to the {v}",
        "sync_mode": lambda: f"switch to {v} sync",
        "poll": lambda: "poll the feed now",
        "incremental_sync": lambda: "run an incremental sync",
        "fault": lambda: f"the next request fails: {v}",
        "feed_page_size": lambda: f"feed pages of {v} records",
        "poll_interval": lambda: f"poll every {format_duration(v)}",
        "resolve": lambda: f"Errors tab: {step.options.get('how')} the sync error on {describe_ref(v)}",
        "full_refresh": lambda: "Options ▸ Database ▸ Full Database Refresh",
        "apply_update": lambda: "tap Apply Update",
        "dismiss": lambda: "tap OK on the app's message",
        "restart": lambda: "restart the app",
        "join": lambda: "joins the stage",
        "advance": lambda: f"advance the clock {format_duration(v)}",
        "online_edit": lambda: f"online: edit {describe_ref(v)}",
        "online_create": lambda: f"online: create {v}" + (f" (as {step.bind})" if step.bind else ""),
        "territory_alignment": lambda: "online: territory alignment",
        "metadata_change": lambda: f"online: metadata change ({v.get('kind')})",
        "publish_content": lambda: f"online: publish {v.get('kind')} content {v.get('name')!r}",
        "refresh_dataset": lambda: f"online: new load of {v}",
        "validation_rule": lambda: (
            f"online: validation rule {v} " + ("on" if step.options.get("enabled", True) else "off")
        ),
        "sync_settings": lambda: (
            f"online: sync settings for {v.get('user')}: "
            + ", ".join(f"{k} {setting_text(val)}" for k, val in v.items() if k != "user")
        ),
        "clear_sync_errors": lambda: f"online: clear {v}'s client sync errors",
        "force_full_refresh": lambda: f"online: force a full refresh on {v}'s iPads",
        "xray": lambda: f"X-ray view {'on' if v else 'off'}",
    }
    text = texts[a]()
    if step.fields:
        text += f"; set {_values(step.fields)}"
    for child in step.children:
        if child.op == "add":
            text += f"; add {child.object} ({_values(child.fields)})"
        elif child.op == "edit" and child.record is not None:
            text += f"; change {describe_ref(child.record)} ({_values(child.fields)})"
        elif child.record is not None:
            text += f"; remove {describe_ref(child.record)}"
    if step.then:
        text += f"; then {step.then}"
    return f"[{step.device}] {text}" if step.device else text


def describe_check(check: Check) -> str:
    o, s = check.options, check.subject
    parts: list[str] = []
    if check.kind == "record":
        at = o.get("at")
        parts.append(f"{describe_ref(s)} {'online' if at == 'online' else f'on {at}'}")
        if o.get("exists") is not None:
            parts.append("exists" if o["exists"] else "does not exist")
        if "state" in o:
            parts.append(f"sync state {o['state']}")
        if o.get("fields"):
            parts.append(_values(o["fields"]))
        return ": ".join([parts[0], ", ".join(parts[1:])]) if len(parts) > 1 else parts[0]
    names = {
        "queue": f"queue on {s}",
        "sync_errors": f"sync errors on {s}",
        "waiting": f"updates waiting to merge on {s}",
        "feed": f"{s}'s feed",
        "loss": f"what losing {s} would lose",
        "notice": f"notices on {s}",
        "device": f"{s}",
        "dataset": f"data set {s} on {o.get('at')}",
        "sync_widget": f"the Sync widget on {s}",
        "refresh": f"Refresh mode on {s}",
    }
    if check.kind == "refused":
        return "the action is refused" + (f" ({s!r})" if isinstance(s, str) else "")
    if check.kind == "event":
        where = f" on {o['at']}" if "at" in o else ""
        scope = " since the start" if o.get("since") == "start" else ""
        detail = ", ".join(f"{k} {o[k]!r}" for k in ("text", "record", "count") if k in o)
        return f"event {s}{where}{scope}" + (f": {detail}" if detail else "")
    detail = ", ".join(f"{k} {v!r}" for k, v in o.items() if k != "at")
    return names[check.kind] + (f": {detail}" if detail else "")
