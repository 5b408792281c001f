"""A virtual iPad's local database: one SQLite file (WAL, ``synchronous=NORMAL``) per device.

It holds the device's records, its upload queue (FIFO by sequence number), its sync errors, the
feed data downloaded but not merged yet, and small settings (feed cursor, last incremental sync,
schema, data sets). Every change happens in :meth:`LocalStore.transaction`: committed before the
caller reports anything, or not at all.

Durability: in WAL mode with ``synchronous=NORMAL`` a committed transaction survives the app
being killed (kill -9) at any moment; what the operating system had not yet written to the disk
when the machine itself lost power may be lost (the last transactions, never a torn one). That is
the iPad's own trade-off too, and it saves an fsync per commit.

Two small index tables keep the costs linear: ``queue_refs`` (which queue items touch which
records, so an upload's answer reads only the items that edit its records) and ``temp_refs``
(which records refer to a temporary ID, so replacing it by the server's ID reads only those).
A third, ``queue_net``, holds per record the net of its queued edits (what an upload's answer
lays over the server's version: one row, however many edits are queued).

One :class:`LocalStore` is open on a file at a time (the device's), so it keeps a few facts of
the file in memory instead of reading them on every check: the settings, the queue's length,
and that no feed entry is staged or no sync error kept (once a read found none). Each is
changed only with the transaction that changes the file, and forgotten if a transaction rolls
back; hot paths run prebuilt Core statements, reads commit nothing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Integer,
    String,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

Record = dict[str, Any]
TEMP_PREFIX = "tmp-"


class Base(DeclarativeBase):
    pass


class LocalRecord(Base):
    __tablename__ = "records"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    object: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[Record] = mapped_column(JSON)


class QueueItem(Base):
    """One upload: a record, or a whole AS-05 family, with its transaction ID."""

    __tablename__ = "queue"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(String(128), unique=True)
    queued_at: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(300))
    items: Mapped[list[Record]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    root_object: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    next_attempt_at: Mapped[str | None] = mapped_column(String(32), nullable=True)

    def record_ids(self) -> list[str]:
        return [str(item["id"]) for item in self.items]


class QueueRef(Base):
    """A queue item touches a record: edits it (``item``) or refers to it from a field."""

    __tablename__ = "queue_refs"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    item: Mapped[bool] = mapped_column(Boolean, default=True)


class TempRef(Base):
    """A local record refers to a temporary ID (a record created here, not yet uploaded)."""

    __tablename__ = "temp_refs"
    temp_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)


class QueueNet(Base):
    """The net of a record's queued (unanswered) edits: field -> [queue seq, newest value].

    What the queue items that edit the record would lay over it, folded oldest first (the
    newest value of each field wins; a create's fields count as set). Kept in the same local
    transaction as the queue itself, so an upload's answer reads one row per record instead of
    every later edit (AS-07/AS-08: the user's unanswered values stay on screen).
    """

    __tablename__ = "queue_net"
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    net: Mapped[dict[str, list[Any]]] = mapped_column(JSON)


class SyncErrorRow(Base):
    """A queue item the server refused, kept with its payload so the user can act on it."""

    __tablename__ = "sync_errors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    transaction_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(1000))
    object: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str | None] = mapped_column(String(64), nullable=True)
    conflicts: Mapped[list[Record]] = mapped_column(JSON)
    items: Mapped[list[Record]] = mapped_column(JSON)
    label: Mapped[str] = mapped_column(String(300))
    #: What the user asked for on the Errors tab, carried out at the next incremental sync (AS-34).
    requested: Mapped[str | None] = mapped_column(String(16), nullable=True, default=None)

    def record_ids(self) -> list[str]:
        return [str(item["id"]) for item in self.items]

    @property
    def is_delete(self) -> bool:
        """A delete the server refused: Undelete, not Undo, takes it back (AS-34)."""
        return any(item.get("op") == "delete" for item in self.items)


class StagedEntry(Base):
    """A feed entry downloaded but not merged yet (AS-21)."""

    __tablename__ = "staged"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[str] = mapped_column(String(32))
    entry: Mapped[Record] = mapped_column(JSON)


class StagedRef(Base):
    """A staged feed entry carries a record (or its deletion): its sync state is "update waiting"."""

    __tablename__ = "staged_refs"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)


def _part_ids(part: Record) -> set[str]:
    return {str(r["id"]) for r in part.get("records", [])} | {str(d["id"]) for d in part.get("deleted", [])}


class Notice(Base):
    """A message the app showed its user: a sync error, edits discarded, a reminder to sync."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(16), default="message")


class Setting(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


# Prebuilt Core statements for the hot paths (a drained item, a merged feed entry): compiled
# once and cached by SQLAlchemy, executed on the transaction's connection, no ORM unit of work.
_RECORDS = Base.metadata.tables["records"]
_QUEUE = Base.metadata.tables["queue"]
_QUEUE_REFS = Base.metadata.tables["queue_refs"]
_QUEUE_NET = Base.metadata.tables["queue_net"]
_TEMP_REFS = Base.metadata.tables["temp_refs"]
_SYNC_ERRORS = Base.metadata.tables["sync_errors"]
_STAGED = Base.metadata.tables["staged"]
_STAGED_REFS = Base.metadata.tables["staged_refs"]
_SETTINGS = Base.metadata.tables["settings"]

_RECORD_GET = select(_RECORDS.c.object, _RECORDS.c.data).where(_RECORDS.c.id == bindparam("rid"))
_record_upsert = sqlite_insert(_RECORDS).values(
    id=bindparam("rid", type_=String()),
    object=bindparam("obj", type_=String()),
    data=bindparam("data", type_=_RECORDS.c.data.type),
)
_RECORD_UPSERT = _record_upsert.on_conflict_do_update(
    index_elements=[_RECORDS.c.id],
    set_={"object": _record_upsert.excluded.object, "data": _record_upsert.excluded.data},
)
_RECORD_UPDATE = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("rid"))
    .values(data=bindparam("data", type_=_RECORDS.c.data.type))
)
_RECORD_DELETE = delete(_RECORDS).where(_RECORDS.c.id == bindparam("rid"))
_RECORD_RENAME = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("old"))
    .values(
        id=bindparam("new", type_=String()),
        data=func.json_set(_RECORDS.c.data, "$.id", bindparam("new")),
    )
)
_RECORD_DATA_SET = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("rid"))
    .values(data=bindparam("data", type_=_RECORDS.c.data.type))
)
_RECORDS_IN = select(_RECORDS.c.id, _RECORDS.c.data).where(
    _RECORDS.c.id.in_(bindparam("ids", expanding=True))
)
_TEMP_REF_ADD = (
    sqlite_insert(_TEMP_REFS)
    .values(temp_id=bindparam("temp", type_=String()), record_id=bindparam("rid", type_=String()))
    .on_conflict_do_nothing()
)
_TEMP_REFS_MOVE = (
    update(_TEMP_REFS).where(_TEMP_REFS.c.record_id == bindparam("old")).values(record_id=bindparam("new"))
)
_TEMP_REFS_TAKE = (
    delete(_TEMP_REFS).where(_TEMP_REFS.c.temp_id == bindparam("old")).returning(_TEMP_REFS.c.record_id)
)

