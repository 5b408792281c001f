"""What a step does: one frozen class per action, in five groups (see :mod:`emulator.scenarios.model`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, ClassVar, Literal, get_args

from emulator.engine.error_actions import ErrorAction
from emulator.scenarios.specs import (
    Bind,
    Boolean,
    Children,
    Choice,
    Duration,
    FieldName,
    FieldValues,
    Fraction,
    Key,
    ListOf,
    ObjectName,
    Ref,
    Subject,
    Switch,
    Territory,
    Text,
    UserId,
    Whole,
)
from emulator.scenarios.values import (
    ERROR_ACTIONS,
    FAULTS,
    NETWORK_MODES,
    Actor,
    Child,
    FaultKind,
    NetworkMode,
    RecordRef,
    Scalar,
    Then,
)


# actions --------------------------------------------------------------------------------------------
class Action:
    """What one step does. ``kind`` is its YAML key; ``example`` a few steps showing it."""

    kind: ClassVar[str]
    example: ClassVar[str]
    #: Whether it happens on one iPad: ``required`` (``device:``, unless there is one device),
    #: ``optional`` or ``never``.
    on_device: ClassVar[Literal["required", "optional", "never"]] = "required"
    #: The own key holds a mapping of the fields (``sync_settings: {user: anna, ...}``).
    payload: ClassVar[bool] = False
    #: Keys of which at least one is needed (a payload), with what the loader says when none is.
    one_of: ClassVar[tuple[tuple[str, ...], str] | None] = None
    #: A key that needs others (a payload), with what the loader says when they are missing.
    together: ClassVar[tuple[tuple[str, tuple[str, ...], str], ...]] = ()


class ScreenAction(Action):
    """What a rep does on the app's screens: open, edit, create, save, delete."""


class SyncAction(Action):
    """Syncing, and what the app's sync messages and Errors tab offer."""


class ControlAction(Action):
    """The emulator's controls under an iPad: its network, its app, faults, timings."""


class OnlineAction(Action):
    """What happens online, on the server: online users, integrations, admins."""

    on_device: ClassVar[Literal["required", "optional", "never"]] = "never"


class StageAction(Action):
    """The stage: the emulated clock and the X-ray view."""

    on_device: ClassVar[Literal["required", "optional", "never"]] = "never"


_SET = "the field values to type"
_CHILDREN = "related records added, changed or removed on the same screen"
_THEN = "then tap save, submit or cancel (leaves the screen)"


@dataclass(frozen=True, kw_only=True)
class Open(ScreenAction):
    """Open a record on the view screen (an update for it waits while it is open, AS-21)."""

    kind: ClassVar[str] = "open"
    example: ClassVar[str] = """
    - device: pro
      open: harper
      expect:
        - {device: pro, screen: view}
    """
    record: Annotated[RecordRef, Subject(Ref(), "the record")]


@dataclass(frozen=True, kw_only=True)
class Edit(ScreenAction):
    """Open a record's edit screen; optionally type values, change related records and finish."""

    kind: ClassVar[str] = "edit"
    example: ClassVar[str] = """
    - device: pro
      edit: harper
      set: {phone__v: "+1 617-555-0100"}
      then: save
      expect:
        - {record: harper, at: online, fields: {phone__v: "+1 617-555-0100"}}
    """
    record: Annotated[RecordRef, Subject(Ref(), "the record")]
    fields: Annotated[Mapping[str, Scalar], Key(FieldValues(), _SET, key="set")] = field(default_factory=dict)
    children: Annotated[tuple[Child, ...], Key(Children(), _CHILDREN)] = ()
    then: Annotated[Then | None, Key(Choice(get_args(Then)), _THEN)] = None


@dataclass(frozen=True, kw_only=True)
class New(ScreenAction):
    """Create a record: its edit screen opens empty; ``as:`` names it for later steps."""

    kind: ClassVar[str] = "new"
    example: ClassVar[str] = """
    - device: pro
      new: call2__v
      as: visit
      set: {account__v: "@harper", call_date__v: today}
      then: save
      expect:
        - {record: visit, at: online, fields: {account__v: "@harper", call_date__v: today}}
    """
    object: Annotated[str, Subject(ObjectName(), "the object")]
    fields: Annotated[Mapping[str, Scalar], Key(FieldValues(), _SET, key="set")] = field(default_factory=dict)
    children: Annotated[tuple[Child, ...], Key(Children(), _CHILDREN)] = ()
    then: Annotated[Then | None, Key(Choice(get_args(Then)), _THEN)] = None
    bind: Annotated[str | None, Key(Bind(), "a name for the new record", key="as")] = None


