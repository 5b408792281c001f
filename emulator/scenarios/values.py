"""The values of the scenario language: record refs, field values, matchers, event patterns.

A record is named symbolically, never by a server ID (IDs differ between runs of the emulator
and between a device's temporary ID and the server's):

* ``harper``: a name from the scenario's ``records:`` section (a lookup, pinned to the record it
  first finds) or bound by ``as: harper`` on the step that created the record;
* ``{object: account__v, where: {last_name__v: Harper}}``: an inline lookup, resolved on the
  step's device (or online) each time it is used.

Inside field values, ``"@harper"`` stands for that record's ID (``"@@"`` starts a literal ``@``)
and ``today``, ``today+3``, ``today-1`` for dates relative to the emulated clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal, get_args

from emulator.engine.device import SYNC_STATE_TEXT
from emulator.engine.error_actions import ErrorAction
from emulator.engine.events import KINDS as EVENT_KINDS
from emulator.scenarios.specs import (
    Bind,
    Boolean,
    Choice,
    EventPlace,
    FieldValues,
    Key,
    Number,
    ObjectName,
    Ref,
    Subject,
    Text,
    Value,
    plain,
)

#: Every rule of the catalogue (docs/rules.md): AS-01 .. AS-37.
RULE_IDS: tuple[str, ...] = tuple(f"AS-{n:02d}" for n in range(1, 38))

ONLINE = "online"
NetworkMode = Literal["online", "offline", "lie-fi"]
NETWORK_MODES: tuple[NetworkMode, ...] = get_args(NetworkMode)
FaultKind = Literal["reply_lost", "server_error", "timeout"]
FAULTS: tuple[FaultKind, ...] = get_args(FaultKind)
ERROR_ACTIONS: tuple[ErrorAction, ...] = get_args(ErrorAction)
Then = Literal["save", "submit", "cancel"]
Requested = Literal["undo", "undelete", "nothing"]
WidgetState = Literal["up_to_date", "syncing", "pending", "errors"]
WIDGET_STATES: tuple[WidgetState, ...] = get_args(WidgetState)
WidgetColour = Literal["green", "orange", "red"]
WIDGET_COLOURS: tuple[WidgetColour, ...] = get_args(WidgetColour)
RefreshState = Literal["off", "idle", "downloading", "paused", "ready", "applying"]
REFRESH_STATES: tuple[RefreshState, ...] = get_args(RefreshState)
RefreshColour = Literal["blue", "orange", "red"]
REFRESH_COLOURS: tuple[RefreshColour, ...] = get_args(RefreshColour)
NoticeKind = Literal["sync_error", "sync_failed", "discarded", "reminder"]
Screen = Literal["list", "view", "edit"]
HeadState = Literal["queued", "uploading", "waiting"]
Since = Literal["step", "start"]
Actor = Literal["online_user", "integration"]
ConflictPart = Literal["previous", "online", "new"]
CONFLICT_PARTS: tuple[ConflictPart, ...] = get_args(ConflictPart)
SYNC_STATES: tuple[str, ...] = tuple(SYNC_STATE_TEXT)

#: A field value: text, a number, true / false or nothing.
Scalar = str | int | float | bool | None


# values ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lookup:
    """A record found by its values: the one record of ``object`` whose fields match ``where``."""

    object: Annotated[str, Key(ObjectName(), "the record's object")]
    where: Annotated[Mapping[str, Scalar], Key(FieldValues(), "field values only this record has")]

    def describe(self) -> str:
        values = ", ".join(f"{k}={v!r}" for k, v in self.where.items())
        return f"{self.object} with {values}"


def values_text(values: Mapping[str, object]) -> str:
    """Field values as a description shows them: ``phone__v = '+1 617-555-0100'``."""
    return ", ".join(f"{k} = {plain(v)!r}" for k, v in values.items())


#: A ref name (``records:`` or ``as:``) or an inline lookup.
RecordRef = str | Lookup


def describe_ref(ref: RecordRef) -> str:
    return ref if isinstance(ref, str) else f"the {ref.describe()}"


class Matcher:
    """A field value in a check that is not compared literally (``{not: VALUE}`` ...)."""

    kind: ClassVar[str]
    example: ClassVar[str]


@dataclass(frozen=True, kw_only=True)
class Not(Matcher):
    """Anything but this value."""

    kind: ClassVar[str] = "not"
    example: ClassVar[str] = """
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - say: The Air has not polled its feed yet.
      expect:
        - {record: harper, at: air, fields: {phone__v: {not: "+1 617-555-0100"}}}
    """
    value: Annotated[Scalar, Subject(Value(), "the value the field must not have")]


@dataclass(frozen=True, kw_only=True)
class Contains(Matcher):
    """The value contains this text, in any case."""

    kind: ClassVar[str] = "contains"
    example: ClassVar[str] = """
    - say: Dr. Harper's e-mail is at Beacon Hill.
      expect:
        - {record: harper, at: pro, fields: {email__v: {contains: BEACONHILL}}}
    """
    text: Annotated[str, Subject(Text(), "the text")]


@dataclass(frozen=True, kw_only=True)
class StartsWith(Matcher):
    """The value starts with this text (an ID with ``tmp-`` before the upload, ``V2C`` after)."""

    kind: ClassVar[str] = "starts_with"
    example: ClassVar[str] = """
    - {device: pro, network: offline}
    - device: pro
      new: call2__v
      as: visit
      set: {account__v: "@harper", call_date__v: today}
      then: save
      expect:
        - {record: visit, at: pro, fields: {id: {starts_with: tmp-}}}
    """
    text: Annotated[str, Subject(Text(), "the start")]


@dataclass(frozen=True, kw_only=True)
class Present(Matcher):
    """The field has a value (``true``) or is empty (``false``)."""

    kind: ClassVar[str] = "present"
    example: ClassVar[str] = """
    - say: Dr. Harper has a phone number.
      expect:
        - {record: harper, at: pro, fields: {phone__v: {present: true}}}
    """
    present: Annotated[bool, Subject(Boolean(), "whether the field has a value")]


@dataclass(frozen=True, kw_only=True)
class AtLeast(Matcher):
    """The value is a number at least this big."""

    kind: ClassVar[str] = "at_least"
    example: ClassVar[str] = """
    - device: pro
      new: order__v
      as: order
      set: {account__v: "@harper", order_date__v: today}
      children:
        - {add: order_line__v, as: line, set: {product__v: labrinone__c, quantity__v: 2, list_price__v: 9.5}}
        - {add: order_line__v, set: {product__v: verbacept__c, quantity__v: 1, list_price__v: 4.0}}
      then: save
      expect:
        - {record: order, at: online, fields: {line_count__v: {at_least: 2}}}
    """
    number: Annotated[float, Subject(Number(), "the smallest value that passes")]


MatcherKind = Not | Contains | StartsWith | Present | AtLeast
MATCHERS: tuple[type[MatcherKind], ...] = (Not, Contains, StartsWith, Present, AtLeast)
#: A field value in a check: a value, or a matcher.
FieldCheck = Scalar | MatcherKind


@dataclass(frozen=True, kw_only=True)
class Sent:
    """AS-08: what an upload sends for one changed field."""

    old: Annotated[Scalar, Key(Value(), "the previous value")]
    new: Annotated[Scalar, Key(Value(), "the new value")]


@dataclass(frozen=True, kw_only=True)
class EventPattern:
    """Events of one kind, optionally by whom, with which words and about which record."""

    kind: Annotated[str, Key(Choice(EVENT_KINDS), "the kind of event", key="event")]
    at: Annotated[str | None, Key(EventPlace(), "who had it")] = None
    text: Annotated[str | None, Key(Text(), "a part of its sentence, in any case")] = None
    record: Annotated[RecordRef | None, Key(Ref(), "the record it is about")] = None

    def describe(self) -> str:
        where = f" on {self.at}" if self.at else ""
        detail = [f"text {self.text!r}"] if self.text else []
        detail += [f"record {describe_ref(self.record)!r}"] if self.record else []
        return f"{self.kind}{where}" + (f" ({', '.join(detail)})" if detail else "")


@dataclass(frozen=True, kw_only=True)
class Query:
    """Every record of ``object`` whose fields match ``where`` (a value or a matcher each)."""

    object: Annotated[str, Key(ObjectName(), "the object")]
    where: Annotated[
        Mapping[str, FieldCheck], Key(FieldValues(matchers=True), "the fields to match (none: every record)")
    ] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.where:
            return f"{self.object} records"
        return f"{self.object} records with {values_text(self.where)}"


# child records ------------------------------------------------------------------------------------
class ChildChange:
    """One related record changed on an edit screen (AS-02, AS-05)."""

    kind: ClassVar[str]
    example: ClassVar[str]
    line: int


@dataclass(frozen=True, kw_only=True)
class AddChild(ChildChange):
    """Add a related record (an order line, a call discussion ...)."""

    kind: ClassVar[str] = "add"
    example: ClassVar[str] = """
    - device: pro
      new: order__v
      as: order
      set: {account__v: "@harper", order_date__v: today}
      children:
        - {add: order_line__v, as: line, set: {product__v: labrinone__c, quantity__v: 2, list_price__v: 9.5}}
        - {add: order_line__v, set: {product__v: verbacept__c, quantity__v: 1, list_price__v: 4.0}}
      then: save
      expect:
        - {record: order, at: pro, children: {order_line__v: 2}}
    """
    object: Annotated[str, Subject(ObjectName(), "the related object")]
    fields: Annotated[Mapping[str, Scalar], Key(FieldValues(), "its field values", key="set")] = field(
        default_factory=dict
    )
    bind: Annotated[str | None, Key(Bind(), "a name for the new record", key="as")] = None
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class EditChild(ChildChange):
    """Change a related record."""

    kind: ClassVar[str] = "edit"
    example: ClassVar[str] = """
    - device: pro
      new: order__v
      as: order
      set: {account__v: "@harper", order_date__v: today}
      children:
        - {add: order_line__v, as: line, set: {product__v: labrinone__c, quantity__v: 2, list_price__v: 9.5}}
        - {add: order_line__v, set: {product__v: verbacept__c, quantity__v: 1, list_price__v: 4.0}}
      then: save
    - device: pro
      edit: order
      children:
        - {edit: line, set: {quantity__v: 3}}
      then: save
      expect:
        - {record: line, at: online, fields: {quantity__v: 3}}
    """
    record: Annotated[RecordRef, Subject(Ref(), "the related record")]
    fields: Annotated[Mapping[str, Scalar], Key(FieldValues(), "the new values", key="set")]
    line: int = 0


@dataclass(frozen=True, kw_only=True)
class RemoveChild(ChildChange):
    """Remove a related record."""

    kind: ClassVar[str] = "remove"
    example: ClassVar[str] = """
    - device: pro
      new: order__v
      as: order
      set: {account__v: "@harper", order_date__v: today}
      children:
        - {add: order_line__v, as: line, set: {product__v: labrinone__c, quantity__v: 2, list_price__v: 9.5}}
        - {add: order_line__v, set: {product__v: verbacept__c, quantity__v: 1, list_price__v: 4.0}}
      then: save
    - device: pro
      edit: order
      children:
        - {remove: line}
      then: save
      expect:
        - {record: order, at: online, children: {order_line__v: 1}}
    """
    record: Annotated[RecordRef, Subject(Ref(), "the related record")]
    line: int = 0


Child = AddChild | EditChild | RemoveChild
CHILD_CHANGES: tuple[type[Child], ...] = (AddChild, EditChild, RemoveChild)