_QUEUE_COLUMNS = list(_QUEUE.columns)
_QUEUE_HEAD = select(*_QUEUE_COLUMNS).order_by(_QUEUE.c.seq).limit(1)
_QUEUE_LENGTH = select(func.count()).select_from(_QUEUE)
#: Sets the columns its parameters name (besides ``b_seq``) on one queue item.
_QUEUE_ITEM_SET = update(_QUEUE).where(_QUEUE.c.seq == bindparam("b_seq"))
_QUEUE_DELETE = delete(_QUEUE).where(_QUEUE.c.seq == bindparam("seq"))
_QUEUE_REFS_DELETE = delete(_QUEUE_REFS).where(_QUEUE_REFS.c.seq == bindparam("seq"))
_QUEUE_REFS_MOVE = (
    update(_QUEUE_REFS)
    .where(_QUEUE_REFS.c.record_id == bindparam("old"))
    .values(record_id=bindparam("new"))
    .returning(_QUEUE_REFS.c.seq)
)
_QUEUE_ITEMS_IN = select(_QUEUE.c.seq, _QUEUE.c["items"]).where(
    _QUEUE.c.seq.in_(bindparam("seqs", expanding=True))
)
_QUEUE_ITEMS_SET = (
    update(_QUEUE)
    .where(_QUEUE.c.seq == bindparam("b_seq"))
    .values(items=bindparam("b_items", type_=_QUEUE.c["items"].type))
)
_NET_OF = select(_QUEUE_NET.c.record_id, _QUEUE_NET.c.net).where(
    _QUEUE_NET.c.record_id.in_(bindparam("ids", expanding=True))
)
_net_upsert = sqlite_insert(_QUEUE_NET).values(
    record_id=bindparam("rid", type_=String()), net=bindparam("net", type_=_QUEUE_NET.c.net.type)
)
_NET_UPSERT = _net_upsert.on_conflict_do_update(
    index_elements=[_QUEUE_NET.c.record_id], set_={"net": _net_upsert.excluded.net}
)
_NET_DELETE = delete(_QUEUE_NET).where(_QUEUE_NET.c.record_id == bindparam("rid"))
_ERRORS_NAMING = select(_SYNC_ERRORS.c.id, _SYNC_ERRORS.c["items"], _SYNC_ERRORS.c.record_id).where(
    (func.instr(_SYNC_ERRORS.c["items"], bindparam("old")) > 0)
    | (_SYNC_ERRORS.c.record_id == bindparam("old"))
)
_ERROR_RENAME = (
    update(_SYNC_ERRORS)
    .where(_SYNC_ERRORS.c.id == bindparam("b_id"))
    .values(items=bindparam("b_items", type_=_SYNC_ERRORS.c["items"].type), record_id=bindparam("b_rid"))
)
_STAGED_ANY = select(_STAGED.c.seq).limit(1)
_STAGED_CARRYING = (
    select(_STAGED.c.entry)
    .where(_STAGED.c.seq.in_(select(_STAGED_REFS.c.seq).where(_STAGED_REFS.c.record_id == bindparam("rid"))))
    .order_by(_STAGED.c.seq)
)
_STAGED_DELETE = delete(_STAGED).where(_STAGED.c.seq == bindparam("seq"))
_STAGED_REFS_DELETE = delete(_STAGED_REFS).where(_STAGED_REFS.c.seq == bindparam("seq"))
_SETTING_GET = select(_SETTINGS.c.value).where(_SETTINGS.c.key == bindparam("key"))
_setting_upsert = sqlite_insert(_SETTINGS).values(
    key=bindparam("key", type_=String()), value=bindparam("value", type_=_SETTINGS.c.value.type)
)
_SETTING_UPSERT = _setting_upsert.on_conflict_do_update(
    index_elements=[_SETTINGS.c.key], set_={"value": _setting_upsert.excluded.value}
)