@dataclass(frozen=True, kw_only=True)
class SetFields(ScreenAction):
    """Type values on the edit screen that is open (a step of its own, between edit: and save:)."""

    kind: ClassVar[str] = "set"
    example: ClassVar[str] = """
    - {device: pro, edit: harper}
    - {device: pro, set: {phone__v: "+1 617-555-0100"}}
    - device: pro
      save:
      expect:
        - {record: harper, at: online, fields: {phone__v: "+1 617-555-0100"}}
    """
    fields: Annotated[Mapping[str, Scalar], Subject(FieldValues(), _SET)]
    children: Annotated[tuple[Child, ...], Key(Children(), _CHILDREN)] = ()
    then: Annotated[Then | None, Key(Choice(get_args(Then)), _THEN)] = None


@dataclass(frozen=True, kw_only=True)
class Save(ScreenAction):
    """Tap Save on the edit screen: the save is durable and queued (AS-01)."""

    kind: ClassVar[str] = "save"
    example: ClassVar[str] = """
    - {device: pro, network: offline}
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}}
    - device: pro
      save:
      expect:
        - {queue: pro, count: 1}
        - {record: harper, at: pro, state: saved_locally}
    """


@dataclass(frozen=True, kw_only=True)
class Submit(ScreenAction):
    """Tap Submit on the edit screen (a call or an order: submitted records are final)."""

    kind: ClassVar[str] = "submit"
    example: ClassVar[str] = """
    - device: pro
      new: call2__v
      as: visit
      set: {account__v: "@harper", call_date__v: today}
    - device: pro
      submit:
      expect:
        - {record: visit, at: online, fields: {status__v: submitted__v}}
    """


@dataclass(frozen=True, kw_only=True)
class Cancel(ScreenAction):
    """Tap Cancel on the edit screen: nothing is saved or queued (AS-02)."""

    kind: ClassVar[str] = "cancel"
    example: ClassVar[str] = """
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}}
    - device: pro
      cancel:
      expect:
        - {queue: pro, count: 0}
        - {record: harper, at: pro, fields: {phone__v: "+1 617-555-0142"}}
    """


@dataclass(frozen=True, kw_only=True)
class Leave(ScreenAction):
    """Go back to the list from the view screen."""

    kind: ClassVar[str] = "leave"
    example: ClassVar[str] = """
    - {device: pro, open: harper}
    - device: pro
      leave:
      expect:
        - {device: pro, screen: list}
    """


@dataclass(frozen=True, kw_only=True)
class Delete(ScreenAction):
    """Delete a record on the iPad."""

    kind: ClassVar[str] = "delete"
    example: ClassVar[str] = """
    - device: pro
      new: call2__v
      as: visit
      set: {account__v: "@harper", call_date__v: today}
      then: save
    - device: pro
      delete: visit
      expect:
        - {record: visit, at: online, exists: false}
    """
    record: Annotated[RecordRef, Subject(Ref(), "the record")]


@dataclass(frozen=True, kw_only=True)
class Poll(SyncAction):
    """Read the feed now, without waiting for the 30-second poll (AS-16)."""

    kind: ClassVar[str] = "poll"
    example: ClassVar[str] = """
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - device: air
      poll:
      expect:
        - {record: harper, at: air, fields: {phone__v: "+1 617-555-0100"}}
    """


@dataclass(frozen=True, kw_only=True)
class IncrementalSync(SyncAction):
    """Tap Sync: upload what is queued, then download what is new online (AS-35)."""

    kind: ClassVar[str] = "incremental_sync"
    example: ClassVar[str] = """
    - online_edit: harper
      set: {phone__v: "+1 617-555-0800"}
    - device: pro
      incremental_sync:
      expect:
        - {record: harper, at: pro, fields: {phone__v: "+1 617-555-0800"}}
    """


@dataclass(frozen=True, kw_only=True)
class FullRefresh(SyncAction):
    """Options ▸ Database ▸ Full Database Refresh: upload first, then download everything (AS-37)."""

    kind: ClassVar[str] = "full_refresh"
    example: ClassVar[str] = """
    - device: pro
      full_refresh:
      expect:
        - {event: sync_finished, at: pro, text: Full database refresh finished}
    """


