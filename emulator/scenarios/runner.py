"""Playing a scenario on a fresh stage, one step at a time, checking its ``expect`` lines.

A :class:`ScenarioRunner` owns a new :class:`~emulator.stage.Stage` (seeded, embedded server,
a temporary data directory). ``await runner.step()`` plays the next step: the action, then
``stage.settle()`` (time moves only on an ``advance:`` step), then the step's checks. A GUI can
call it from a play/pause/step control; :func:`run_scenario` plays a whole file headless.

Same scenario + same seed = the same event stream, event for event.

A step whose action fails unexpectedly (a refused action nobody expected, a record that cannot
be found) stops the run: what follows would not mean anything. A failed check does not stop it.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from emulator.engine.clock import DEFAULT_START
from emulator.engine.device import ActionRefused, Device, EditSession
from emulator.engine.events import Event
from emulator.engine.merge import entry_ids
from emulator.engine.uploader import server_ids
from emulator.scenarios.loader import load_scenario
from emulator.scenarios.model import (
    DEVICE_OPTIONAL,
    Check,
    ChildChange,
    Lookup,
    RecordRef,
    Scenario,
    Step,
    describe_ref,
    setting_text,
)
from emulator.stage import Stage

ONLINE = "online"
TODAY = re.compile(r"^today(?:([+-])(\d+))?$")


class ScenarioRunError(Exception):
    """A step could not be played (not a failed check): ``str(exc)`` says why."""


@dataclass(frozen=True)
class CheckResult:
    check: Check
    passed: bool
    seen: str = ""  # on failure: what was there instead

    @property
    def description(self) -> str:
        return self.check.describe()

    @property
    def message(self) -> str:
        return self.description if self.passed else f"{self.description}; but {self.seen}"


@dataclass(frozen=True)
class StepResult:
    number: int  # 1-based, setup steps included
    step: Step
    ok: bool  # False: the action failed and the run stopped
    message: str  # what happened, when there is more to say than the step itself
    refused: str | None
    checks: tuple[CheckResult, ...]
    events: tuple[Event, ...]
    time: datetime

    @property
    def passed(self) -> bool:
        return self.ok and all(c.passed for c in self.checks)


@dataclass
class ScenarioResult:
    scenario: Scenario
    seed: int
    steps: list[StepResult] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    error: str | None = None  # why the run stopped early
    seconds: float = 0.0  # wall time, for reports only

    @property
    def passed(self) -> bool:
        return self.error is None and all(s.passed for s in self.steps)

    @property
    def checks(self) -> list[CheckResult]:
        return [c for s in self.steps for c in s.checks]

    def failures(self) -> list[str]:
        """Each failed check or stopped step as ``FILE:LINE: message``."""
        out = []
        for step in self.steps:
            if not step.ok:
                out.append(f"{self.scenario.where(step.step.line)}: step {step.number}: {step.message}")
            out += [f"{self.scenario.where(c.check.line)}: {c.message}" for c in step.checks if not c.passed]
        if self.error is not None and not any(not s.ok for s in self.steps):
            out.append(f"{self.scenario.source}: {self.error}")
        return out

    def event_stream(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.events]


class ScenarioRunner:
    """Plays one scenario: ``await start()``, then ``await step()`` until it returns None."""

    def __init__(self, scenario: Scenario, *, seed: int | None = None, data_dir: Path | None = None) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.stage = Stage(seed=self.seed, data_dir=data_dir, start=scenario.start or DEFAULT_START)
        self.result = ScenarioResult(scenario, self.seed)
        self.position = 0  # index of the next step
        self.refs: dict[str, tuple[str, str]] = {}  # name -> (object, record ID), bound or pinned
        self.stage.events.subscribe(self._follow_ids)
        self._started = False
        self._closed = False
        self._wall = 0.0

    @property
    def finished(self) -> bool:
        return self.position >= len(self.scenario.steps) or self.result.error is not None

    @property
    def next_step(self) -> Step | None:
        return None if self.finished else self.scenario.steps[self.position]

    async def start(self) -> None:
        began = time.perf_counter()
        await self.stage.start()
        self._started = True
        for spec in self.scenario.devices:
            if not spec.later:
                await self._add(spec.id)
        await self.stage.settle()
        self._wall += time.perf_counter() - began

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.result.events = list(self.stage.events.events)
        self.result.seconds = self._wall
        await self.stage.close()

    async def run(self, on_step: Callable[[StepResult], None] | None = None) -> ScenarioResult:
        """Play every remaining step, then close the stage; returns the result."""
        try:
            if not self._started:
                await self.start()
            while (result := await self.step()) is not None:
                if on_step is not None:
                    on_step(result)
        finally:
            await self.close()
        return self.result

    async def step(self) -> StepResult | None:
        """Play the next step and check its expectations; None when the scenario is over."""
        if self.finished:
            return None
        began = time.perf_counter()
        step = self.scenario.steps[self.position]
        self.position += 1
        first_event = len(self.stage.events.events)
        ok, message, refused = True, "", None
        try:
            message = await self._act(step)
        except ActionRefused as exc:
            refused = str(exc)
        except (ScenarioRunError, ValueError, KeyError) as exc:
            ok, message = False, str(exc).strip("'\"")
        await self.stage.settle()
        expects_refusal = any(c.kind == "refused" for c in step.expect)
        if refused is not None:
            message = f"refused: {refused}"
            if not expects_refusal:
                ok = False
        checks: tuple[CheckResult, ...] = ()
        if ok:
            events = self.stage.events.events[first_event:]
            checks = tuple([await self._check(step, c, refused, events) for c in step.expect])
        result = StepResult(
            number=self.position,
            step=step,
            ok=ok,
            message=message,
            refused=refused,
            checks=checks,
            events=tuple(self.stage.events.events[first_event:]),
            time=self.stage.clock.now(),
        )
        self.result.steps.append(result)
        if not ok:
            self.result.error = f"step {result.number} could not be played: {message}"
        self._wall += time.perf_counter() - began
        return result

    # devices ------------------------------------------------------------------------------------
    async def _add(self, device_id: str) -> Device:
        spec = self.scenario.device(device_id)
        device = await self.stage.add_device(
            spec.name, spec.user, model=spec.model, ios_version=spec.ios, device_id=spec.id
        )
        return device

    def _follow_ids(self, event: Event) -> None:
        """Follow temporary IDs to the server's (AS-14) through the upload answers' ID maps."""
        id_map = server_ids([event])
        if not id_map:
            return
        for name, (object_name, record_id) in list(self.refs.items()):
            new = id_map.get(record_id)
            if new is not None and record_id.startswith("tmp-"):
                self.refs[name] = (object_name, new)

    def _device(self, device_id: str | None) -> Device:
        if device_id is None or device_id not in self.stage.devices:
            raise ScenarioRunError(f"{device_id} is not on the stage (yet)")
        return self.stage.devices[device_id]

    # records ------------------------------------------------------------------------------------
    async def _find(self, lookup: Lookup, at: str) -> list[tuple[str, dict[str, Any]]]:
        where = await self._values(lookup.where, at)
        records = await self._records(lookup.object, at)
        return [(lookup.object, r) for r in records if all(r.get(k) == v for k, v in where.items())]

    async def _records(self, object_name: str, at: str) -> list[dict[str, Any]]:
        if at == ONLINE:
            page = await self.stage.online("GET", "/records", params={"object": object_name, "limit": 5000})
            return [r["fields"] for r in page["records"]]
        return self._device(at).records(object_name)

    async def _record(self, record_id: str, at: str, object_name: str) -> dict[str, Any] | None:
        if at == ONLINE:
            return next((r for r in await self._records(object_name, at) if r.get("id") == record_id), None)
        return self._device(at).record(record_id)

    async def _resolve(self, ref: RecordRef, at: str, *, missing_ok: bool = False) -> tuple[str, str] | None:
        """(object, ID) of a record named in the scenario, looked up ``at`` a device or online."""
        if isinstance(ref, str):
            if ref in self.refs:
                return self.refs[ref]
            lookup = self.scenario.records.get(ref)
            if lookup is None:
                raise ScenarioRunError(f"no record called {ref!r} yet")
        else:
            lookup = ref
        found = await self._find(lookup, at)
        where = "online" if at == ONLINE else f"on {at}"
        if len(found) > 1:
            raise ScenarioRunError(f"{describe_ref(ref)} matches {len(found)} records {where}")
        if not found:
            if missing_ok:
                return None
            raise ScenarioRunError(f"{describe_ref(ref)} is not there {where}")
        object_name, record = found[0]
        if isinstance(ref, str):
            self.refs[ref] = (object_name, record["id"])  # pinned: the same record from now on
        return object_name, record["id"]

    async def _id(self, ref: RecordRef, at: str) -> tuple[str, str]:
        found = await self._resolve(ref, at)
        assert found is not None
        return found

    async def _values(self, values: Mapping[str, Any], at: str) -> dict[str, Any]:
        """Field values with ``@name`` replaced by record IDs and ``today+N`` by dates."""
        return {k: await self._value(v, at) for k, v in values.items()}

    async def _value(self, value: Any, at: str) -> Any:
        if isinstance(value, str):
            if value.startswith("@@"):
                return value[1:]
            if value.startswith("@"):
                return (await self._id(value[1:], at))[1]
            match = TODAY.match(value)
            if match:
                days = int(match.group(2) or 0) * (-1 if match.group(1) == "-" else 1)
                return (self.stage.clock.now().date() + timedelta(days=days)).isoformat()
        return value

    # actions ------------------------------------------------------------------------------------
    async def _act(self, step: Step) -> str:
        a = step.action
        if a is None:
            return ""
        if a == "join":
            await self._add(str(step.device))
            return ""
        if step.device is not None and a not in DEVICE_OPTIONAL:
            return await self._device_act(step, self._device(step.device))
        return await self._stage_act(step)

    async def _device_act(self, step: Step, d: Device) -> str:
        a, v = step.action, step.value
        if a == "open":
            object_name, rid = await self._id(v, d.id)
            d.open_record(object_name, rid)
        elif a in ("edit", "new", "set"):
            await self._edit(step, d)
        elif a in ("save", "submit", "cancel"):
            self._finish(self._session(d), str(a))
        elif a == "leave":
            d.leave_screen()
        elif a == "delete":
            object_name, rid = await self._id(v, d.id)
            d.delete(object_name, rid)
        elif a == "network":
            d.set_network(str(v), **dict(step.options))
        elif a == "app":
            d.set_foreground(v == "foreground")
        elif a == "sync_mode":
            d.set_traditional(v == "traditional")
        elif a == "poll":
            await self.stage.complete(d.poller.poll())
        elif a == "incremental_sync":
            report = await self.stage.complete(d.syncer.run())
            return report.message
        elif a == "fault":
            d.inject_fault(str(v))
        elif a == "feed_page_size":
            d.set_feed_page_records(int(v))
        elif a == "poll_interval":
            d.set_poll_interval(v)
        elif a == "resolve":
            _object, rid = await self._id(v, d.id)
            error = next((e for e in d.sync_errors() if rid in e.record_ids()), None)
            if error is None:
                raise ScenarioRunError(f"{d.id} has no sync error for {describe_ref(v)}")
            d.act_on_error(error.id, step.options["how"])
        elif a == "full_refresh":
            report = await self.stage.complete(d.syncer.run(full=True))
            return report.message
        elif a == "apply_update":
            report = await self.stage.complete(d.refresh.apply())
            return report.message
        elif a == "dismiss":
            unread = d.unread_notices()
            if not unread:
                raise ActionRefused(f"{d.profile.name} shows no message to dismiss")
            d.dismiss_notices(unread[0].id)
        elif a == "restart":
            await self.stage.reopen_device(d.id)
        else:  # pragma: no cover - the loader admits no other device action
            raise ScenarioRunError(f"unknown action {a}")
        return ""

    def _session(self, d: Device) -> EditSession:
        if d.edit is None:
            raise ScenarioRunError(f"no edit screen is open on {d.id}")
        return d.edit

    async def _edit(self, step: Step, d: Device) -> None:
        was_on_list = d.screen is None
        if step.action == "edit":
            object_name, rid = await self._id(step.value, d.id)
            session = d.begin_edit(object_name, rid)
        elif step.action == "new":
            session = d.begin_edit(str(step.value))
            if step.bind:
                self.refs[step.bind] = (session.object, session.record_id)
        else:
            session = self._session(d)
        try:
            for name, value in (await self._values(step.fields, d.id)).items():
                session.set(name, value)
            for child in step.children:
                await self._child(session, child, d)
            if step.then is not None:
                self._finish(session, step.then)
        except BaseException:
            if step.then is not None and not session.closed:
                session.cancel()
            raise
        if step.then is not None and was_on_list and d.screen is not None and d.edit is None:
            d.leave_screen()

    async def _child(self, session: EditSession, child: ChildChange, d: Device) -> None:
        if child.op == "add":
            temp = session.add_child(str(child.object), await self._values(child.fields, d.id))
            if child.bind:
                self.refs[child.bind] = (str(child.object), temp)
            return
        assert child.record is not None
        _object, rid = await self._id(child.record, d.id)
        if child.op == "edit":
            session.edit_child(rid, await self._values(child.fields, d.id))
        else:
            session.remove_child(rid)

    @staticmethod
    def _finish(session: EditSession, how: str) -> None:
        if how == "save":
            session.save()
        elif how == "submit":
            session.submit()
        else:
            session.cancel()

    async def _stage_act(self, step: Step) -> str:
        a, v, o = step.action, step.value, step.options
        if a == "advance":
            await self.stage.advance(v)
            return ""
        try:
            if a == "online_edit":
                object_name, rid = await self._id(v, ONLINE)
                fields = await self._values(step.fields, ONLINE)
                body = {"fields": fields, "actor": o.get("actor", "online_user")}
                who = "An integration" if body["actor"] == "integration" else "An online user"
                text = f"{who} edited {object_name} {rid} online: {', '.join(fields)}."
                await self.stage.online("PATCH", f"/records/{object_name}/{rid}", json=body, say=text)
            elif a == "online_create":
                fields = await self._values(step.fields, ONLINE)
                body = {"fields": fields, "owner": o["owner"], "actor": o.get("actor", "integration")}
                text = f"A new {v} was created online for {o['owner']}."
                created = await self.stage.online("POST", f"/records/{v}", json=body, say=text)
                if step.bind:
                    self.refs[step.bind] = (str(v), created["id"])
            elif a == "territory_alignment":
                body = {}
                if "accounts" in v:
                    body["account_ids"] = [(await self._id(r, ONLINE))[1] for r in v["accounts"]]
                    body["territory"] = v["territory"]
                if "user" in v:
                    body["user_id"] = v["user"]
                    body["user_territories"] = v["territories"]
                text = "A territory alignment ran online" + (
                    f": {len(body.get('account_ids', []))} account(s) moved to {v['territory']}."
                    if "accounts" in v
                    else f": {v['user']} now covers {', '.join(v['territories'])}."
                )
                await self.stage.online("POST", "/territory-alignment", json=body, say=text)
            elif a == "metadata_change":
                text = f"An admin published a metadata change ({v['kind']} on {v['object']}.{v['field']})."
                await self.stage.online("POST", "/metadata", json=dict(v), say=text)
            elif a == "publish_content":
                text = f"New {v['kind']} content published online: {v['name']}."
                await self.stage.online("POST", "/content", json=dict(v), say=text)
            elif a == "refresh_dataset":
                await self.stage.online(
                    "POST", f"/datasets/{v}/refresh", say=f"A new load of {v} arrived online."
                )
            elif a == "sync_settings":
                settings = {k: val for k, val in v.items() if k != "user"}
                words = ", ".join(f"{k.replace('_', ' ')} {setting_text(val)}" for k, val in settings.items())
                text = f"An admin changed {v['user']}'s sync settings online: {words}."
                await self.stage.online("PATCH", f"/users/{v['user']}/settings", json=settings, say=text)
            elif a in ("clear_sync_errors", "force_full_refresh"):
                kind = "clear_sync_errors" if a == "clear_sync_errors" else "full_refresh"
                what = (
                    "cleared the client sync errors"
                    if kind == "clear_sync_errors"
                    else "forced a full refresh"
                )
                text = f"An admin {what} of {v}'s iPads online; each does it at its next incremental sync."
                await self.stage.online("POST", f"/users/{v}/commands", json={"kind": kind}, say=text)
            elif a == "xray":
                self.stage.set_xray(bool(v), step.device)
            elif a == "validation_rule":
                enabled = bool(o["enabled"])
                text = f"An admin switched the validation rule {v} {'on' if enabled else 'off'}."
                await self.stage.online("PUT", f"/validation-rules/{v}", json={"enabled": enabled}, say=text)
            else:  # pragma: no cover
                raise ScenarioRunError(f"unknown action {a}")
        except ValueError as exc:
            raise ActionRefused(f"the server refused: {exc}") from None
        return ""

    # checks -------------------------------------------------------------------------------------
    async def _check(self, step: Step, check: Check, refused: str | None, events: list[Event]) -> CheckResult:
        try:
            seen = await self._seen(step, check, refused, events)
        except ScenarioRunError as exc:
            seen = str(exc)
        return CheckResult(check, seen is None, seen or "")

    async def _seen(self, step: Step, check: Check, refused: str | None, events: list[Event]) -> str | None:
        """None if the check holds, else what was seen instead."""
        o, s = check.options, check.subject
        if check.kind == "refused":
            if refused is None:
                return "the action was not refused"
            if isinstance(s, str) and s.casefold() not in refused.casefold():
                return f"the reason was {refused!r}"
            return None
        if check.kind == "record":
            return await self._check_record(check)
        if check.kind == "feed":
            return await self._check_feed(check)
        if check.kind == "event":
            return await self._check_events(step, check, events)
        d = self._device(s if check.kind != "dataset" else o["at"])
        if check.kind == "queue":
            queue = d.queue()
            if "count" in o and len(queue) != o["count"]:
                return f"it holds {len(queue)}: {[i.label for i in queue]}"
            if "records" in o:
                want = [(await self._id(r, d.id))[1] for r in o["records"]]
                have = [i.items[0]["id"] for i in queue]
                if have != want:
                    return f"it holds {[i.label for i in queue]}"
            if "labels" in o:
                labels = [i.label for i in queue]
                if len(labels) != len(o["labels"]) or not all(
                    w.casefold() in h.casefold() for w, h in zip(o["labels"], labels, strict=False)
                ):
                    return f"it holds {labels}"
            if "sizes" in o and [len(i.items) for i in queue] != o["sizes"]:
                return f"the items hold {[len(i.items) for i in queue]} records"
            if "sends" in o:
                root = queue[0].items[0] if queue else {}
                if root.get("op") != "update" or root.get("changes") != o["sends"]:
                    return f"the first item sends {root.get('changes', root.get('fields'))}"
            if "head_state" in o and (not queue or queue[0].state != o["head_state"]):
                return "the queue is empty" if not queue else f"the first item is {queue[0].state}"
            return None
        if check.kind == "sync_errors":
            errors = d.sync_errors()
            if "record" in o:
                _obj, rid = await self._id(o["record"], d.id)
                errors = [e for e in errors if rid in e.record_ids()]
            if "count" in o and len(errors) != o["count"]:
                return f"there are {len(errors)}: {[e.message for e in errors]}"
            if "record" in o and "count" not in o and not errors:
                return "there is no sync error for it"
            if "actions" in o:
                offered = [list(d.error_actions(e)) for e in errors]
                if not errors:
                    return "there is no sync error to act on"
                if offered != [o["actions"]] * len(errors):
                    return f"the Errors tab offers {offered}"
            if "requested" in o:
                requested = None if o["requested"] == "nothing" else o["requested"]
                if not errors or any(e.requested != requested for e in errors):
                    return f"requested: {[e.requested or 'nothing' for e in errors]}"
            wanted = [
                e
                for e in errors
                if ("kind" not in o or e.kind == o["kind"])
                and ("message" not in o or o["message"].casefold() in e.message.casefold())
            ]
            if ("kind" in o or "message" in o) and not wanted:
                return f"the sync errors are {[(e.kind, e.message) for e in errors]}"
            return None
        if check.kind == "waiting":
            waiting = d.waiting()
            if "record" in o:
                _obj, rid = await self._id(o["record"], d.id)
                waiting = [(e, r) for e, r in waiting if rid in entry_ids(e)]
            if "count" in o and len(waiting) != o["count"]:
                return f"{len(waiting)} wait: {[r for _, r in waiting]}"
            if "record" in o and "count" not in o and not waiting:
                return "nothing waits for it"
            if "reason" in o and not any(o["reason"].casefold() in r.casefold() for _, r in waiting):
                return f"the reasons are {[r for _, r in waiting]}"
            return None
        if check.kind == "loss":
            report = d.loss_report()
            if "at_risk" in o and report.at_risk != o["at_risk"]:
                return f"{report.at_risk} would be lost: {report.queued + report.sync_errors}"
            if "queued" in o and not (
                len(report.queued) == len(o["queued"])
                and all(w.casefold() in h.casefold() for w, h in zip(o["queued"], report.queued, strict=True))
            ):
                return f"the queue holds {report.queued}"
            return None
        if check.kind == "notice":
            shown = [n for n in d.store.notices() if "kind" not in o or n.kind == o["kind"]]
            notices = [n.text for n in shown]
            if "count" in o and len(notices) != o["count"]:
                return f"there are {len(notices)}: {notices}"
            if "kind" in o and not ({"count", "text", "unread"} & set(o)) and not notices:
                return f"there is no {o['kind']} message"
            if "text" in o and not any(o["text"].casefold() in n.casefold() for n in notices):
                return f"the notices are {notices}"
            unread = [n for n in d.unread_notices() if "kind" not in o or n.kind == o["kind"]]
            if "unread" in o and len(unread) != o["unread"]:
                return f"{len(unread)} unread: {[n.text for n in unread]}"
            return None
        if check.kind == "sync_widget":
            widget = d.sync_widget()
            shows: dict[str, Any] = {
                "state": widget.state,
                "pending": widget.pending,
                "colour": widget.colour,
                "errors": widget.errors,
                "remind": widget.remind,
                "days_since": widget.days_since,
            }
            wrong = [f"{k} is {shows[k]!r}" for k in o if shows[k] != o[k]]
            return "; ".join(wrong) or None
        if check.kind == "refresh":
            refresh: dict[str, Any] = {"state": d.refresh.state, "colour": d.refresh.colour()}
            wrong = [f"{k} is {refresh[k]!r}" for k in o if refresh[k] != o[k]]
            return "; ".join(wrong) or None
        if check.kind == "device":
            screen = "list" if d.screen is None else d.screen.mode
            actual = {
                "traditional": d.traditional,
                "eligible": d.profile.autosync_eligible,
                "autosync_active": d.autosync_active,
                "network": d.conditions.mode,
                "foreground": d.foreground,
                "screen": screen,
                "metadata_version": d.schema.version,
                "blocked": d.blocking is not None,
                "xray": self.stage.xray.shown(d.id),
            }
            wrong = [f"{k} is {actual[k]!r}" for k in o if actual[k] != o[k]]
            return "; ".join(wrong) or None
        # dataset
        datasets = d.store.setting("datasets", {})
        if s not in datasets:
            return f"{d.id} has no data set {s!r} (it has {sorted(datasets)})"
        dataset = datasets[s]
        if "version" in o and dataset.get("version") != o["version"]:
            return f"its version is {dataset.get('version')}"
        names = [str(i.get("name", "")) for i in dataset.get("items", [])]
        if "item" in o and not any(o["item"].casefold() in n.casefold() for n in names):
            return f"its items are {names}"
        return None

    async def _check_record(self, check: Check) -> str | None:
        o = check.options
        at = str(o["at"])
        where = "online" if at == ONLINE else f"on {at}"
        found = await self._resolve(check.subject, at, missing_ok=True)
        record = None if found is None else await self._record(found[1], at, found[0])
        if o.get("exists") is False:
            return None if record is None else f"it is there {where}"
        if record is None:
            return f"it is not there {where}"
        assert found is not None
        for name, expected in o.get("fields", {}).items():
            actual = record.get(name)
            problem = await self._mismatch(actual, expected, at)
            if problem is not None:
                return f"{name} is {actual!r}" + (f" ({problem})" if problem else "")
        if "state" in o:
            state = self._device(at).sync_state(found[1])
            if state != o["state"]:
                return f"its sync state is {state}"
        return None

    async def _mismatch(self, actual: Any, expected: Any, at: str) -> str | None:
        if isinstance(expected, dict):
            ((how, want),) = expected.items()
            want = await self._value(want, at)
            tests: dict[str, Callable[[], bool]] = {
                "not": lambda: actual != want,
                "contains": lambda: str(want).casefold() in str(actual or "").casefold(),
                "starts_with": lambda: str(actual or "").startswith(str(want)),
                "present": lambda: (actual not in (None, "")) == bool(want),
                "at_least": lambda: isinstance(actual, int | float) and actual >= want,
            }
            ok = tests[how]()
            return None if ok else ""
        want = await self._value(expected, at)
        if isinstance(want, date | datetime):
            want = want.isoformat()
        return None if actual == want else ""

    async def _check_feed(self, check: Check) -> str | None:
        o = check.options
        page = await self.stage.online("GET", f"/feeds/{check.subject}")
        entries = page["entries"]
        ids = [{r["id"] for r in e["records"]} for e in entries]
        if "count" in o and len(entries) != o["count"]:
            return f"it holds {len(entries)} entries"
        for key, present in (("record", True), ("not_record", False)):
            if key in o:
                found = await self._resolve(o[key], ONLINE, missing_ok=not present)
                on_feed = found is not None and any(found[1] in i for i in ids)
                if on_feed != present:
                    return f"{describe_ref(o[key])} is {'not ' if present else ''}on the feed"
        return None

    async def _check_events(self, step: Step, check: Check, events: list[Event]) -> str | None:
        o = check.options
        pool = self.stage.events.events if o.get("since") == "start" else events
        matched = [e for e in pool if e.kind == check.subject]
        if "at" in o:
            at = str(o["at"])
            actor = f"device:{at}" if at in {d.id for d in self.scenario.devices} else at
            matched = [e for e in matched if e.actor == actor]
        if "text" in o:
            matched = [e for e in matched if str(o["text"]).casefold() in e.text.casefold()]
        if "record" in o:
            place = str(o.get("at", step.device or ONLINE))
            if place not in self.stage.devices:
                place = ONLINE
            found = await self._resolve(o["record"], place, missing_ok=True)
            matched = [e for e in matched if found is not None and e.record and e.record[1] == found[1]]
        if "count" in o:
            if len(matched) != o["count"]:
                return f"there were {len(matched)}"
            return None
        if not matched:
            same = [e.text for e in pool if e.kind == check.subject][-3:]
            return "there was none" + (f" (of that kind: {same})" if same else "")
        return None


async def play(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    on_start: Callable[[ScenarioRunner], None] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> ScenarioResult:
    """Play a whole scenario (a model or a file) on a fresh stage."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    runner = ScenarioRunner(scenario, seed=seed)
    if on_start is not None:
        on_start(runner)
    return await runner.run(on_step)


def run_scenario(
    scenario: Scenario | str | Path,
    seed: int | None = None,
    *,
    on_step: Callable[[StepResult], None] | None = None,
) -> ScenarioResult:
    """Play a whole scenario headless, in a private event loop; raises ScenarioFileError for a bad file."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return asyncio.run(play(scenario, seed=seed, on_step=on_step))