#: A record's net of queued edits: field -> (queue seq, newest value).
Net = dict[str, list[Any]]


class LocalStore:
    """The device's file. Open it again after a crash and everything committed is there."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        url = f"sqlite:///{path}" if path is not None else "sqlite://"
        self.engine = create_engine(url, json_serializer=lambda v: json.dumps(v, sort_keys=True))

        @event.listens_for(self.engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if path is not None:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        Base.metadata.create_all(self.engine)
        self._add_missing_columns()
        self._session: Session | None = None
        #: False only once a read found no staged entry; any staging makes it unknown again.
        self._maybe_staged = True
        #: Settings as read or written (the JSON value, decoded); emptied when a transaction
        #: rolls back, so it never holds what the file does not.
        self._settings: dict[str, Any] = {}
        #: False only once a read found no sync error; adding one makes it unknown again.
        self._maybe_errors = True
        #: The queue's length as last counted (None: not known), and what the open transaction
        #: changed it by (counted in only once that transaction commits).
        self._queue_length: int | None = None
        self._length_delta = 0
        self._index_old_queue()

    def _add_missing_columns(self) -> None:
        """A file written by an older version gains the columns added since (all nullable)."""
        with self.engine.begin() as connection:
            for table in Base.metadata.sorted_tables:
                have = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table.name})")}
                for column in table.columns:
                    if column.name not in have:
                        kind = column.type.compile(dialect=self.engine.dialect)
                        connection.exec_driver_sql(
                            f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"
                        )

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction; nested calls join the outer one."""
        if self._session is not None:
            yield self._session
            return
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                self._session = session
                try:
                    yield session
                finally:
                    self._session = None
        except BaseException:
            self._rolled_back()
            raise
        self._committed()

    def _rolled_back(self) -> None:
        """Forget what this instance holds of the file."""
        self._settings.clear()
        self._queue_length = None
        self._length_delta = 0

    def _committed(self) -> None:
        if self._queue_length is not None:
            self._queue_length += self._length_delta
        self._length_delta = 0

    @contextmanager
    def _query(self) -> Iterator[Session]:
        """A session to read with: inside a transaction its own, outside one a session that
        commits nothing (what it loads stays readable after it closes)."""
        if self._session is not None:
            yield self._session
            return
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _connection(self) -> Iterator[Connection]:
        """A connection for Core statements: the open transaction's (its ORM changes flushed
        first), or, outside one, a short write transaction of its own (no ORM session: the
        statements given it are all it runs)."""
        if self._session is not None:
            self._session.flush()
            yield self._session.connection()
            return
        try:
            with self.engine.begin() as connection:
                yield connection
        except BaseException:
            self._rolled_back()
            raise
        self._committed()

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        """A connection to read from: inside a transaction its own (so it sees what it wrote),
        outside one a pooled connection that commits nothing."""
        if self._session is not None:
            self._session.flush()
            yield self._session.connection()
            return
        with self.engine.connect() as connection:
            yield connection

    def _index_old_queue(self) -> None:
        """A file from before the index tables: index its queue and staged entries once."""
        with self.transaction() as s:
            if s.scalars(select(StagedRef.seq).limit(1)).first() is None:
                for row in s.scalars(select(StagedEntry)):
                    for rid in _part_ids(row.entry):
                        s.add(StagedRef(seq=row.seq, record_id=rid))
            if s.scalars(select(QueueNet.record_id).limit(1)).first() is None:
                nets: dict[str, Net] = {}
                for seq, items in s.execute(select(QueueItem.seq, QueueItem.items).order_by(QueueItem.seq)):
                    _fold_net(nets, seq, items)
                self._write_nets(s.connection(), nets)
            if s.scalars(select(QueueRef.seq).limit(1)).first() is not None:
                return
            for item in s.scalars(select(QueueItem)):
                item.root_object = str(item.items[0].get("object", "")) if item.items else ""
                self._index_item(s, item)

    @staticmethod
    def _index_item(session: Session, item: QueueItem) -> None:
        refs: dict[str, bool] = {}
        for edit in item.items:
            refs[str(edit["id"])] = True
            for value in _values_of(edit):
                if isinstance(value, str) and value.startswith(TEMP_PREFIX):
                    refs.setdefault(value, False)
        for rid, is_item in refs.items():
            session.add(QueueRef(seq=item.seq, record_id=rid, item=is_item))

    # records ------------------------------------------------------------------------------------
    def get(self, record_id: str) -> tuple[str, Record] | None:
        with self._reading() as c:
            row = c.execute(_RECORD_GET, {"rid": record_id}).first()
            return None if row is None else (str(row[0]), dict(row[1]))

    def get_many(self, record_ids: Iterable[str]) -> dict[str, tuple[str, Record]]:
        """Several records at once: ID -> (object, record), for those that exist."""
        ids = list(set(record_ids))
        found: dict[str, tuple[str, Record]] = {}
        with self._query() as s:
            for start in range(0, len(ids), 500):
                rows = s.scalars(select(LocalRecord).where(LocalRecord.id.in_(ids[start : start + 500])))
                found.update({r.id: (r.object, dict(r.data)) for r in rows})
        return found

    def record(self, record_id: str) -> Record | None:
        found = self.get(record_id)
        return None if found is None else found[1]

    def records(self, object_name: str | None = None) -> list[tuple[str, Record]]:
        """Every record (of one object), by ID; read as columns, not ORM objects (a list of
        10,000 is read after every large sync)."""
        with self._query() as s:
            query = select(LocalRecord.object, LocalRecord.data).order_by(LocalRecord.id)
            if object_name is not None:
                query = query.where(LocalRecord.object == object_name)
            return [(str(obj), dict(data)) for obj, data in s.execute(query)]

    def records_after(self, object_name: str, after_id: str, limit: int) -> list[Record]:
        """The next ``limit`` records of an object after ``after_id``, by ID (a page of a long list)."""
        with self._query() as s:
            query = (
                select(LocalRecord.data)
                .where(LocalRecord.object == object_name, LocalRecord.id > after_id)
                .order_by(LocalRecord.id)
                .limit(limit)
            )
            return [dict(data) for data in s.scalars(query)]

    def count_records(self, object_name: str) -> int:
        with self._query() as s:
            query = select(func.count()).select_from(LocalRecord).where(LocalRecord.object == object_name)
            return int(s.scalar(query) or 0)

    def versions(self) -> dict[str, int | None]:
        """Every record's ID and the online version it holds (None: never online, or stale),
        read without decoding the records."""
        with self._query() as s:
            version = func.json_extract(LocalRecord.data, "$._version")
            rows = s.execute(select(LocalRecord.id, version).order_by(LocalRecord.id))
            return {rid: None if v is None else int(v) for rid, v in rows}

    def count(self) -> int:
        with self._query() as s:
            return len(list(s.scalars(select(LocalRecord.id))))

    def put(self, object_name: str, record: Record) -> None:
        """Write a record (one upsert), and index the temporary IDs it refers to."""
        with self._connection() as c:
            c.execute(_RECORD_UPSERT, {"rid": record["id"], "obj": object_name, "data": dict(record)})
            _index_temp_refs(c, record)

    def put_if_here(self, record: Record) -> bool:
        """Write a record this file still holds (one update); one deleted here stays deleted."""
        with self._connection() as c:
            written = c.execute(_RECORD_UPDATE, {"rid": record["id"], "data": dict(record)}).rowcount > 0
            if written:
                _index_temp_refs(c, record)
        return written

    def mark_stale(self, record_id: str) -> None:
        """Forget which online version the local copy is (its edits were not taken online).

        The next version the feed or a sync brings is then merged, whatever its number.
        """
        with self.transaction() as s:
            row = s.get(LocalRecord, record_id)
            if row is not None and "_version" in row.data:
                row.data = {k: v for k, v in row.data.items() if k != "_version"}

    def remove(self, record_id: str) -> None:
        with self._connection() as c:
            c.execute(_RECORD_DELETE, {"rid": record_id})

    def rename(self, old: str, new: str) -> None:
        """Replace a temporary ID by the server's everywhere it is referenced (AS-14).

        Only the records, queue items, nets of queued edits and sync errors that name it are
        read (the index tables say which; a sync error's items are searched as text).
        """
        with self._connection() as c:
            c.execute(_RECORD_RENAME, {"old": old, "new": new})
            c.execute(_TEMP_REFS_MOVE, {"old": old, "new": new})
            referrers = list(c.scalars(_TEMP_REFS_TAKE, {"old": old}))
            if referrers:
                for rid, data in c.execute(_RECORDS_IN, {"ids": referrers}):
                    if old in data.values():
                        renamed = {k: (new if v == old else v) for k, v in data.items()}
                        c.execute(_RECORD_DATA_SET, {"rid": rid, "data": renamed})
            # Only a queue item naming ``old`` can have put it in a net (as a key or a value).
            seqs = list(c.scalars(_QUEUE_REFS_MOVE, {"old": old, "new": new}))
            if seqs:
                edited: set[str] = {old, new}
                for seq, items in c.execute(_QUEUE_ITEMS_IN, {"seqs": seqs}):
                    renamed_items = [_rename_item(i, old, new) for i in items]
                    edited.update(str(i["id"]) for i in renamed_items)
                    c.execute(_QUEUE_ITEMS_SET, {"b_seq": seq, "b_items": renamed_items})
                nets = self._read_nets(c, edited)
                if nets:
                    self._write_nets(c, rename_nets(nets, old, new), gone={old} & set(nets))
            if not self._maybe_errors:
                return
            for error_id, items, record_id in c.execute(_ERRORS_NAMING, {"old": old}):
                c.execute(
                    _ERROR_RENAME,
                    {
                        "b_id": error_id,
                        "b_items": [_rename_item(i, old, new) for i in items],
                        "b_rid": new if record_id == old else record_id,
                    },
                )

    # the net of queued edits ----------------------------------------------------------------------
    @staticmethod
    def _read_nets(c: Connection, record_ids: Iterable[str]) -> dict[str, Net]:
        ids = list(set(record_ids))
        if not ids:
            return {}
        return {str(rid): dict(net) for rid, net in c.execute(_NET_OF, {"ids": ids})}

    @staticmethod
    def _write_nets(c: Connection, nets: dict[str, Net], gone: Iterable[str] = ()) -> None:
        """Write these nets (an empty one is deleted) and delete the rows of ``gone``."""
        drop = [{"rid": rid} for rid in {*gone, *(rid for rid, net in nets.items() if not net)}]
        keep = [{"rid": rid, "net": net} for rid, net in nets.items() if net]
        if drop:
            c.execute(_NET_DELETE, drop)
        if keep:
            c.execute(_NET_UPSERT, keep)

    def queued_nets(self, record_ids: Iterable[str]) -> dict[str, Net]:
        """The net of the queued edits of each of ``record_ids`` that has any: one row each."""
        with self._reading() as c:
            return self._read_nets(c, record_ids)

    # queue --------------------------------------------------------------------------------------
    def enqueue(self, transaction_id: str, items: list[Record], label: str, now: str) -> QueueItem:
        with self.transaction() as s:
            item = QueueItem(
                transaction_id=transaction_id,
                queued_at=now,
                label=label,
                items=items,
                state="queued",
                attempts=0,
                root_object=str(items[0].get("object", "")) if items else "",
            )
            s.add(item)
            s.flush()
            self._length_delta += 1
            self._index_item(s, item)
            nets = self._read_nets(s.connection(), _edited_ids(items))
            _fold_net(nets, item.seq, items)
            self._write_nets(s.connection(), nets)
            return item

    def queue(self) -> list[QueueItem]:
        with self._query() as s:
            return list(s.scalars(select(QueueItem).order_by(QueueItem.seq)))

    def head(self) -> QueueItem | None:
        """The first queue item (a detached copy: change it through the store)."""
        with self._reading() as c:
            row = c.execute(_QUEUE_HEAD).first()
            return None if row is None else QueueItem(**row._asdict())

    def queue_head(self, count: int) -> list[QueueItem]:
        """The first ``count`` queue items (what fits on a screen)."""
        with self._query() as s:
            return list(s.scalars(select(QueueItem).order_by(QueueItem.seq).limit(count)))

    def queue_length(self) -> int:
        """How many items are queued (counted once, then kept as items are queued and leave)."""
        if self._session is None and self._queue_length is not None:
            return self._queue_length
        with self._reading() as c:
            length = int(c.scalar(_QUEUE_LENGTH) or 0)
        if self._session is None:
            self._queue_length = length
        return length

    def queue_summary(self) -> list[tuple[str, str]]:
        """Each queue item's record object and when it was queued, head first (no items read)."""
        with self._query() as s:
            rows = s.execute(select(QueueItem.root_object, QueueItem.queued_at).order_by(QueueItem.seq))
            return [(str(obj or ""), str(at)) for obj, at in rows]

    def _queue_known_empty(self) -> bool:
        return self._session is None and self._queue_length == 0

    def queued_record_ids(self) -> set[str]:
        """Every record a queue item edits (pending uploads, AS-26)."""
        if self._queue_known_empty():
            return set()
        with self._query() as s:
            return set(s.scalars(select(QueueRef.record_id).where(QueueRef.item.is_(True))))

    def queued_transactions(self) -> set[str]:
        if self._queue_known_empty():
            return set()
        with self._query() as s:
            return set(s.scalars(select(QueueItem.transaction_id)))

    def update_queue_item(self, seq: int, **values: Any) -> None:
        with self._connection() as c:
            c.execute(_QUEUE_ITEM_SET, {"b_seq": seq, **values})

    def dequeue(self, seq: int, items: list[Record]) -> dict[str, Net]:
        """Remove the queue's head (``seq``, whose ``items`` the caller holds).

        Returns the nets of queued edits left for the records it edited, as now stored (an
        answer lays them over the server's version without reading them again). The head is
        the oldest edit of each of its records, so a field whose newest value it held has no
        other queued edit left.
        """
        with self._connection() as c:
            if c.execute(_QUEUE_DELETE, {"seq": seq}).rowcount:
                self._length_delta -= 1
            c.execute(_QUEUE_REFS_DELETE, {"seq": seq})
            edited = _edited_ids(items)
            nets = self._read_nets(c, edited)
            changed = {}
            for rid, net in nets.items():
                left = {k: v for k, v in net.items() if v[0] != seq}
                if len(left) != len(net):
                    changed[rid] = left
            self._write_nets(c, changed)
            nets.update(changed)
            return {rid: nets.get(rid, {}) for rid in edited}

    # sync errors --------------------------------------------------------------------------------
    def add_error(self, **values: Any) -> SyncErrorRow:
        self._maybe_errors = True
        with self.transaction() as s:
            row = SyncErrorRow(**values)
            s.add(row)
            s.flush()
            return row

    def errors(self) -> list[SyncErrorRow]:
        if not self._maybe_errors:
            return []
        with self._query() as s:
            found = list(s.scalars(select(SyncErrorRow).order_by(SyncErrorRow.id)))
        if not found and self._session is None:
            self._maybe_errors = False
        return found

    def error(self, error_id: int) -> SyncErrorRow | None:
        with self._query() as s:
            return s.get(SyncErrorRow, error_id)

    def remove_error(self, error_id: int) -> None:
        with self.transaction() as s:
            s.execute(delete(SyncErrorRow).where(SyncErrorRow.id == error_id))

    def request_on_error(self, error_id: int, request: str | None) -> None:
        with self.transaction() as s:
            row = s.get(SyncErrorRow, error_id)
            if row is not None:
                row.requested = request

    # staged feed entries ------------------------------------------------------------------------
    def stage(self, seq: int, part: Record, now: str) -> Record:
        """Stage a feed entry, or add a later part of it; returns the entry as held now."""
        self._maybe_staged = True
        with self.transaction() as s:
            row = s.get(StagedEntry, seq)
            if row is None:
                row = StagedEntry(seq=seq, received_at=now, entry=dict(part))
                s.add(row)
                self._index_staged(s, seq, set(), _part_ids(part))
                return row.entry
            entry = dict(row.entry)
            have = len(entry.get("records", []))
            if part.get("first_record", 0) == have:  # the next part, not a repeat
                entry["records"] = [*entry.get("records", []), *part.get("records", [])]
                entry["deleted"] = part.get("deleted", [])
            self._index_staged(s, seq, _part_ids(row.entry), _part_ids(entry))
            row.entry = entry
            return entry

    @staticmethod
    def _index_staged(s: Session, seq: int, had: set[str], has: set[str]) -> None:
        """Keep the record index of a staged entry equal to the records the entry now carries."""
        for rid in has - had:
            s.add(StagedRef(seq=seq, record_id=rid))
        if had - has:
            s.execute(delete(StagedRef).where(StagedRef.seq == seq, StagedRef.record_id.in_(had - has)))

    def has_staged(self) -> bool:
        """Whether a feed entry is staged; not read again while none can have been staged since
        a read found none (every answer asks)."""
        if not self._maybe_staged:
            return False
        with self._reading() as c:
            found = c.execute(_STAGED_ANY).first() is not None
        if not found and self._session is None:
            self._maybe_staged = False
        return found

    def staged_count(self) -> int:
        with self._query() as s:
            return int(s.scalar(select(func.count()).select_from(StagedEntry)) or 0)

    def staged_after(self, seq: int, limit: int) -> list[StagedEntry]:
        """The next ``limit`` staged entries after ``seq``, oldest first."""
        with self._query() as s:
            query = select(StagedEntry).where(StagedEntry.seq > seq).order_by(StagedEntry.seq).limit(limit)
            return list(s.scalars(query))

    def staged(self) -> list[StagedEntry]:
        with self._query() as s:
            return list(s.scalars(select(StagedEntry).order_by(StagedEntry.seq)))

    def unstage(self, seq: int) -> None:
        with self._connection() as c:
            c.execute(_STAGED_DELETE, {"seq": seq})
            c.execute(_STAGED_REFS_DELETE, {"seq": seq})

    def staged_carrying(self, record_id: str) -> list[Record]:
        """The staged entries that carry ``record_id`` (or its deletion), oldest first."""
        if not self._maybe_staged:
            return []
        with self._reading() as c:
            return [dict(entry) for entry in c.scalars(_STAGED_CARRYING, {"rid": record_id})]

    def staged_record_ids(self) -> set[str]:
        """Every record a staged entry carries (their sync state is "update waiting", AS-30)."""
        if not self._maybe_staged:
            return set()
        with self._query() as s:
            return set(s.scalars(select(StagedRef.record_id)))

    # notices and settings ------------------------------------------------------------------------
    def notify(self, text: str, now: str, kind: str = "message") -> Notice:
        with self.transaction() as s:
            notice = Notice(time=now, text=text, kind=kind)
            s.add(notice)
            s.flush()
            return notice

    def notices(self) -> list[Notice]:
        with self._query() as s:
            return list(s.scalars(select(Notice).order_by(Notice.id)))

    def setting(self, key: str, default: Any = None) -> Any:
        if key not in self._settings:
            with self._reading() as c:
                row = c.execute(_SETTING_GET, {"key": key}).first()
            self._settings[key] = _ABSENT if row is None else row[0]
        held = self._settings[key]
        return default if held is _ABSENT else _copied(held)

    def set_setting(self, key: str, value: Any) -> None:
        held = self._settings.get(key, _ABSENT)
        if type(held) is type(value) and held == value:
            return  # the file holds it already (a setting not read yet is written)
        with self._connection() as c:
            c.execute(_SETTING_UPSERT, {"key": key, "value": value})
        self._settings[key] = _copied(value)

    def next_number(self, key: str) -> int:
        with self.transaction():
            value = int(self.setting(key, 0)) + 1
            self.set_setting(key, value)
            return value