@dataclass(frozen=True, kw_only=True)
class ApplyUpdate(SyncAction):
    """Tap Apply Update once Refresh mode has downloaded its update (AS-36)."""

    kind: ClassVar[str] = "apply_update"
    example: ClassVar[str] = """
    - sync_settings: {user: anna, refresh_mode: on}
    - {device: pro, incremental_sync: }
    - advance: 1d
      expect:
        - {refresh: pro, state: ready}
    - device: pro
      apply_update:
      expect:
        - {refresh: pro, state: idle}
    """


@dataclass(frozen=True, kw_only=True)
class Dismiss(SyncAction):
    """Tap OK on the app's message (a sync error, a failed sync, discarded edits, a reminder)."""

    kind: ClassVar[str] = "dismiss"
    example: ClassVar[str] = """
    - {device: pro, edit: harper, set: {last_name__v: ""}, then: save}
    - device: pro
      dismiss:
      expect:
        - {notice: pro, kind: sync_error, unread: 0}
    """


@dataclass(frozen=True, kw_only=True)
class Resolve(SyncAction):
    """On the Errors tab, Undo, Undelete or Clear the sync error on a record (AS-34)."""

    kind: ClassVar[str] = "resolve"
    example: ClassVar[str] = """
    - {device: pro, edit: harper, set: {last_name__v: ""}, then: save}
    - device: pro
      resolve: harper
      how: undo
      expect:
        - {sync_errors: pro, record: harper, requested: undo}
    """
    record: Annotated[RecordRef, Subject(Ref(), "the record with the sync error")]
    how: Annotated[
        ErrorAction,
        Key(
            Choice(ERROR_ACTIONS),
            "what the rep taps",
            needs="how: (undo, undelete, clear, as on the Errors tab)",
        ),
    ]


@dataclass(frozen=True, kw_only=True)
class Network(ControlAction):
    """Switch the iPad's network: online, offline (the app knows) or lie-fi (requests time out)."""

    kind: ClassVar[str] = "network"
    example: ClassVar[str] = """
    - device: air
      network: offline
      expect:
        - {device: air, network: offline}
    - device: air
      network: online
      latency: 2s
      expect:
        - {device: air, network: online}
    """
    mode: Annotated[NetworkMode, Subject(Choice(NETWORK_MODES), "the network")]
    latency: Annotated[
        timedelta | None, Key(Duration(allow_zero=True), "added to every request (0s: none)")
    ] = None
    loss: Annotated[float | None, Key(Fraction(), "the share of requests lost")] = None


@dataclass(frozen=True, kw_only=True)
class App(ControlAction):
    """Send the app to the background or bring it back (AS-06: nothing uploads in the background)."""

    kind: ClassVar[str] = "app"
    example: ClassVar[str] = """
    - {device: pro, app: background}
    - device: pro
      edit: harper
      set: {phone__v: "+1 617-555-0100"}
      then: save
      expect:
        - {queue: pro, count: 1}
    - device: pro
      app: foreground
      expect:
        - {queue: pro, count: 0}
    """
    state: Annotated[
        Literal["foreground", "background"], Subject(Choice(("foreground", "background")), "where")
    ]


@dataclass(frozen=True, kw_only=True)
class SyncMode(ControlAction):
    """Switch the iPad between Autosync and traditional sync, to compare (AS-32)."""

    kind: ClassVar[str] = "sync_mode"
    example: ClassVar[str] = """
    - device: air
      sync_mode: traditional
      expect:
        - {device: air, traditional: true, autosync_active: false}
    """
    mode: Annotated[
        Literal["autosync", "traditional"], Subject(Choice(("autosync", "traditional")), "the sync mode")
    ]


@dataclass(frozen=True, kw_only=True)
class Fault(ControlAction):
    """Make the iPad's next request fail: its reply lost after the server committed, a 5xx, a timeout."""

    kind: ClassVar[str] = "fault"
    example: ClassVar[str] = """
    - {device: pro, fault: reply_lost}
    - device: pro
      edit: harper
      set: {phone__v: "+1 617-555-0100"}
      then: save
      expect:
        - {queue: pro, count: 1, head_state: waiting}
    - advance: 1m
      expect:
        - {queue: pro, count: 0}
        - {record: harper, at: online, fields: {phone__v: "+1 617-555-0100"}}
    """
    fault: Annotated[FaultKind, Subject(Choice(FAULTS), "the fault")]


