"""Processing one upload transaction: Vault CRM's save logic as Autosync meets it.

Rules implemented here: AS-07 and AS-09 (first save wins; previous values checked per sent field),
AS-10 (AS-05 families override), AS-11 (duplicate Call), AS-12 (discarded Order / Inventory
edits), AS-13 (validation rules), AS-14 (IDs, auto-numbers, formulas, dates, triggers),
AS-16 and AS-17 (the saved records and their masters go on the user's feed).

The work is done in two phases. First everything is computed in memory with the device's
temporary IDs: nothing is written, so a sync error leaves the database as it was. Before any save
logic runs, every record the transaction edits or refers to must be one the user may see
(:mod:`server_stub.access`); one they may not is an ``access`` sync error worded the same whether
the record exists or not. Only when the whole transaction passes are IDs and auto-numbers
allocated and the records written; the feed gets the user's saves and only those masters and
submitted originals the user may see.

The answer is remembered under the user's own transaction ID (an idempotency key, with Stripe's
semantics) in the same database transaction: the same ID with the same body gets the same answer
and changes nothing; the same ID with another body is refused (409) and changes nothing; another
user's IDs are not this user's business (an ID is only ever looked up among the user's own).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from server_stub.access import Access, Member
from server_stub.clock import iso
from server_stub.feed import put_on_feed
from server_stub.logic import FORMULAS, TRIGGERS, VALIDATION_RULES, SaveContext
from server_stub.models import UploadItem, UploadRequest
from server_stub.schema import (
    REFERENCE_TYPES,
    SUBMITTED,
    Family,
    FieldDef,
    FieldValueError,
    ObjectDef,
    Schema,
)
from server_stub.store import Record, Store

DISABLED_RULES_KEY = "disabled_validation_rules"
#: What a server ID looks like (three characters of the object, twelve digits): never a temporary one.
SERVER_ID = re.compile(r"^[A-Z0-9]{3}\d{12}$")


class User(Protocol):
    """Whoever a save is for: a signed-in :class:`Member` or, online, a stored user."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def territories(self) -> Iterable[str]: ...


class PayloadError(ValueError):
    """The upload is malformed for this schema (HTTP 422); the message names the problem."""


class KeyReused(ValueError):
    """The transaction ID was used before with another body (HTTP 409); nothing is changed."""