def _values_of(item: Record) -> Iterator[Any]:
    """Every value an upload item carries (its fields, and its changes' old and new values)."""
    yield from (item.get("fields") or {}).values()
    for change in (item.get("changes") or {}).values():
        if isinstance(change, dict):
            yield from change.values()


def _rename_item(item: Record, old: str, new: str) -> Record:
    item = dict(item)
    if item.get("id") == old:
        item["id"] = new
    for key in ("fields",):
        if isinstance(item.get(key), dict):
            item[key] = {k: (new if v == old else v) for k, v in item[key].items()}
    if isinstance(item.get("changes"), dict):
        item["changes"] = {
            k: {kk: (new if vv == old else vv) for kk, vv in ch.items()} for k, ch in item["changes"].items()
        }
    return item


def _edited_ids(items: Iterable[Record]) -> list[str]:
    """The records these upload items edit, each once, in order."""
    return list(dict.fromkeys(str(item["id"]) for item in items))


def _fold_net(nets: dict[str, Net], seq: int, items: Iterable[Record]) -> None:
    """Lay the new values of queue item ``seq`` over the nets of its records (in place).

    As :func:`emulator.engine.changes.apply_items` lays them over a record: an update's new
    values and a create's fields; a delete sets nothing. The ID is never a value.
    """
    for item in items:
        if item.get("op") == "update":
            values = {k: ch["new"] for k, ch in (item.get("changes") or {}).items()}
        elif item.get("op") == "create":
            values = dict(item.get("fields") or {})
        else:
            continue
        net = nets.setdefault(str(item["id"]), {})
        net.update({k: [seq, v] for k, v in values.items() if k != "id"})