@dataclass(frozen=True, kw_only=True)
class FeedPageSize(ControlAction):
    """How many records one feed read may bring (a small page splits transactions, AS-22)."""

    kind: ClassVar[str] = "feed_page_size"
    example: ClassVar[str] = """
    - {device: air, feed_page_size: 2}
    - device: pro
      new: order__v
      as: order
      set: {account__v: "@harper", order_date__v: today}
      children:
        - {add: order_line__v, set: {product__v: labrinone__c, quantity__v: 1, list_price__v: 120.0}}
        - {add: order_line__v, set: {product__v: verbacept__c, quantity__v: 2, list_price__v: 95.0}}
        - {add: order_line__v, set: {product__v: labrinone__c, quantity__v: 3, list_price__v: 110.0}}
      then: save
    - advance: 30s
      expect:
        - {waiting: air, record: order, reason: not all of its records have arrived}
    """
    records: Annotated[int, Subject(Whole(1), "records per feed page")]


@dataclass(frozen=True, kw_only=True)
class PollInterval(ControlAction):
    """How often the iPad polls its feed (30 seconds unless told)."""

    kind: ClassVar[str] = "poll_interval"
    example: ClassVar[str] = """
    - {device: air, poll_interval: 5m}
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - advance: 1m
      expect:
        - {record: harper, at: air, fields: {phone__v: "+1 617-555-0142"}}
    - advance: 5m
      expect:
        - {record: harper, at: air, fields: {phone__v: "+1 617-555-0100"}}
    """
    interval: Annotated[timedelta, Subject(Duration(), "the time between polls")]


@dataclass(frozen=True, kw_only=True)
class Restart(ControlAction):
    """Close the app and open it again from its file: nothing saved is lost (data safety)."""

    kind: ClassVar[str] = "restart"
    example: ClassVar[str] = """
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - device: pro
      restart:
      expect:
        - {record: harper, at: pro, fields: {phone__v: "+1 617-555-0100"}, state: synced}
    """


@dataclass(frozen=True, kw_only=True)
class Join(ControlAction):
    """A device with ``later: true`` joins the stage here (it downloads its user's data)."""

    kind: ClassVar[str] = "join"
    example: ClassVar[str] = """
    - device: bens
      join:
      expect:
        - {record: harper, at: bens, fields: {last_name__v: Harper}}
    """


@dataclass(frozen=True, kw_only=True)
class OnlineEdit(OnlineAction):
    """Someone edits a record online: an online user (the default) or an integration."""

    kind: ClassVar[str] = "online_edit"
    example: ClassVar[str] = """
    - online_edit: harper
      set: {phone__v: "+1 617-555-0800"}
      actor: integration
      expect:
        - {record: harper, at: online, fields: {phone__v: "+1 617-555-0800"}}
        - {record: harper, at: pro, fields: {phone__v: "+1 617-555-0142"}}
    """
    record: Annotated[RecordRef, Subject(Ref(), "the record")]
    fields: Annotated[
        Mapping[str, Scalar],
        Key(FieldValues(), "the fields to save", key="set", needs="set: with the fields to save"),
    ]
    actor: Annotated[Actor | None, Key(Choice(get_args(Actor)), "who edits (default online_user)")] = None


@dataclass(frozen=True, kw_only=True)
class OnlineCreate(OnlineAction):
    """A record is created online for a user (by an integration, unless told)."""

    kind: ClassVar[str] = "online_create"
    example: ClassVar[str] = """
    - online_create: call2__v
      owner: anna
      as: booked
      set: {account__v: "@harper", call_date__v: today+1}
      expect:
        - {record: booked, at: online, fields: {call_date__v: today+1}}
    """
    object: Annotated[str, Subject(ObjectName(), "the object")]
    fields: Annotated[
        Mapping[str, Scalar],
        Key(FieldValues(), "the fields to save", key="set", needs="set: with the fields to save"),
    ]
    actor: Annotated[Actor | None, Key(Choice(get_args(Actor)), "who creates it (default integration)")] = (
        None
    )
    owner: Annotated[
        str,
        Key(UserId(), "the user who owns the new record", needs="owner: (the user who owns the new record)"),
    ]
    bind: Annotated[str | None, Key(Bind(), "a name for the new record", key="as")] = None


