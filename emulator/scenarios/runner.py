"""Playing a scenario on a fresh stage, one step at a time, checking its ``expect`` lines.

A :class:`ScenarioRunner` owns a new :class:`~emulator.stage.Stage` (seeded, a temporary data
directory, the embedded server or a standalone one, see :mod:`emulator.scenarios.remote`).
``await runner.step()`` plays the next step: the action, then ``stage.settle()`` (time moves
only on an ``advance:`` step, or while a sync takes emulated time), then the step's checks. A GUI
can call it from a play/pause/step control; :func:`run_scenario` plays a whole file headless.

Same scenario + same seed = the same event stream, event for event.

A step whose action fails unexpectedly (a refused action nobody expected, a record that cannot
be found) stops the run: what follows would not mean anything. A failed check does not stop it.
A ``never:`` check is decided at the step whose events break it, or the step that closes its
window; its result is told with that step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import assert_never

from emulator.engine.clock import DEFAULT_START
from emulator.engine.device import ActionRefused, Device, EditSession
from emulator.engine.events import Event
from emulator.errors import ServerError, ServerRefused, ServerUnreachable
from emulator.scenarios.actions import (
    Advance,
    App,
    ApplyUpdate,
    Cancel,
    ClearSyncErrors,
    ControlAction,
    ControlStep,
    Delete,
    Dismiss,
    Edit,
    Fault,
    FeedPageSize,
    ForceFullRefresh,
    FullRefresh,
    IncrementalSync,
    Join,
    Leave,
    MetadataChange,
    Network,
    New,
    OnlineAction,
    OnlineCreate,
    OnlineEdit,
    OnlineStep,
    Open,
    Poll,
    PollInterval,
    PublishContent,
    RefreshDataset,
    Resolve,
    Restart,
    Save,
    ScreenAction,
    ScreenStep,
    SetFields,
    StageAction,
    StageStep,
    Submit,
    SyncAction,
    SyncMode,
    SyncSettings,
    SyncStep,
    TerritoryAlignment,
    ValidationRule,
    XRay,
)
from emulator.scenarios.checking import Checker, Watch
from emulator.scenarios.checks import CheckKind, NeverCheck, RefusedCheck
from emulator.scenarios.loader import load_scenario
from emulator.scenarios.model import Scenario, Step, setting_text, settings_of
from emulator.scenarios.remote import Server, ServerClock
from emulator.scenarios.resolving import Resolver, ScenarioRunError
from emulator.scenarios.specs import fields_data
from emulator.scenarios.values import ONLINE, AddChild, Child, EditChild, RemoveChild, Then, describe_ref
from emulator.stage import Stage

__all__ = ["CheckResult", "ScenarioResult", "ScenarioRunError", "ScenarioRunner", "StepResult"]


@dataclass(frozen=True)
class CheckResult:
    check: CheckKind
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
    checks: tuple[CheckResult, ...]  # the step's own, and the never: checks decided here
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
    error_line: int = 0  # the line the error is about, when no step is (a device that cannot join)
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
            where = self.scenario.where(self.error_line) if self.error_line else self.scenario.source
            out.append(f"{where}: {self.error}")
        return out

    def event_stream(self) -> list[dict[str, object]]:
        return [e.to_json() for e in self.events]


class ScenarioRunner:
    """Plays one scenario: ``await start()``, then ``await step()`` until it returns None.

    ``server``: play on a standalone server instead of the embedded one.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        data_dir: Path | None = None,
        server: Server | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.stage = Stage(
            seed=self.seed,
            data_dir=data_dir,
            start=scenario.start or DEFAULT_START,
            server_url=None if server is None else server.url,
            admin_token=None if server is None else server.token,
        )
        self.result = ScenarioResult(scenario, self.seed)
        self.position = 0  # index of the next step
        self.records = Resolver(scenario, self.stage)
        self.checker = Checker(scenario, self.stage, self.records)
        self.server_clock = None if server is None else ServerClock(self.stage, server)
        self.watches: list[Watch] = []  # never: checks open
        self._started = False
        self._closed = False
        self._wall = 0.0

    @property
    def refs(self) -> dict[str, tuple[str, str]]:
        """Each record name bound or pinned so far -> (object, ID)."""
        return self.records.refs

    @property
    def finished(self) -> bool:
        return self.position >= len(self.scenario.steps) or self.result.error is not None

    @property
    def next_step(self) -> Step | None:
        return None if self.finished else self.scenario.steps[self.position]

    async def start(self) -> None:
        """Start the stage and put the scenario's iPads on it; raises ScenarioRunError if it cannot."""
        began = time.perf_counter()
        try:
            await self.stage.start()
        except ServerError as exc:
            raise ScenarioRunError(f"cannot reach the server at {self.stage.server_url}: {exc}") from None
        self._started = True
        if self.server_clock is not None:
            await self.server_clock.prepare()
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
                try:
                    await self.start()
                except ScenarioRunError as exc:
                    self.result.error, self.result.error_line = str(exc), exc.line
                    return self.result
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
        started_at = self.stage.clock.now()
        ok, message, refused = True, "", None
        try:
            message = await self._act(step)
        except ActionRefused as exc:
            refused = str(exc)
        except (ScenarioRunError, ServerUnreachable, ValueError, KeyError) as exc:
            ok, message = False, str(exc).strip("'\"")
        await self.stage.settle()
        if self.server_clock is not None and ok:
            await self.server_clock.follow()
        if refused is not None:
            message = f"refused: {refused}"
            if not any(isinstance(c, RefusedCheck) for c in step.expect):
                ok = False
        events = self.stage.events.events[first_event:]
        checks: tuple[CheckResult, ...] = ()
        if ok:
            checks = tuple(
                [await self._check(step, c, refused, events) for c in step.expect if not _watched(c)]
            )
            self.watches += [
                Watch.open(c, step, started_at) for c in step.expect if isinstance(c, NeverCheck)
            ]
            checks += await self._watch(events)
        result = StepResult(
            number=self.position,
            step=step,
            ok=ok,
            message=message,
            refused=refused,
            checks=checks,
            events=tuple(events),
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
        try:
            return await self.stage.add_device(
                spec.name, spec.user, model=spec.model, ios_version=spec.ios, device_id=spec.id
            )
        except (ServerError, ValueError) as exc:  # no such user on the server, a taken ID, no answer
            raise ScenarioRunError(f"{spec.id} cannot join the stage: {exc}", line=spec.line) from None

    def _device(self, device_id: str | None) -> Device:
        return self.records.device(device_id)

    # actions ------------------------------------------------------------------------------------
    async def _act(self, step: Step) -> str:
        """Play the step's action; what it reports, in words (a sync's outcome), or ""."""
        a = step.action
        match a:
            case None:
                return ""
            case ScreenAction():
                await self._screen(a, self._device(step.device))
                return ""
            case SyncAction():
                return await self._sync(a, self._device(step.device))
            case ControlAction():
                await self._control(a, step.device)
                return ""
            case OnlineAction():
                try:
                    await self._online(a)
                except ServerRefused as exc:
                    raise ActionRefused(f"the server refused: {exc}") from None
                return ""
            case StageAction():
                await self._stage(a, step.device)
                return ""
            case _:
                assert_never(a)

    async def _screen(self, a: ScreenStep, d: Device) -> None:
        match a:
            case Open():
                d.open_record(*await self.records.id(a.record, d.id))
            case Edit() | New() | SetFields():
                await self._edit(a, d)
            case Save() | Submit() | Cancel():
                self._finish(self._session(d), a.kind)
            case Leave():
                d.leave_screen()
            case Delete():
                d.delete(*await self.records.id(a.record, d.id))
            case _:
                assert_never(a)

    async def _sync(self, a: SyncStep, d: Device) -> str:
        match a:
            case Poll():
                await self.stage.complete(d.poller.poll())
            case IncrementalSync():
                return (await self.stage.complete(d.syncer.run())).message
            case FullRefresh():
                return (await self.stage.complete(d.syncer.run(full=True))).message
            case ApplyUpdate():
                return (await self.stage.complete(d.refresh.apply())).message
            case Dismiss():
                unread = d.unread_notices()
                if not unread:
                    raise ActionRefused(f"{d.profile.name} shows no message to dismiss")
                d.dismiss_notices(unread[0].id)
            case Resolve():
                _object, rid = await self.records.id(a.record, d.id)
                error = next((e for e in d.sync_errors() if rid in e.record_ids()), None)
                if error is None:
                    raise ScenarioRunError(f"{d.id} has no sync error for {describe_ref(a.record)}")
                d.act_on_error(error.id, a.how)
            case _:
                assert_never(a)
        return ""

    async def _control(self, a: ControlStep, device_id: str | None) -> None:
        if isinstance(a, Join):
            await self._add(str(device_id))
            return
        d = self._device(device_id)
        match a:
            case Network():
                options: dict[str, timedelta | float] = {}
                if a.latency is not None:
                    options["latency"] = a.latency
                if a.loss is not None:
                    options["loss"] = a.loss
                d.set_network(a.mode, **options)
            case App():
                d.set_foreground(a.state == "foreground")
            case SyncMode():
                d.set_traditional(a.mode == "traditional")
            case Fault():
                d.inject_fault(a.fault)
            case FeedPageSize():
                d.set_feed_page_records(a.records)
            case PollInterval():
                d.set_poll_interval(a.interval)
            case Restart():
                await self.stage.reopen_device(d.id)
            case _:
                assert_never(a)

    async def _stage(self, a: StageStep, device_id: str | None) -> None:
        match a:
            case Advance():
                if self.server_clock is not None:
                    await self.server_clock.advance(a.by)
                else:
                    await self.stage.advance(a.by)
            case XRay():
                self.stage.set_xray(a.on, device_id)
            case _:
                assert_never(a)

    def _session(self, d: Device) -> EditSession:
        if d.edit is None:
            raise ScenarioRunError(f"no edit screen is open on {d.id}")
        return d.edit

    async def _edit(self, a: Edit | New | SetFields, d: Device) -> None:
        was_on_list = d.screen is None
        match a:
            case Edit():
                session = d.begin_edit(*await self.records.id(a.record, d.id))
            case New():
                session = d.begin_edit(a.object)
                if a.bind:
                    self.records.bind(a.bind, session.object, session.record_id)
            case SetFields():
                session = self._session(d)
            case _:
                assert_never(a)
        try:
            for name, value in (await self.records.values(a.fields, d.id)).items():
                session.set(name, value)
            for child in a.children:
                await self._child(session, child, d)
            if a.then is not None:
                self._finish(session, a.then)
        except BaseException:
            if a.then is not None and not session.closed:
                session.cancel()
            raise
        if a.then is not None and was_on_list and d.screen is not None and d.edit is None:
            d.leave_screen()

    async def _child(self, session: EditSession, child: Child, d: Device) -> None:
        match child:
            case AddChild():
                temp = session.add_child(child.object, await self.records.values(child.fields, d.id))
                if child.bind:
                    self.records.bind(child.bind, child.object, temp)
            case EditChild():
                _object, rid = await self.records.id(child.record, d.id)
                session.edit_child(rid, await self.records.values(child.fields, d.id))
            case RemoveChild():
                session.remove_child((await self.records.id(child.record, d.id))[1])
            case _:
                assert_never(child)

    @staticmethod
    def _finish(session: EditSession, how: Then | str) -> None:
        if how == "save":
            session.save()
        elif how == "submit":
            session.submit()
        else:
            session.cancel()

    async def _online(self, a: OnlineStep) -> None:
        match a:
            case OnlineEdit():
                object_name, rid = await self.records.id(a.record, ONLINE)
                fields = await self.records.values(a.fields, ONLINE)
                actor = a.actor or "online_user"
                who = "An integration" if actor == "integration" else "An online user"
                text = f"{who} edited {object_name} {rid} online: {', '.join(fields)}."
                path = f"/records/{object_name}/{rid}"
                await self.stage.online("PATCH", path, json={"fields": fields, "actor": actor}, say=text)
            case OnlineCreate():
                fields = await self.records.values(a.fields, ONLINE)
                new = {"fields": fields, "owner": a.owner, "actor": a.actor or "integration"}
                text = f"A new {a.object} was created online for {a.owner}."
                created = await self.stage.online("POST", f"/records/{a.object}", json=new, say=text)
                if a.bind:
                    self.records.bind(a.bind, a.object, created["id"])
            case TerritoryAlignment():
                await self._alignment(a)
            case MetadataChange() | PublishContent():
                await self._publish(a)
            case RefreshDataset():
                say = f"A new load of {a.name} arrived online."
                await self.stage.online("POST", f"/datasets/{a.name}/refresh", say=say)
            case ValidationRule():
                text = f"An admin switched the validation rule {a.name} {setting_text(a.enabled)}."
                path = f"/validation-rules/{a.name}"
                await self.stage.online("PUT", path, json={"enabled": a.enabled}, say=text)
            case SyncSettings():
                settings = settings_of(a)
                words = ", ".join(f"{k.replace('_', ' ')} {setting_text(v)}" for k, v in settings.items())
                text = f"An admin changed {a.user}'s sync settings online: {words}."
                await self.stage.online("PATCH", f"/users/{a.user}/settings", json=settings, say=text)
            case ClearSyncErrors() | ForceFullRefresh():
                await self._command(a)
            case _:
                assert_never(a)

    async def _alignment(self, a: TerritoryAlignment) -> None:
        body: dict[str, object] = {}
        if a.accounts:
            body["account_ids"] = [(await self.records.id(r, ONLINE))[1] for r in a.accounts]
            body["territory"] = a.territory
        if a.user is not None:
            body["user_id"] = a.user
            body["user_territories"] = list(a.territories)
        text = "A territory alignment ran online" + (
            f": {len(a.accounts)} account(s) moved to {a.territory}."
            if a.accounts
            else f": {a.user} now covers {', '.join(a.territories)}."
        )
        await self.stage.online("POST", "/territory-alignment", json=body, say=text)

    async def _publish(self, a: MetadataChange | PublishContent) -> None:
        payload = fields_data(a)  # the server takes the step's own mapping
        if isinstance(a, MetadataChange):
            text = f"An admin published a metadata change ({a.change} on {a.object}.{a.field})."
            await self.stage.online("POST", "/metadata", json=payload, say=text)
        else:
            text = f"New {a.content} content published online: {a.name}."
            await self.stage.online("POST", "/content", json=payload, say=text)

    async def _command(self, a: ClearSyncErrors | ForceFullRefresh) -> None:
        if isinstance(a, ClearSyncErrors):
            kind, what = "clear_sync_errors", "cleared the client sync errors"
        else:
            kind, what = "full_refresh", "forced a full refresh"
        text = f"An admin {what} of {a.user}'s iPads online; each does it at its next incremental sync."
        await self.stage.online("POST", f"/users/{a.user}/commands", json={"kind": kind}, say=text)

    # checks -------------------------------------------------------------------------------------
    async def _check(
        self, step: Step, check: CheckKind, refused: str | None, events: list[Event]
    ) -> CheckResult:
        try:
            seen = await self.checker.seen(step, check, refused, events)
        except ScenarioRunError as exc:
            seen = str(exc)
        except ServerRefused as exc:  # the server refused what the check asked it
            seen = f"the server refused: {exc}"
        except ServerUnreachable as exc:
            seen = str(exc)
        return CheckResult(check, seen is None, seen or "")

    async def _watch(self, events: list[Event]) -> tuple[CheckResult, ...]:
        """The never: checks decided by this step: broken by its events, or their window closed."""
        decided: list[CheckResult] = []
        now = self.stage.clock.now()
        last = self.position >= len(self.scenario.steps)
        for watch in list(self.watches):
            try:
                seen = await self.checker.never(watch.step, watch.check.pattern, watch.in_window(events))
            except ScenarioRunError as exc:
                seen = str(exc)
            if seen is None:
                closed = watch.closes(now)
                if not closed and not last:
                    continue  # still watching
                if not closed:
                    seen = watch.unfinished(now)
            self.watches.remove(watch)
            decided.append(CheckResult(watch.check, seen is None, seen or ""))
        return tuple(decided)


def _watched(check: CheckKind) -> bool:
    """A check decided over the steps after its own (not at once)."""
    return isinstance(check, NeverCheck)


async def play(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    server: Server | None = None,
    on_start: Callable[[ScenarioRunner], None] | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> ScenarioResult:
    """Play a whole scenario (a model or a file) on a fresh stage."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, embedded=server is None)
    runner = ScenarioRunner(scenario, seed=seed, server=server)
    if on_start is not None:
        on_start(runner)
    return await runner.run(on_step)


def run_scenario(
    scenario: Scenario | str | Path,
    seed: int | None = None,
    *,
    server: Server | None = None,
    on_step: Callable[[StepResult], None] | None = None,
) -> ScenarioResult:
    """Play a whole scenario headless, in a private event loop; raises ScenarioFileError for a bad file."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, embedded=server is None)
    return asyncio.run(play(scenario, seed=seed, server=server, on_step=on_step))