def rename_nets(nets: dict[str, Net], old: str, new: str) -> dict[str, Net]:
    """The nets with the temporary ID ``old`` replaced by ``new``: as a record's key (merged
    with what ``new`` holds, the newer edit of each field winning) and as a value."""
    out: dict[str, Net] = {}
    for rid, net in sorted(nets.items(), key=lambda kv: kv[0] == old):
        key = new if rid == old else rid
        merged = out.setdefault(key, {})
        for name, (seq, value) in net.items():
            if name not in merged or merged[name][0] < seq:
                merged[name] = [seq, new if value == old else value]
    return out


def _index_temp_refs(connection: Connection, record: Record) -> None:
    """Note the temporary IDs a record refers to, for their rename (AS-14)."""
    temps = {v for k, v in record.items() if k != "id" and isinstance(v, str) and v.startswith(TEMP_PREFIX)}
    if temps:
        connection.execute(_TEMP_REF_ADD, [{"temp": t, "rid": record["id"]} for t in temps])


def lay_net(record: Record, *nets: Net) -> Record:
    """``record`` with the newest value of every field the nets hold laid over it."""
    newest: dict[str, list[Any]] = {}
    for net in nets:
        for name, entry in net.items():
            if name not in newest or newest[name][0] < entry[0]:
                newest[name] = entry
    return {**record, **{name: value for name, (_seq, value) in newest.items()}}


#: A setting the file does not hold (as cached).
_ABSENT = object()


def _copied(value: Any) -> Any:
    """A setting's value the caller may change without changing the store's copy."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)
