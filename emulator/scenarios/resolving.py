"""What a scenario's names stand for while it plays: records, IDs, field values.

A :class:`Resolver` finds the record a name or a lookup means, on a device or online, and pins
a name to the record it first finds; it follows a record from its temporary ID to the server's
(AS-14) through the upload answers in the event stream. It turns ``"@name"`` in a field value
into that record's ID and ``today+N`` into a date on the emulated clock, and compares a value
with a value or a matcher.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import assert_never

from emulator.engine.device import Device
from emulator.engine.events import Event
from emulator.engine.uploader import server_ids
from emulator.errors import ScenarioError
from emulator.scenarios.model import Scenario
from emulator.scenarios.values import (
    ONLINE,
    AtLeast,
    Contains,
    FieldCheck,
    Lookup,
    Not,
    Present,
    Query,
    RecordRef,
    Scalar,
    StartsWith,
    describe_ref,
)
from emulator.stage import Stage

TODAY = re.compile(r"^today(?:([+-])(\d+))?$")
#: A record as the engine and the server hold it: field name -> value.
Row = Mapping[str, object]


class ScenarioRunError(ScenarioError):
    """A step could not be played (not a failed check): ``str(exc)`` says why.

    ``line``: the line of the file it is about, when it is not the step's (a device's).
    """

    def __init__(self, message: str, *, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


class Resolver:
    """The records and values a scenario names, on ``stage``.

    Attributes:
        refs: each name bound (``as:``) or pinned (a ``records:`` lookup used once) -> (object, ID).
    """

    def __init__(self, scenario: Scenario, stage: Stage) -> None:
        self.scenario = scenario
        self.stage = stage
        self.refs: dict[str, tuple[str, str]] = {}
        stage.events.subscribe(self._follow_ids)

    def bind(self, name: str, object_name: str, record_id: str) -> None:
        self.refs[name] = (object_name, record_id)

    def _follow_ids(self, event: Event) -> None:
        """Follow temporary IDs to the server's (AS-14) through the upload answers' ID maps."""
        id_map = server_ids([event])
        if not id_map:
            return
        for name, (object_name, record_id) in list(self.refs.items()):
            new = id_map.get(record_id)
            if new is not None and record_id.startswith("tmp-"):
                self.refs[name] = (object_name, new)

    def device(self, device_id: str | None) -> Device:
        if device_id is None or device_id not in self.stage.devices:
            raise ScenarioRunError(f"{device_id} is not on the stage (yet)")
        return self.stage.devices[device_id]

    # records ----------------------------------------------------------------------------------
    async def records(self, object_name: str, at: str) -> list[Row]:
        """Every record of ``object_name`` on a device, or online."""
        if at == ONLINE:
            page = await self.stage.online("GET", "/records", params={"object": object_name, "limit": 5000})
            return [r["fields"] for r in page["records"]]
        return list(self.device(at).records(object_name))

    async def record(self, record_id: str, at: str, object_name: str) -> Row | None:
        if at == ONLINE:
            return next((r for r in await self.records(object_name, at) if r.get("id") == record_id), None)
        return self.device(at).record(record_id)

    async def matching(self, query: Query, at: str) -> list[Row]:
        """The records ``query`` matches (values or matchers)."""
        out = []
        for row in await self.records(query.object, at):
            if all([await self.holds(row.get(k), want, at) for k, want in query.where.items()]):
                out.append(row)
        return out

    async def find(self, lookup: Lookup, at: str) -> list[Row]:
        where = await self.values(lookup.where, at)
        return [
            r for r in await self.records(lookup.object, at) if all(r.get(k) == v for k, v in where.items())
        ]

    async def resolve(self, ref: RecordRef, at: str, *, missing_ok: bool = False) -> tuple[str, str] | None:
        """(object, ID) of a record named in the scenario, looked up ``at`` a device or online."""
        if isinstance(ref, str):
            if ref in self.refs:
                return self.refs[ref]
            lookup = self.scenario.records.get(ref)
            if lookup is None:
                raise ScenarioRunError(f"no record called {ref!r} yet")
        else:
            lookup = ref
        found = await self.find(lookup, at)
        where = "online" if at == ONLINE else f"on {at}"
        if len(found) > 1:
            raise ScenarioRunError(f"{describe_ref(ref)} matches {len(found)} records {where}")
        if not found:
            if missing_ok:
                return None
            raise ScenarioRunError(f"{describe_ref(ref)} is not there {where}")
        record_id = str(found[0]["id"])
        if isinstance(ref, str):
            self.refs[ref] = (lookup.object, record_id)  # pinned: the same record from now on
        return lookup.object, record_id

    async def id(self, ref: RecordRef, at: str) -> tuple[str, str]:
        found = await self.resolve(ref, at)
        assert found is not None
        return found

    # values -----------------------------------------------------------------------------------
    async def values(self, values: Mapping[str, Scalar], at: str) -> dict[str, Scalar]:
        """Field values with ``@name`` replaced by record IDs and ``today+N`` by dates."""
        return {k: await self.value(v, at) for k, v in values.items()}

    async def value(self, value: Scalar, at: str) -> Scalar:
        if isinstance(value, str):
            if value.startswith("@@"):
                return value[1:]
            if value.startswith("@"):
                return (await self.id(value[1:], at))[1]
            match = TODAY.match(value)
            if match:
                days = int(match.group(2) or 0) * (-1 if match.group(1) == "-" else 1)
                return (self.stage.clock.now().date() + timedelta(days=days)).isoformat()
        return value

    async def holds(self, actual: object, expected: FieldCheck, at: str) -> bool:
        """Whether ``actual`` is ``expected`` (a value, ``@name``, ``today``) or passes its matcher."""
        match expected:
            case Not():
                return actual != await self.value(expected.value, at)
            case Contains():
                return str(await self.value(expected.text, at)).casefold() in str(actual or "").casefold()
            case StartsWith():
                return str(actual or "").startswith(str(await self.value(expected.text, at)))
            case Present():
                return (actual not in (None, "")) == expected.present
            case AtLeast():
                return isinstance(actual, int | float) and actual >= expected.number
            case str() | int() | float() | bool() | None:
                return actual == await self.value(expected, at)
            case _:
                assert_never(expected)