class SyncError(Exception):
    """The transaction is refused as a whole; becomes the ``error`` of a sync-error answer."""

    def __init__(
        self,
        kind: str,
        message: str,
        obj: str,
        record_id: str,
        rule: str | None = None,
        conflicts: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.payload = {
            "kind": kind,
            "message": message,
            "object": obj,
            "record_id": record_id,
            "rule": rule,
            "conflicts": conflicts or [],
        }


@dataclass
class Pending:
    """One record as it will be written, still under the ID the device sent."""

    op: str
    obj: ObjectDef
    sent_id: str
    record: Record
    online: Record | None
    duplicate_of: str | None = None


@dataclass
class Outcome:
    """What a transaction did, for the answer and the feed."""

    kind: str = "saved"
    message: str = ""
    records: list[Pending] = field(default_factory=list)
    extra_feed: list[tuple[str, Record]] = field(default_factory=list)


def disabled_rules(store: Store) -> set[str]:
    return set(store.setting(DISABLED_RULES_KEY, []))


def request_digest(request: UploadRequest) -> str:
    """A fingerprint of an upload's body: equal for a retry, different for any other upload."""
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def process_upload(
    schema: Schema, store: Store, user: Member, request: UploadRequest, now: datetime
) -> dict[str, Any]:
    """Process (or replay) one upload and return the JSON answer for the device.

    The caller holds the write lock (:meth:`Store.lock_writes`).
    """
    digest = request_digest(request)
    seen = store.processed(user.id, request.transaction_id)
    if seen is not None:
        if seen.digest != digest:
            raise KeyReused(
                f"idempotency key reused: transaction {request.transaction_id} was already "
                "processed with a different body; send a new transaction ID"
            )
        return {**seen.response, "replayed": True}
    processor = _Transaction(schema, store, user, request, now)
    try:
        outcome = processor.run()
        answer = processor.commit(outcome)
    except SyncError as exc:
        answer = {
            "transaction_id": request.transaction_id,
            "outcome": "sync_error",
            "message": exc.payload["message"],
            "processed_at": iso(now),
            "records": [],
            "id_map": {},
            "error": exc.payload,
        }
    store.remember(user.id, request.transaction_id, digest, iso(now), answer)
    return {**answer, "replayed": False}


class _Transaction:
    """One transaction being processed; ``online_actor`` marks an edit made online (AS-27).

    An online save (by an online user or an integration) runs the same triggers, formulas,
    roll-ups and validation rules, but overrides without a previous-value check and does not go
    on any Autosync feed: devices get it only by incremental sync.
    """

    def __init__(
        self,
        schema: Schema,
        store: Store,
        user: User,
        request: UploadRequest,
        now: datetime,
        online_actor: str | None = None,
    ) -> None:
        self.online_actor = online_actor
        self.schema = schema
        self.store = store
        self.user = user
        self.request = request
        self.now = now
        self.items = request.items
        self.sent_ids = {item.id for item in request.items}
        if len(self.sent_ids) != len(request.items):
            raise PayloadError("a transaction names the same record twice")
        self.pending: dict[str, Pending] = {}
        member = Member(user.id, user.name, tuple(user.territories))
        self.access = Access(schema, store, member, now)
        self.ctx = SaveContext(now=now, lookup=self._lookup)

    # phase one: decide, in memory ---------------------------------------------------------------
    def run(self) -> Outcome:
        family = self._family()
        self._check_objects()
        for item in self.items:
            self.pending[item.id] = self._prepare(item, family)
        self._authorize_references()
        outcome = Outcome()
        if self.online_actor is not None:
            pass
        elif family is not None:
            root = self._online_root(family)
            if root is not None and root.get("status__v") == SUBMITTED:
                outcome = self._submitted_root(family, root)
                if outcome.kind == "discarded":
                    return outcome
        else:
            self._check_previous_values()
        self._run_save_logic()
        outcome.records = list(self.pending.values())
        return outcome

    def _family(self) -> Family | None:
        families = {self.schema.family_of(item.object) for item in self.items}
        if len(families) > 1:
            raise PayloadError("a transaction mixes records of different families (AS-05)")
        family = families.pop()
        if family is None:
            return None
        roots = [item for item in self.items if item.object == family.root]
        if len(roots) > 1:
            raise PayloadError(f"a {family.name} transaction has more than one {family.root}")
        return family

    def _check_objects(self) -> None:
        for item in self.items:
            obj = self._object(item.object)
            if item.op == "create" and item.changes:
                raise PayloadError(f"{item.id}: a create sends 'fields', not 'changes'")
            if item.op == "update" and item.fields:
                raise PayloadError(f"{item.id}: an update sends 'changes', not 'fields'")
            if item.op == "update" and not item.changes:
                raise PayloadError(f"{item.id}: an update without changes")
            names = item.fields.keys() if item.op == "create" else item.changes.keys()
            for name in names:
                fdef = obj.fields.get(name)
                if fdef is None:
                    raise PayloadError(f"{obj.name} has no field {name!r}")
                if not fdef.writable:
                    raise PayloadError(f"{obj.name}.{name} is set by the server, not the device")

    def _object(self, name: str) -> ObjectDef:
        try:
            return self.schema.object(name)
        except FieldValueError as exc:
            raise PayloadError(str(exc)) from None

    def _coerce(self, obj: ObjectDef, name: str, value: object) -> Any:
        try:
            return obj.fields[name].coerce(obj.name, value)
        except FieldValueError as exc:
            raise PayloadError(str(exc)) from None

    def _prepare(self, item: UploadItem, family: Family | None) -> Pending:
        obj = self._object(item.object)
        if item.op == "create":
            if SERVER_ID.match(item.id):
                raise PayloadError(f"{item.id}: a create is sent under a temporary ID, not a server ID")
            record: Record = {name: f.default for name, f in obj.fields.items() if f.default is not None}
            for name, value in item.fields.items():
                record[name] = self._coerce(obj, name, value)
            return Pending("create", obj, item.id, record, None)
        online = self.store.get(obj.name, item.id)
        if self.online_actor is None and (online is None or not self.access.may_see(obj.name, online)):
            gone = self.store.deleted(obj.name, item.id)
            if online is None and gone is not None and self.access.may_see(obj.name, gone):
                raise SyncError(
                    "not_found", f"This {obj.label.lower()} no longer exists online.", obj.name, item.id
                )
            raise SyncError("access", _no_access(obj.label), obj.name, item.id)
        if online is None:
            raise SyncError(
                "not_found", f"This {obj.label.lower()} no longer exists online.", obj.name, item.id
            )
        record = dict(online)
        if item.op == "update":
            for name, change in item.changes.items():
                record[name] = self._coerce(obj, name, change.new)
        return Pending(item.op, obj, item.id, record, online)

    def _authorize_references(self) -> None:
        """Every record the transaction refers to must be one the user may see (access.py).

        Checked before any save logic runs, so a refused transaction has read nothing on the
        user's behalf; the message is the same whether the record exists or not.
        """
        if self.online_actor is not None:
            return
        for pending in self.pending.values():
            self._check_references(pending)

    def _check_references(self, pending: Pending) -> None:
        obj, record = pending.obj, pending.record
        for fdef in obj.fields.values():
            value = record.get(fdef.name)
            if fdef.type not in REFERENCE_TYPES or value is None or value in self.pending:
                continue
            if pending.online is not None and pending.online.get(fdef.name) == value:
                continue  # unchanged: the record the user may edit already points there
            target = fdef.target or ""
            if self.access.reference(target, value) is None:
                label = self.schema.objects[target].label.lower()
                raise SyncError(
                    "access",
                    f"{obj.label}: the {label} {value} does not exist or you do not have access to it.",
                    obj.name,
                    pending.sent_id,
                    rule="reference",
                )

    def _online_root(self, family: Family) -> Record | None:
        for item in self.items:
            if item.object == family.root:  # a root created now is not online yet
                return None if item.op == "create" else self.store.get(family.root, item.id)
        for item in self.items:
            master = self.schema.objects[item.object].master_field
            pending = self.pending[item.id]
            if master is not None and master.target == family.root:
                return self.store.get(family.root, str(pending.record.get(master.name)))
        return None

    def _check_previous_values(self) -> None:
        """AS-07 / AS-09: every sent previous value must still be the online value."""
        for item in self.items:
            pending = self.pending[item.id]
            if item.op != "update" or pending.online is None:
                continue
            conflicts = []
            for name, change in item.changes.items():
                online_value = pending.online.get(name)
                new_value = pending.record.get(name)
                previous = self._coerce(pending.obj, name, change.old)
                if online_value != previous and online_value != new_value:
                    conflicts.append(
                        {
                            "field": name,
                            "label": pending.obj.fields[name].label,
                            "previous": previous,
                            "online": online_value,
                            "new": new_value,
                        }
                    )
            if conflicts:
                labels = ", ".join(c["label"] for c in conflicts)
                title = pending.online.get(pending.obj.title_field) or item.id
                raise SyncError(
                    "conflict",
                    f"{pending.obj.label} {title} was changed on another device "
                    f"before this edit arrived ({labels}).",
                    pending.obj.name,
                    item.id,
                    conflicts=conflicts,
                )

    def _submitted_root(self, family: Family, root: Record) -> Outcome:
        """AS-11 / AS-12: an edit to a family whose root is already submitted online."""
        obj = self.schema.objects[family.root]
        title = root.get(obj.title_field) or root["id"]
        if any(item.op == "delete" for item in self.items):
            raise SyncError(
                "submitted",
                f"{obj.label} {title} is submitted and cannot be deleted.",
                obj.name,
                root["id"],
            )
        if family.when_root_submitted == "override":
            return Outcome()
        if family.when_root_submitted == "discard":
            return Outcome(
                kind="discarded",
                message=(
                    f"{obj.label} {title} was already submitted on another device; your edits were discarded."
                ),
            )
        # duplicate: every edited record is saved as a new record under a new root (AS-11)
        for pending in self.pending.values():
            if pending.op == "update":
                base = {
                    name: value
                    for name, value in (pending.online or {}).items()
                    if name in pending.obj.fields and pending.obj.fields[name].writable
                }
                base.update({name: pending.record.get(name) for name in self._item(pending.sent_id).changes})
                pending.record = base
                pending.op = "create"
                pending.online = None
            if pending.obj.name == family.root:
                pending.duplicate_of = root["id"]
                self._editing_device_status(pending)
        if root["id"] not in self.pending:
            # only children were sent: the duplicate root copies the submitted one
            copy = {k: v for k, v in root.items() if k in obj.fields and obj.fields[k].writable}
            copy["status__v"] = "saved__v"
            duplicate_root = Pending("create", obj, root["id"], copy, None, root["id"])
            self.pending = {root["id"]: duplicate_root, **self.pending}
        originals = self._with_children(family.root, root)
        return Outcome(
            kind="duplicated",
            message=(
                f"{obj.label} {title} was already submitted on another device; "
                "your edits were saved as a new call."
            ),
            extra_feed=originals,
        )

    def _editing_device_status(self, pending: Pending) -> None:
        """AS-11 decision: the duplicate has the editing device's status, not the submitted one.

        The editing device never saw the submission (it could not have edited the call), so its
        status is the one it sent, or "saved" when it did not change the status.
        """
        sent = self._item(pending.sent_id).changes.get("status__v")
        status = sent.new if sent is not None else "saved__v"
        pending.record["status__v"] = status
        pending.record["submitted_date__v"] = None  # stamped again by the save logic if submitted

    def _with_children(self, object_name: str, record: Record) -> list[tuple[str, Record]]:
        """A record as it stands online followed by its detail records."""
        out: list[tuple[str, Record]] = [(object_name, record)]
        for child_obj, via in self.schema.children_of(object_name):
            out += [(child_obj, c) for c in self.store.children(child_obj, via, record["id"])]
        return out

    def _item(self, sent_id: str) -> UploadItem:
        return next(item for item in self.items if item.id == sent_id)

    def _lookup(self, object_name: str, record_id: str) -> Record | None:
        pending = self.pending.get(record_id)
        if pending is not None and pending.obj.name == object_name:
            return pending.record
        return self.store.get(object_name, record_id)

    def _run_save_logic(self) -> None:
        """Triggers, formulas, required fields, references and validation rules (AS-13/14)."""
        disabled = disabled_rules(self.store)
        for pending in self.pending.values():
            if pending.op == "delete":
                continue
            obj, record = pending.obj, pending.record
            for name in obj.triggers:
                TRIGGERS[name](record, pending.online, self.ctx)
            self._compute_formulas(obj, record)
            for fdef in obj.fields.values():
                if fdef.required and record.get(fdef.name) in (None, ""):
                    raise SyncError(
                        "validation",
                        f"{obj.label}: {fdef.label} is required.",
                        obj.name,
                        pending.sent_id,
                        rule="required",
                    )
                value = record.get(fdef.name)
                if fdef.type in REFERENCE_TYPES and value is not None and value not in self.pending:
                    target = fdef.target or ""
                    if self.store.get(target, value) is None:
                        label = self.schema.objects[target].label
                        raise SyncError(
                            "validation" if self.online_actor else "access",
                            f"{obj.label}: the {label.lower()} {value} does not exist"
                            + ("." if self.online_actor else " or you do not have access to it."),
                            obj.name,
                            pending.sent_id,
                            rule="reference",
                        )
            if self.online_actor is None:
                self._check_references(pending)  # what triggers and duplicates now point at
            for rule in obj.validation_rules:
                if rule in disabled or VALIDATION_RULES[rule](record, self.ctx):
                    continue
                raise SyncError(
                    "validation",
                    self.schema.validation_rules[rule].text,
                    obj.name,
                    pending.sent_id,
                    rule=rule,
                )

    @staticmethod
    def _compute_formulas(obj: ObjectDef, record: Record) -> None:
        for fdef in obj.fields.values():
            if fdef.type == "formula" and fdef.formula:
                record[fdef.name] = FORMULAS[fdef.formula](record)

    # phase two: write ----------------------------------------------------------------------------
    def commit(self, outcome: Outcome) -> dict[str, Any]:
        stamp = iso(self.now)
        answer: dict[str, Any] = {
            "transaction_id": self.request.transaction_id,
            "outcome": outcome.kind,
            "processed_at": stamp,
            "records": [],
            "id_map": {},
            "error": None,
        }
        if outcome.kind == "discarded":
            self._feed_submitted_version()
            answer["message"] = outcome.message
            return answer
        id_map = {p.sent_id: self._new_id(p.obj) for p in outcome.records if p.op == "create"}
        deleted: list[tuple[str, str]] = []
        touched: list[tuple[ObjectDef, Record, Record | None]] = []
        for pending in outcome.records:
            record = self._finish(pending, id_map, stamp)
            if pending.op == "delete":
                deleted += self._delete_cascade(pending.obj.name, record["id"], stamp)
            else:
                self.store.put(pending.obj.name, record, new=pending.op == "create")
            touched.append((pending.obj, record, pending.online))
        masters = self._update_masters(touched, stamp, {rid for _, rid in deleted})
        saved: list[tuple[str, Record]] = []
        for pending, (obj, record, _online) in zip(outcome.records, touched, strict=True):
            if pending.op != "delete":
                record = self.store.get(obj.name, record["id"]) or record  # roll-ups applied
                saved.append((obj.name, record))
            answer["records"].append(
                {
                    "object": obj.name,
                    "id": record["id"],
                    "temp_id": pending.sent_id if pending.sent_id != record["id"] else None,
                    "fields": record,
                }
            )
        if self.online_actor is None:
            put_on_feed(
                self.store,
                self.user.id,
                now=self.now,
                transaction_id=self.request.transaction_id,
                origin_device=self.request.device_id,
                reason="upload",
                records=_unique(saved + self._visible(masters + outcome.extra_feed)),
                deleted=deleted,
            )
        answer["id_map"] = id_map
        answer["message"] = outcome.message or _saved_message(outcome.records)
        return answer

    def _visible(self, records: list[tuple[str, Record]]) -> list[tuple[str, Record]]:
        """Only what the user may see goes on their feed besides their own saves."""
        return [(name, r) for name, r in records if self.access.may_see(name, r)]

    def _new_id(self, obj: ObjectDef) -> str:
        return f"{obj.id_prefix}{self.store.next_number('id:' + obj.id_prefix):012d}"

    def _finish(self, pending: Pending, id_map: dict[str, str], stamp: str) -> Record:
        """Give a record its server ID, references, auto-numbers and standard fields."""
        record = pending.record
        for fdef in pending.obj.fields.values():
            if fdef.type in REFERENCE_TYPES and record.get(fdef.name) in id_map:
                record[fdef.name] = id_map[record[fdef.name]]
        if pending.duplicate_of is not None:
            record["duplicate_of__v"] = pending.duplicate_of
        if pending.op == "create":
            record["id"] = id_map[pending.sent_id]
            for fdef in pending.obj.fields.values():
                if fdef.type == "autonumber" and fdef.format:
                    number = self.store.next_number(f"auto:{pending.obj.name}.{fdef.name}")
                    record[fdef.name] = fdef.format.format(number)
                if fdef.type == "rollup":
                    record[fdef.name] = 0
            record["ownerid__v"] = self.user.id
            record["created_date__v"] = stamp
            record["created_by__v"] = self.online_actor or self.user.id
        record["modified_date__v"] = stamp
        record["modified_by__v"] = self.online_actor or self.user.id
        return record

    def _delete_cascade(self, object_name: str, record_id: str, stamp: str) -> list[tuple[str, str]]:
        self.store.delete(record_id, stamp)
        gone = [(object_name, record_id)]
        for child_obj, via in self.schema.children_of(object_name):
            for child in self.store.children(child_obj, via, record_id):
                gone += self._delete_cascade(child_obj, child["id"], stamp)
        return gone

    def _update_masters(
        self,
        touched: list[tuple[ObjectDef, Record, Record | None]],
        stamp: str,
        deleted_ids: set[str],
    ) -> list[tuple[str, Record]]:
        """Recompute roll-ups over the touched records; return masters for the feed (AS-17)."""
        parents: dict[str, str] = {}  # parent id -> object
        for obj, record, online in touched:
            for fdef in obj.fields.values():
                if fdef.type not in REFERENCE_TYPES or not fdef.target:
                    continue
                for version in (record, online or {}):
                    value = version.get(fdef.name)
                    if isinstance(value, str) and value not in deleted_ids:
                        is_master = fdef.type == "master_detail"
                        if is_master or self._has_rollup_over(fdef.target, obj.name):
                            parents[value] = fdef.target
        out = []
        sent = {p.sent_id for p in self.pending.values()} | {r["id"] for _, r, _ in touched}
        for parent_id, parent_obj_name in parents.items():
            parent = self.store.get(parent_obj_name, parent_id)
            if parent is None:
                continue
            parent_obj = self.schema.objects[parent_obj_name]
            changed = self._recompute_rollups(parent_obj, parent)
            if changed:
                parent["modified_date__v"] = stamp
                self.store.put(parent_obj_name, parent)
            if changed or parent_id not in sent:
                out.append((parent_obj_name, parent))
        return out

    def _has_rollup_over(self, parent_object: str, child_object: str) -> bool:
        return any(
            f.type == "rollup" and f.rollup_child == child_object
            for f in self.schema.objects[parent_object].fields.values()
        )

    def _recompute_rollups(self, obj: ObjectDef, record: Record) -> bool:
        """Count and sum the record's children in the database (one query per child relation)."""
        by_relation: dict[tuple[str, str], list[FieldDef]] = {}
        for fdef in obj.fields.values():
            if fdef.type == "rollup":
                by_relation.setdefault((fdef.rollup_child or "", fdef.rollup_via or ""), []).append(fdef)
        changed = False
        for (child, via), fdefs in by_relation.items():
            summed = [None if f.rollup_function == "count" else f.rollup_field or "" for f in fdefs]
            values = self.store.rollups(child, via, record["id"], summed)
            for fdef, total in zip(fdefs, values, strict=True):
                value = total if fdef.rollup_function == "count" else round(total, 2)
                if record.get(fdef.name) != value:
                    record[fdef.name] = value
                    changed = True
        return changed

    def _feed_submitted_version(self) -> None:
        """AS-12 decision: the device receives the submitted version through the feed."""
        family = self._family()
        assert family is not None
        root = self._online_root(family)
        assert root is not None
        records = self._visible(self._with_children(family.root, root))
        put_on_feed(
            self.store,
            self.user.id,
            now=self.now,
            transaction_id=self.request.transaction_id,
            origin_device=self.request.device_id,
            reason="submitted_version",
            records=records,
        )


def _no_access(label: str) -> str:
    return f"You do not have access to this {label.lower()}, or it does not exist online."


def _unique(records: Iterable[tuple[str, Record]]) -> list[tuple[str, Record]]:
    """One entry per record ID, in first-seen order, holding the last version given."""
    seen: dict[str, tuple[str, Record]] = {}
    for obj, record in records:
        seen[record["id"]] = (obj, record)
    return list(seen.values())


def _saved_message(records: list[Pending]) -> str:
    if len(records) == 1:
        pending = records[0]
        verb = {"create": "created", "update": "saved", "delete": "deleted"}[pending.op]
        title = pending.record.get(pending.obj.title_field) or pending.record.get("id")
        return f"{pending.obj.label} {title} {verb} online."
    root = records[0]
    title = root.record.get(root.obj.title_field) or root.record.get("id")
    return f"{root.obj.label} {title} and {len(records) - 1} related records saved online."


def save_online(
    schema: Schema,
    store: Store,
    owner: User,
    items: list[UploadItem],
    now: datetime,
    actor: str,
) -> list[Record]:
    """Save records as an online user or integration would (AS-27): no feed, no previous values.

    Raises SyncError when the save logic refuses the records, PayloadError when they are
    malformed. Returns the saved records with their server IDs.
    """
    request = UploadRequest(transaction_id=f"online-{actor}", device_id="online", items=items)
    transaction = _Transaction(schema, store, owner, request, now, online_actor=actor)
    answer = transaction.commit(transaction.run())
    return [r["fields"] for r in answer["records"]]