@dataclass(frozen=True, kw_only=True)
class TerritoryAlignment(OnlineAction):
    """A territory alignment runs online: accounts move to a territory, or a user gets territories."""

    kind: ClassVar[str] = "territory_alignment"
    example: ClassVar[str] = """
    - territory_alignment: {accounts: [harper], territory: T-WC}
      expect:
        - {record: harper, at: online, fields: {territory__v: T-WC}}
    """
    payload: ClassVar[bool] = True
    one_of: ClassVar[tuple[tuple[str, ...], str] | None] = (
        ("accounts", "user"),
        "territory_alignment: needs accounts: to move or a user: to reassign",
    )
    together: ClassVar[tuple[tuple[str, tuple[str, ...], str], ...]] = (
        ("accounts", ("territory",), "territory_alignment: moving accounts needs territory:"),
        (
            "user",
            ("territories",),
            "territory_alignment: reassigning a user needs both user: and territories:",
        ),
        (
            "territories",
            ("user",),
            "territory_alignment: reassigning a user needs both user: and territories:",
        ),
    )
    accounts: Annotated[tuple[RecordRef, ...], Key(ListOf(Ref()), "accounts to move")] = ()
    territory: Annotated[str | None, Key(Territory(), "where the accounts move")] = None
    user: Annotated[str | None, Key(UserId(), "a user to reassign")] = None
    territories: Annotated[tuple[str, ...], Key(ListOf(Territory()), "the user's new territories")] = ()


@dataclass(frozen=True, kw_only=True)
class MetadataChange(OnlineAction):
    """An admin publishes a metadata change: a new picklist value or a field's new label."""

    kind: ClassVar[str] = "metadata_change"
    example: ClassVar[str] = """
    - metadata_change: {kind: relabel_field, object: account__v, field: phone__v, label: Office phone}
    - device: pro
      incremental_sync:
      expect:
        - {device: pro, metadata_version: 1}
    """
    payload: ClassVar[bool] = True
    change: Annotated[
        Literal["add_picklist_value", "relabel_field"],
        Key(Choice(("add_picklist_value", "relabel_field")), "what changes", key="kind"),
    ]
    object: Annotated[str, Key(ObjectName(), "the object")]
    field: Annotated[str, Key(FieldName(), "the field")]
    label: Annotated[str, Key(Text(), "the label (of the field, or of the new value)")]
    value: Annotated[str | None, Key(Text(), "the new picklist value")] = None


@dataclass(frozen=True, kw_only=True)
class PublishContent(OnlineAction):
    """New content is published online (CLM or Approved Email); it arrives by incremental sync (AS-27)."""

    kind: ClassVar[str] = "publish_content"
    example: ClassVar[str] = """
    - publish_content: {kind: clm, name: Verbacept Starter Kit}
    - device: pro
      incremental_sync:
      expect:
        - {dataset: clm_content, item: Verbacept Starter Kit}
    """
    payload: ClassVar[bool] = True
    content: Annotated[
        Literal["clm", "approved_email"],
        Key(Choice(("clm", "approved_email")), "the kind of content", key="kind"),
    ]
    name: Annotated[str, Key(Text(), "its name")]
    description: Annotated[str | None, Key(Text(), "its description")] = None


@dataclass(frozen=True, kw_only=True)
class RefreshDataset(OnlineAction):
    """A new load of a data set arrives online (it reaches the iPads by incremental sync)."""

    kind: ClassVar[str] = "refresh_dataset"
    example: ClassVar[str] = """
    - refresh_dataset: nitro
    - device: pro
      incremental_sync:
      expect:
        - {dataset: nitro, version: 2}
    """
    name: Annotated[str, Subject(Text(), "the data set")]


@dataclass(frozen=True, kw_only=True)
class ValidationRule(OnlineAction):
    """An admin switches a validation rule on or off."""

    kind: ClassVar[str] = "validation_rule"
    example: ClassVar[str] = """
    - {validation_rule: call_sample_quantity_range, enabled: false}
    - device: pro
      new: call2__v
      as: visit
      set: {account__v: "@harper", call_date__v: today}
      children:
        - {add: call2_sample__v, set: {product__v: labrinone__c, quantity__v: 99}}
      then: save
      expect:
        - {sync_errors: pro, count: 0}
        - {record: visit, at: online, children: {call2_sample__v: 1}}
    """
    name: Annotated[str, Subject(Text(), "the rule")]
    enabled: Annotated[bool, Key(Boolean(), "on or off", needs="enabled: true or false")]


