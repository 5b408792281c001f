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
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, create_engine, delete, event, func, select, update
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
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            self._session = session
            try:
                yield session
            finally:
                self._session = None

    def _index_old_queue(self) -> None:
        """A file from before the index tables: index its queue and staged entries once."""
        with self.transaction() as s:
            if s.scalars(select(StagedRef.seq).limit(1)).first() is None:
                for row in s.scalars(select(StagedEntry)):
                    for rid in _part_ids(row.entry):
                        s.add(StagedRef(seq=row.seq, record_id=rid))
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
        with self.transaction() as s:
            row = s.get(LocalRecord, record_id)
            return None if row is None else (row.object, dict(row.data))

    def get_many(self, record_ids: Iterable[str]) -> dict[str, tuple[str, Record]]:
        """Several records at once: ID -> (object, record), for those that exist."""
        ids = list(set(record_ids))
        found: dict[str, tuple[str, Record]] = {}
        with self.transaction() as s:
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
        with self.transaction() as s:
            query = select(LocalRecord.object, LocalRecord.data).order_by(LocalRecord.id)
            if object_name is not None:
                query = query.where(LocalRecord.object == object_name)
            return [(str(obj), dict(data)) for obj, data in s.execute(query)]

    def records_after(self, object_name: str, after_id: str, limit: int) -> list[Record]:
        """The next ``limit`` records of an object after ``after_id``, by ID (a page of a long list)."""
        with self.transaction() as s:
            query = (
                select(LocalRecord.data)
                .where(LocalRecord.object == object_name, LocalRecord.id > after_id)
                .order_by(LocalRecord.id)
                .limit(limit)
            )
            return [dict(data) for data in s.scalars(query)]

    def count_records(self, object_name: str) -> int:
        with self.transaction() as s:
            query = select(func.count()).select_from(LocalRecord).where(LocalRecord.object == object_name)
            return int(s.scalar(query) or 0)

    def versions(self) -> dict[str, int | None]:
        """Every record's ID and the online version it holds (None: never online, or stale),
        read without decoding the records."""
        with self.transaction() as s:
            version = func.json_extract(LocalRecord.data, "$._version")
            rows = s.execute(select(LocalRecord.id, version).order_by(LocalRecord.id))
            return {rid: None if v is None else int(v) for rid, v in rows}

    def count(self) -> int:
        with self.transaction() as s:
            return len(list(s.scalars(select(LocalRecord.id))))

    def put(self, object_name: str, record: Record) -> None:
        with self.transaction() as s:
            row = s.get(LocalRecord, record["id"])
            if row is None:
                s.add(LocalRecord(id=record["id"], object=object_name, data=dict(record)))
            else:
                row.object = object_name
                row.data = dict(record)
            temps = {
                v for k, v in record.items() if k != "id" and isinstance(v, str) and v.startswith(TEMP_PREFIX)
            }
            if temps:
                s.execute(
                    sqlite_insert(TempRef)
                    .values([{"temp_id": t, "record_id": record["id"]} for t in temps])
                    .on_conflict_do_nothing()
                )

    def mark_stale(self, record_id: str) -> None:
        """Forget which online version the local copy is (its edits were not taken online).

        The next version the feed or a sync brings is then merged, whatever its number.
        """
        with self.transaction() as s:
            row = s.get(LocalRecord, record_id)
            if row is not None and "_version" in row.data:
                row.data = {k: v for k, v in row.data.items() if k != "_version"}

    def remove(self, record_id: str) -> None:
        with self.transaction() as s:
            s.execute(delete(LocalRecord).where(LocalRecord.id == record_id))

    def rename(self, old: str, new: str) -> None:
        """Replace a temporary ID by the server's everywhere it is referenced (AS-14).

        Only the records and queue items the index tables name are read.
        """
        with self.transaction() as s:
            row = s.get(LocalRecord, old)
            if row is not None:
                data = dict(row.data)
                data["id"] = new
                s.delete(row)
                s.flush()
                s.add(LocalRecord(id=new, object=row.object, data=data))
            s.execute(update(TempRef).where(TempRef.record_id == old).values(record_id=new))
            referrers = list(s.scalars(select(TempRef.record_id).where(TempRef.temp_id == old)))
            for other in s.scalars(select(LocalRecord).where(LocalRecord.id.in_(referrers))):
                if old in other.data.values():
                    other.data = {k: (new if v == old else v) for k, v in other.data.items()}
            s.execute(delete(TempRef).where(TempRef.temp_id == old))
            seqs = list(s.scalars(select(QueueRef.seq).where(QueueRef.record_id == old)))
            for item in s.scalars(select(QueueItem).where(QueueItem.seq.in_(seqs))):
                item.items = [_rename_item(i, old, new) for i in item.items]
            s.execute(update(QueueRef).where(QueueRef.record_id == old).values(record_id=new))
            for error in s.scalars(select(SyncErrorRow)):
                error.items = [_rename_item(i, old, new) for i in error.items]
                if error.record_id == old:
                    error.record_id = new

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
            self._index_item(s, item)
            return item

    def queue(self) -> list[QueueItem]:
        with self.transaction() as s:
            return list(s.scalars(select(QueueItem).order_by(QueueItem.seq)))

    def head(self) -> QueueItem | None:
        with self.transaction() as s:
            return s.scalars(select(QueueItem).order_by(QueueItem.seq).limit(1)).first()

    def queue_head(self, count: int) -> list[QueueItem]:
        """The first ``count`` queue items (what fits on a screen)."""
        with self.transaction() as s:
            return list(s.scalars(select(QueueItem).order_by(QueueItem.seq).limit(count)))

    def queue_length(self) -> int:
        with self.transaction() as s:
            return int(s.scalar(select(func.count()).select_from(QueueItem)) or 0)

    def queue_summary(self) -> list[tuple[str, str]]:
        """Each queue item's record object and when it was queued, head first (no items read)."""
        with self.transaction() as s:
            rows = s.execute(select(QueueItem.root_object, QueueItem.queued_at).order_by(QueueItem.seq))
            return [(str(obj or ""), str(at)) for obj, at in rows]

    def queued_record_ids(self) -> set[str]:
        """Every record a queue item edits (pending uploads, AS-26)."""
        with self.transaction() as s:
            return set(s.scalars(select(QueueRef.record_id).where(QueueRef.item.is_(True))))

    def queued_transactions(self) -> set[str]:
        with self.transaction() as s:
            return set(s.scalars(select(QueueItem.transaction_id)))

    def queued_edits_of(self, record_ids: Iterable[str]) -> list[Record]:
        """The edits (items) of the queue items that edit any of ``record_ids``, head first.

        Only the items column is read (no ORM objects): an answer re-applies every later edit of
        its records, and a long queue of edits to a few accounts makes that many rows.
        """
        ids = list(record_ids)
        if not ids:
            return []
        with self.transaction() as s:
            seqs = select(QueueRef.seq).where(QueueRef.record_id.in_(ids), QueueRef.item.is_(True))
            rows = s.execute(select(QueueItem.items).where(QueueItem.seq.in_(seqs)).order_by(QueueItem.seq))
            return [item for (items,) in rows for item in items]

    def update_queue_item(self, seq: int, **values: Any) -> None:
        with self.transaction() as s:
            item = s.get(QueueItem, seq)
            if item is not None:
                for key, value in values.items():
                    setattr(item, key, value)

    def dequeue(self, seq: int) -> None:
        with self.transaction() as s:
            s.execute(delete(QueueItem).where(QueueItem.seq == seq))
            s.execute(delete(QueueRef).where(QueueRef.seq == seq))

    # sync errors --------------------------------------------------------------------------------
    def add_error(self, **values: Any) -> SyncErrorRow:
        with self.transaction() as s:
            row = SyncErrorRow(**values)
            s.add(row)
            s.flush()
            return row

    def errors(self) -> list[SyncErrorRow]:
        with self.transaction() as s:
            return list(s.scalars(select(SyncErrorRow).order_by(SyncErrorRow.id)))

    def error(self, error_id: int) -> SyncErrorRow | None:
        with self.transaction() as s:
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
        with self.transaction() as s:
            return s.scalars(select(StagedEntry.seq).limit(1)).first() is not None

    def staged_count(self) -> int:
        with self.transaction() as s:
            return int(s.scalar(select(func.count()).select_from(StagedEntry)) or 0)

    def staged_after(self, seq: int, limit: int) -> list[StagedEntry]:
        """The next ``limit`` staged entries after ``seq``, oldest first."""
        with self.transaction() as s:
            query = select(StagedEntry).where(StagedEntry.seq > seq).order_by(StagedEntry.seq).limit(limit)
            return list(s.scalars(query))

    def staged(self) -> list[StagedEntry]:
        with self.transaction() as s:
            return list(s.scalars(select(StagedEntry).order_by(StagedEntry.seq)))

    def unstage(self, seq: int) -> None:
        with self.transaction() as s:
            s.execute(delete(StagedEntry).where(StagedEntry.seq == seq))
            s.execute(delete(StagedRef).where(StagedRef.seq == seq))

    def staged_record_ids(self) -> set[str]:
        """Every record a staged entry carries (their sync state is "update waiting", AS-30)."""
        with self.transaction() as s:
            return set(s.scalars(select(StagedRef.record_id)))

    # notices and settings ------------------------------------------------------------------------
    def notify(self, text: str, now: str, kind: str = "message") -> Notice:
        with self.transaction() as s:
            notice = Notice(time=now, text=text, kind=kind)
            s.add(notice)
            s.flush()
            return notice

    def notices(self) -> list[Notice]:
        with self.transaction() as s:
            return list(s.scalars(select(Notice).order_by(Notice.id)))

    def setting(self, key: str, default: Any = None) -> Any:
        with self.transaction() as s:
            row = s.get(Setting, key)
            return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        with self.transaction() as s:
            row = s.get(Setting, key)
            if row is None:
                s.add(Setting(key=key, value=value))
            else:
                row.value = value

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