@dataclass(frozen=True, kw_only=True)
class SyncSettings(OnlineAction):
    """An admin changes a user's sync settings (read by the iPads at their next incremental sync)."""

    kind: ClassVar[str] = "sync_settings"
    example: ClassVar[str] = """
    - sync_settings: {user: anna, refresh_mode: on, sync_warn_interval_days: 1}
    - device: pro
      incremental_sync:
      expect:
        - {refresh: pro, state: idle}
    """
    payload: ClassVar[bool] = True
    one_of: ClassVar[tuple[tuple[str, ...], str] | None] = (
        ("refresh_mode", "sync_warn_interval_days"),
        "sync_settings: give refresh_mode: and/or sync_warn_interval_days:",
    )
    user: Annotated[
        str,
        Key(UserId(), "whose iPads the settings are for", needs="user: (whose iPads the settings are for)"),
    ]
    refresh_mode: Annotated[bool | None, Key(Switch(), "Refresh mode (AS-36)")] = None
    sync_warn_interval_days: Annotated[
        int | None, Key(Whole(1), "SYNC_WARN_INTERVAL: days before pending uploads show red (AS-33)")
    ] = None


@dataclass(frozen=True, kw_only=True)
class ClearSyncErrors(OnlineAction):
    """An admin clears a user's client sync errors (each iPad does it at its next incremental sync)."""

    kind: ClassVar[str] = "clear_sync_errors"
    example: ClassVar[str] = """
    - {device: pro, edit: harper, set: {last_name__v: ""}, then: save}
    - clear_sync_errors: anna
    - device: pro
      incremental_sync:
      expect:
        - {sync_errors: pro, count: 0}
    """
    user: Annotated[str, Subject(UserId(), "the user", what="clear_sync_errors (a user)")]


@dataclass(frozen=True, kw_only=True)
class ForceFullRefresh(OnlineAction):
    """An admin forces a full refresh on a user's iPads (at their next incremental sync, AS-37)."""

    kind: ClassVar[str] = "force_full_refresh"
    example: ClassVar[str] = """
    - force_full_refresh: anna
    - device: pro
      incremental_sync:
      expect:
        - {event: sync_finished, at: pro, text: Full database refresh finished}
    """
    user: Annotated[str, Subject(UserId(), "the user", what="force_full_refresh (a user)")]


@dataclass(frozen=True, kw_only=True)
class Advance(StageAction):
    """Move the emulated clock: every timer due on the way fires (polls, retries, expiry)."""

    kind: ClassVar[str] = "advance"
    example: ClassVar[str] = """
    - {device: pro, edit: harper, set: {phone__v: "+1 617-555-0100"}, then: save}
    - advance: 30s
      expect:
        - {record: harper, at: air, fields: {phone__v: "+1 617-555-0100"}}
    """
    by: Annotated[timedelta, Subject(Duration(), "how far")]


@dataclass(frozen=True, kw_only=True)
class XRay(StageAction):
    """Switch the X-ray view on or off, on every iPad or (with ``device:``) on one."""

    kind: ClassVar[str] = "xray"
    example: ClassVar[str] = """
    - xray: off
      expect:
        - {device: pro, xray: off}
    - xray: on
      device: air
      expect:
        - {device: air, xray: on}
        - {device: pro, xray: off}
    """
    on_device: ClassVar[Literal["required", "optional", "never"]] = "optional"
    on: Annotated[bool, Subject(Switch(), "on or off")]


ScreenStep = Open | Edit | New | SetFields | Save | Submit | Cancel | Leave | Delete
SyncStep = Poll | IncrementalSync | FullRefresh | ApplyUpdate | Dismiss | Resolve
ControlStep = Network | App | SyncMode | Fault | FeedPageSize | PollInterval | Restart | Join
OnlineStep = (
    OnlineEdit
    | OnlineCreate
    | TerritoryAlignment
    | MetadataChange
    | PublishContent
    | RefreshDataset
    | ValidationRule
    | SyncSettings
    | ClearSyncErrors
    | ForceFullRefresh
)
StageStep = Advance | XRay
#: Every action a step can do.
ActionKind = ScreenStep | SyncStep | ControlStep | OnlineStep | StageStep
ACTION_GROUPS: tuple[tuple[type[Action], tuple[type[ActionKind], ...]], ...] = (
    (ScreenAction, get_args(ScreenStep)),
    (SyncAction, get_args(SyncStep)),
    (ControlAction, get_args(ControlStep)),
    (OnlineAction, get_args(OnlineStep)),
    (StageAction, get_args(StageStep)),
)
#: Each action class by its YAML key.
ACTIONS: dict[str, type[ActionKind]] = {cls.kind: cls for _, group in ACTION_GROUPS for cls in group}
#: Actions that finish the edit screen.
FINISHES = (Save, Submit, Cancel)
