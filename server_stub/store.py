"""The online database: SQLAlchemy tables and the small repository the save logic uses.

Records of every object live in one table as JSON documents (the schema says what fields
mean); feed entries, idempotency keys, counters, settings, the emulated clock and the devices
that have talked to the server have tables of their own. Timestamps are stored as ISO 8601 text
with a ``Z`` suffix, which sorts in time order on any database. One :class:`Store` wraps one
SQLAlchemy session, i.e. one database transaction.

Records are found by their references without reading the table: for every (object, reference
field) pair the save logic follows from a parent to its children (cascades, AS-11 duplicates,
roll-ups), :func:`create_tables` creates a partial index on the field's value inside the JSON
document (``json_extract`` on SQLite, ``->>`` on PostgreSQL) over the object's live records, and
:meth:`Store.children` and :meth:`Store.rollups` query it, so a save costs the same whatever the
size of the child table. Object and field names go into that SQL as literals (the planner
matches an index by its expression), so only names like ``call2__v`` are accepted.

Everything the server knows lives here, none of it in a process: several server processes on one
PostgreSQL database answer any request alike. Transactions that write online data take one
database-wide write lock first (:meth:`Store.lock_writes`), so they run one after another: the
save logic reads what it decides on and writes it with nobody in between, and every number it
draws (IDs, auto-numbers, the change sequence, feed sequence numbers) is committed in the order
it was drawn, so a reader never sees number 12 before number 11.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    CursorResult,
    Engine,
    Executable,
    Float,
    Index,
    Integer,
    Row,
    String,
    TextClause,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateIndex

Record = dict[str, Any]
#: Every stored record carries the server's change number it was last written at, so devices
#: can tell a newer version from an older one even within the same emulated second.
VERSION_FIELD = "_version"


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token: Mapped[str] = mapped_column(String(200), unique=True)
    territories: Mapped[list[str]] = mapped_column(JSON)


class RecordRow(Base):
    __tablename__ = "records"
    __table_args__ = (
        # an incremental sync reads what changed after its cursor in change order, a page at a
        # time (the change number, then the ID, is the page's position)
        Index("ix_records_change_seq_id", "change_seq", "id"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    object: Mapped[str] = mapped_column(String(64), index=True)
    owner: Mapped[str | None] = mapped_column(String(64), index=True)
    modified_at: Mapped[str] = mapped_column(String(32), index=True)
    change_seq: Mapped[int] = mapped_column(Integer, index=True, default=0)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[Record] = mapped_column(JSON)


class CounterRow(Base):
    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


_COUNTERS = Base.metadata.tables["counters"]


class FeedEntryRow(Base):
    __tablename__ = "feed_entries"
    __table_args__ = (
        # a user's entries after a cursor, and the user's oldest and expired entries, without
        # reading the rest of their seven days of entries (every query of the feed is one user's)
        Index("ix_feed_entries_user_seq", "user_id", "seq"),
        Index("ix_feed_entries_user_added", "user_id", "added_at"),
    )
    #: Drawn from the ``feed_seq`` counter under the write lock: never reused, committed in order.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[str] = mapped_column(String(32))
    transaction_id: Mapped[str] = mapped_column(String(128))
    origin_device: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(32))
    payload: Mapped[Record] = mapped_column(JSON)


class FeedStateRow(Base):
    __tablename__ = "feed_state"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purged_through: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyRow(Base):
    """A processed upload: its key is the user's own (Stripe's semantics), with its body's digest."""

    __tablename__ = "idempotency_keys"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[str] = mapped_column(String(32))
    response: Mapped[Record] = mapped_column(JSON)


class DeviceRow(Base):
    """A device that has talked to the server (the room), as it last reported itself."""

    __tablename__ = "devices"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str | None] = mapped_column(String(64), nullable=True)
    queue_length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_seen_at: Mapped[str] = mapped_column(String(32))
    last_upload_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_poll_at: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_sync_at: Mapped[str | None] = mapped_column(String(32), nullable=True)


class ClockRow(Base):
    """The standalone server's emulated clock: where it stood at a wall-clock moment, and whether
    it runs with real time from there (see :mod:`server_stub.clock`)."""

    __tablename__ = "server_clock"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    emulated_at: Mapped[str] = mapped_column(String(40))
    wall_at: Mapped[float] = mapped_column(Float)
    running: Mapped[bool] = mapped_column(Boolean)


class SettingRow(Base):
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class DatasetRow(Base):
    __tablename__ = "datasets"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[str] = mapped_column(String(32))
    change_seq: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[list[Record]] = mapped_column(JSON)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, full fsync and a shared in-memory pool."""
    if url.startswith("sqlite"):
        memory = url in {"sqlite://", "sqlite:///:memory:"}
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

    else:
        # No pre-ping: it would cost a round trip on every checkout, twice a request. A connection
        # the database dropped fails one request (a 5xx a device retries) and is replaced.
        engine = create_engine(url, pool_size=10, max_overflow=10)
    return engine


def create_tables(engine: Engine, references: Iterable[tuple[str, str]] = ()) -> None:
    """Create the tables and indexes a database lacks (one process does this before any other
    starts), with a reference index for each (child object, reference field) pair given.

    A database made by an older version gets the indexes it lacks, built from what it holds.
    """
    pairs = sorted(set(references))
    if len({reference_index_name(*pair) for pair in pairs}) != len(pairs):
        raise ValueError("two reference pairs give the same index name")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            for index in table.indexes:
                connection.execute(CreateIndex(index, if_not_exists=True))
        for object_name, field in pairs:
            connection.exec_driver_sql(reference_index_ddl(connection.dialect.name, object_name, field))


#: The names that may be written into SQL as literals: an object's or a field's.
SQL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def _sql_name(name: str) -> str:
    if not SQL_NAME.match(name):
        raise ValueError(f"{name!r} is not an object or field name")
    return name


def _field_text(dialect: str, field: str, column: str = "records.data") -> str:
    """SQL for the value of a top-level field of a record's JSON document, as text or a number."""
    if dialect == "postgresql":
        return f"({column} ->> '{_sql_name(field)}')"
    return f"json_extract({column}, '$.{_sql_name(field)}')"


def _live_of(dialect: str, object_name: str, table: str = "records.") -> str:
    """SQL for "a live record of the object", word for word as the reference indexes hold it."""
    deleted = f"NOT {table}deleted" if dialect == "postgresql" else f"{table}deleted = 0"
    return f"{table}object = '{_sql_name(object_name)}' AND {deleted}"


def reference_index_name(object_name: str, field: str) -> str:
    """The name of the reference index of a pair (at most PostgreSQL's 63 characters)."""
    name = f"ix_ref_{_sql_name(object_name)}_{_sql_name(field)}"
    if len(name) <= 63:  # PostgreSQL's limit
        return name
    digest = hashlib.sha1(f"{object_name}.{field}".encode()).hexdigest()[:10]
    return f"{name[:52]}_{digest}"


def reference_index_ddl(dialect: str, object_name: str, field: str) -> str:
    """The partial index of a reference field's values over an object's live records."""
    return (
        f"CREATE INDEX IF NOT EXISTS {reference_index_name(object_name, field)} "
        f"ON records ({_field_text(dialect, field, 'data')}) WHERE {_live_of(dialect, object_name, '')}"
    )


#: The key of PostgreSQL's advisory lock that serialises writing transactions.
WRITE_LOCK_KEY = 0x4155544F  # "AUTO"


_Condition = ColumnElement[bool] | TextClause


def _number(value: object) -> int | float:
    """An aggregate as a JSON number: None (no rows) is 0, a whole NUMERIC an int."""
    if value is None:
        return 0
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, int | float):
        return value
    raise TypeError(f"not a number: {value!r}")


class Store:
    """Read and write online data inside one database transaction.

    The hot paths (records, counters, settings, idempotency keys, the clock, feeds, the room) run
    statements built once at import (the constants at the end of this module) on the
    transaction's connection, not through the ORM: an upload is a dozen statements, and
    building, caching and flushing ORM objects for each cost several times the database's own
    work. Users and data sets, read rarely, stay ORM objects.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self._locked = False
        #: Records read or written in this transaction (None: known not to exist), so a record
        #: read again (an account a save refers to, checks, triggers and rolls up) costs nothing.
        self._rows: dict[str, _Stored | None] = {}
        #: Settings read or written in this transaction (:data:`_ABSENT` if not stored).
        self._settings: dict[str, Any] = {}

    def _run(self, statement: Executable, params: dict[str, Any] | None = None) -> CursorResult[Any]:
        return self.connection.execute(statement, params)

    def lock_writes(self) -> None:
        """Take the database-wide write lock until this transaction ends (see the module's doc).

        On PostgreSQL an advisory transaction lock; SQLite has one writer at a time anyway, and
        the server (one process on SQLite) runs each request's database work to its end.
        """
        if self._locked:
            return
        if self.dialect == "postgresql":
            self._run(_LOCK_WRITES, {"key": WRITE_LOCK_KEY})
        self._locked = True

    def relax_durability(self) -> None:
        """Let this transaction commit without waiting for its WAL flush (PostgreSQL only).

        For transactions whose only write is bookkeeping a crash may lose (a device's last
        poll time); the data itself is never written this way.
        """
        if self.dialect == "postgresql" and not self._locked:
            self._run(_RELAX_DURABILITY)

    # users -------------------------------------------------------------------------------------
    def user_by_token(self, token: str) -> UserRow | None:
        return self.session.scalars(select(UserRow).where(UserRow.token == token)).first()

    def user(self, user_id: str) -> UserRow | None:
        return self.session.get(UserRow, user_id)

    def users(self) -> list[UserRow]:
        return list(self.session.scalars(select(UserRow).order_by(UserRow.id)))

    # records -----------------------------------------------------------------------------------
    def _row(self, record_id: str) -> _Stored | None:
        if record_id in self._rows:
            return self._rows[record_id]
        found = self._run(_SELECT_RECORD, {"b_id": record_id}).first()
        row = None if found is None else _Stored(found.object, bool(found.deleted), found.data)
        self._rows[record_id] = row
        return row

    def get(self, object_name: str, record_id: str) -> Record | None:
        """The live online record, or None if absent, deleted or of another object."""
        row = self._row(record_id)
        if row is None or row.deleted or row.object != object_name:
            return None
        return dict(row.data)

    def deleted(self, object_name: str, record_id: str) -> Record | None:
        """The last version of a record of ``object_name`` that was deleted online, or None."""
        row = self._row(record_id)
        if row is None or not row.deleted or row.object != object_name:
            return None
        return dict(row.data)

    def get_any(self, record_id: str) -> tuple[str, Record] | None:
        row = self._row(record_id)
        if row is None or row.deleted:
            return None
        return row.object, dict(row.data)

    def put(self, object_name: str, record: Record, *, new: bool = False) -> None:
        """Insert or replace a record (its ``id`` field is the key).

        ``new``: the record was just given its ID, so it is inserted without looking for it
        (a record of that ID already stored would fail the transaction, not be replaced).
        """
        change = self.next_change()
        record[VERSION_FIELD] = change
        data = dict(record)
        values = {
            "owner": record.get("ownerid__v"),
            "modified_at": record["modified_date__v"],
            "change_seq": change,
            "deleted": False,
            "data": data,
        }
        record_id = record["id"]
        if new or self._row(record_id) is None:
            self._run(_INSERT_RECORD, {"id": record_id, "object": object_name, **values})
        else:
            self._run(_UPDATE_RECORD, {"b_id": record_id, "object": object_name, **values})
        self._rows[record_id] = _Stored(object_name, False, data)

    def delete(self, record_id: str, modified_at: str) -> None:
        change = self.next_change()
        row = self._row(record_id)
        if row is not None:
            self._run(_DELETE_RECORD, {"b_id": record_id, "modified_at": modified_at, "change_seq": change})
            self._rows[record_id] = _Stored(row.object, True, row.data)

    def records(self, object_name: str | None = None, *, deleted: bool = False) -> list[StoredRow]:
        query = select(_RECORDS).where(_RECORDS.c.deleted == deleted).order_by(_RECORDS.c.id)
        if object_name is not None:
            query = query.where(_RECORDS.c.object == object_name)
        return list(self._run(query).all())

    def records_page(self, object_name: str | None, offset: int, limit: int) -> tuple[list[StoredRow], int]:
        """One page of :meth:`records` (by ID) and how many there are in all, without the rest."""
        where: list[ColumnElement[bool]] = [_RECORDS.c.deleted.is_(False)]
        if object_name is not None:
            where.append(_RECORDS.c.object == object_name)
        total = self._run(select(func.count()).select_from(_RECORDS).where(*where)).scalar() or 0
        page = select(_RECORDS).where(*where).order_by(_RECORDS.c.id).offset(offset).limit(limit)
        return list(self._run(page).all()), int(total)

    def changed_page(self, after_seq: int, after_id: str | None, upto: int, limit: int) -> list[StoredRow]:
        """Live records changed after a position and at or before change ``upto``, at most
        ``limit``, in change order (change number, then ID): one range of the change index.

        The position is the change number ``after_seq`` with, when the page before stopped inside
        it, the ID ``after_id`` it stopped at (None: everything of ``after_seq`` was read).
        """
        columns = _RECORDS.c
        if after_id is None:
            after: ColumnElement[bool] = columns.change_seq > after_seq
        else:
            after = tuple_(columns.change_seq, columns.id) > tuple_(literal(after_seq), literal(after_id))
        query = (
            select(_RECORDS)
            .where(after, columns.change_seq <= upto, columns.deleted.is_(False))
            .order_by(columns.change_seq, columns.id)
            .limit(limit)
        )
        return list(self._run(query).all())

    def live_page(self, after_id: str, limit: int) -> list[StoredRow]:
        """Live records whose ID sorts after ``after_id``, by ID, at most ``limit``."""
        query = (
            select(_RECORDS)
            .where(_RECORDS.c.id > after_id, _RECORDS.c.deleted.is_(False))
            .order_by(_RECORDS.c.id)
            .limit(limit)
        )
        return list(self._run(query).all())

    def _children_of(self, child_object: str, via_field: str, parent_id: str) -> list[_Condition]:
        """The conditions of :meth:`children`, as the reference index of the pair matches them."""
        return [
            literal_column(_field_text(self.dialect, via_field)) == parent_id,
            text(_live_of(self.dialect, child_object)),
        ]

    def children(self, child_object: str, via_field: str, parent_id: str) -> list[Record]:
        """Live records of ``child_object`` whose ``via_field`` points at ``parent_id``, by ID.

        One query on the pair's reference index (see :func:`create_tables`): only the children
        are read, however many other records the object has.
        """
        query = (
            select(_RECORDS.c.id, _RECORDS.c.data)
            .where(*self._children_of(child_object, via_field, parent_id))
            .order_by(_RECORDS.c.id)
        )
        return [dict(row.data) for row in self._run(query)]

    def rollups(
        self, child_object: str, via_field: str, parent_id: str, fields: Sequence[str | None]
    ) -> list[int | float]:
        """Roll-ups over the live children of ``parent_id`` (as :meth:`children` finds them), in
        one query: for each of ``fields`` the count of children (None) or the sum of that number
        field, a missing value counting 0. A sum of whole numbers is an int, as in Python."""
        columns: list[ColumnElement[Any]] = []
        for field in fields:
            if field is None:
                columns.append(func.count())
            elif self.dialect == "postgresql":  # NUMERIC keeps 5 and 5.0 apart, as JSON does
                columns.append(
                    func.sum(literal_column(f"CAST({_field_text(self.dialect, field)} AS NUMERIC)"))
                )
            else:
                columns.append(func.sum(literal_column(_field_text(self.dialect, field))))
        query = (
            select(*columns)
            .select_from(_RECORDS)
            .where(*self._children_of(child_object, via_field, parent_id))
        )
        return [_number(value) for value in self._run(query).one()]

    # counters ----------------------------------------------------------------------------------
    # A number is drawn by one UPDATE ... RETURNING (the row stays locked to the end of the
    # transaction).
    def _draw(self, name: str) -> int | None:
        """The counter's next number, or None if it does not exist yet."""
        value = self._run(_DRAW, {"counter": name}).scalar()
        return None if value is None else int(value)

    def _counter(self, name: str) -> int | None:
        value = self._run(_READ_COUNTER, {"counter": name}).scalar()
        return None if value is None else int(value)

    def next_number(self, name: str) -> int:
        value = self._draw(name)
        if value is None:
            value = 1
            self._run(_INSERT_COUNTER, {"name": name, "value": value})
        return value

    def next_change(self) -> int:
        """The next number of the online change sequence incremental sync reads from."""
        return self.next_number("change_seq")

    def last_change(self) -> int:
        return self._counter("change_seq") or 0

    # settings ----------------------------------------------------------------------------------
    def load_settings(self, keys: Iterable[str]) -> None:
        """Read several settings in one statement (the ones a request is about to ask for)."""
        wanted = [key for key in keys if key not in self._settings]
        if not wanted:
            return
        found: dict[str, Any] = {row.key: row.value for row in self._run(_SELECT_SETTINGS, {"keys": wanted})}
        for key in wanted:
            self._settings[key] = found.get(key, _ABSENT)

    def setting(self, key: str, default: Any) -> Any:
        self.load_settings([key])
        value = self._settings[key]
        return default if value is _ABSENT else value

    def set_setting(self, key: str, value: Any) -> None:
        self.load_settings([key])
        statement = _INSERT_SETTING if self._settings[key] is _ABSENT else _UPDATE_SETTING
        self._run(statement, {"b_key": key, "key": key, "value": value})
        self._settings[key] = value

    def next_feed_seq(self) -> int:
        """The next feed sequence number; a database from before the counter continues after
        the highest number it ever used."""
        value = self._draw("feed_seq")
        if value is None:
            highest = max(
                self._run(select(func.max(_FEED.c.seq))).scalar() or 0,
                self._run(select(func.max(_FEED_STATE.c.purged_through))).scalar() or 0,
            )
            value = int(highest) + 1
            self._run(_INSERT_COUNTER, {"name": "feed_seq", "value": value})
        return value

    def last_feed_seq(self) -> int:
        value = self._counter("feed_seq")
        if value is not None:
            return value
        return int(self._run(select(func.max(_FEED.c.seq))).scalar() or 0)

    # feeds -------------------------------------------------------------------------------------
    def feed_position(self, user_id: str) -> tuple[int, int, str | None]:
        """In one statement: the highest feed sequence number ever used (on any feed), the highest
        purged from ``user_id``'s feed, and when its oldest entry was added (None: empty)."""
        latest, purged, oldest = tuple[Any, ...](self._run(_FEED_POSITION, {"user_id": user_id}).one())
        return int(latest or 0), int(purged or 0), oldest

    def feed_entries(self, user_id: str, after: int, limit: int) -> list[StoredRow]:
        """``user_id``'s entries after sequence number ``after``, oldest first, at most ``limit``."""
        return list(self._run(_FEED_AFTER, {"user_id": user_id, "after": after, "limit": limit}).all())

    def add_feed_entry(self, **values: Any) -> None:
        """Insert one feed entry (the columns of ``feed_entries``)."""
        self._run(_INSERT_FEED_ENTRY, values)

    def purge_feed(self, user_id: str, added_through: str) -> int:
        """Remove ``user_id``'s entries added at or before ``added_through`` and remember the
        highest sequence number removed; return how many went. Takes the write lock."""
        newest = self._run(_NEWEST_ADDED_THROUGH, {"user_id": user_id, "cutoff": added_through}).scalar()
        if newest is None:
            return 0
        self.lock_writes()
        removed = self._run(_PURGE_FEED, {"user_id": user_id, "through": newest}).rowcount
        purged = self._run(_SELECT_PURGED, {"user_id": user_id}).scalar()
        if purged is None:
            self._run(_INSERT_FEED_STATE, {"user_id": user_id, "purged_through": newest})
        elif purged < newest:
            self._run(_UPDATE_FEED_STATE, {"b_user_id": user_id, "purged_through": newest})
        return int(removed or 0)

    # idempotency keys ---------------------------------------------------------------------------
    def processed(self, user_id: str, transaction_id: str) -> StoredRow | None:
        """The processed upload under this key (``digest``, ``response``), or None."""
        return self._run(_SELECT_PROCESSED, {"user_id": user_id, "transaction_id": transaction_id}).first()

    def remember(self, user_id: str, transaction_id: str, digest: str, at: str, response: Record) -> None:
        values = {
            "user_id": user_id,
            "transaction_id": transaction_id,
            "digest": digest,
            "processed_at": at,
            "response": response,
        }
        self._run(_INSERT_PROCESSED, values)

    def processed_count(self) -> int:
        return int(self._run(select(func.count()).select_from(_PROCESSED)).scalar() or 0)

    # the room -----------------------------------------------------------------------------------
    def report_device(self, user_id: str, device_id: str, at: str, **values: Any) -> None:
        """Remember that a device talked to the server at ``at`` (an upsert, no lock needed).

        ``values`` are the columns this request tells (model, queue_length, last_upload_at ...);
        None values are left as they were.
        """
        unknown = set(values) - set(_DEVICE_FACTS)
        if unknown:
            raise ValueError(f"not a device column: {sorted(unknown)}")
        row: dict[str, Any] = {"user_id": user_id, "device_id": device_id, "last_seen_at": at}
        row.update({name: values.get(name) for name in _DEVICE_FACTS})
        self._run(_report_device_statement(self.dialect), row)

    def devices(self) -> list[StoredRow]:
        query = select(_DEVICES).order_by(_DEVICES.c.user_id, _DEVICES.c.device_id)
        return list(self._run(query).all())

    # the clock ----------------------------------------------------------------------------------
    def clock(self) -> StoredRow | None:
        """The stored clock (``emulated_at``, ``wall_at``, ``running``), or None."""
        return self._run(_SELECT_CLOCK).first()

    def set_clock(self, emulated_at: str, wall_at: float, running: bool) -> None:
        values = {"emulated_at": emulated_at, "wall_at": wall_at, "running": running}
        if self._run(_UPDATE_CLOCK, values).rowcount == 0:
            self._run(_INSERT_CLOCK, {"id": 1, **values})

    # datasets ----------------------------------------------------------------------------------
    def datasets(self) -> list[DatasetRow]:
        return list(self.session.scalars(select(DatasetRow).order_by(DatasetRow.name)))

    def dataset(self, name: str) -> DatasetRow | None:
        return self.session.get(DatasetRow, name)


StoredRow = Row[Any]
"""A row read with Core: its columns are attributes (``row.id``, ``row.data`` ...)."""


@dataclass(frozen=True)
class _Stored:
    """A record as a transaction knows it."""

    object: str
    deleted: bool
    data: Record


#: A setting not stored (None is a value a setting may hold).
_ABSENT = object()

_RECORDS = Base.metadata.tables[RecordRow.__tablename__]
_FEED = Base.metadata.tables[FeedEntryRow.__tablename__]
_FEED_STATE = Base.metadata.tables[FeedStateRow.__tablename__]
_PROCESSED = Base.metadata.tables[IdempotencyRow.__tablename__]
_DEVICES = Base.metadata.tables[DeviceRow.__tablename__]
_SETTINGS = Base.metadata.tables[SettingRow.__tablename__]
_CLOCK = Base.metadata.tables[ClockRow.__tablename__]

# The statements of the hot paths, built once: SQLAlchemy caches their compiled form by a key it
# computes once per statement object, so running one costs little more than the driver's call.
_LOCK_WRITES = text("SELECT pg_advisory_xact_lock(:key)")
_RELAX_DURABILITY = text("SET LOCAL synchronous_commit TO OFF")
_SELECT_RECORD = select(_RECORDS.c.object, _RECORDS.c.deleted, _RECORDS.c.data).where(
    _RECORDS.c.id == bindparam("b_id")
)
_INSERT_RECORD = insert(_RECORDS)
_UPDATE_RECORD = update(_RECORDS).where(_RECORDS.c.id == bindparam("b_id"))
_DELETE_RECORD = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("b_id"))
    .values(deleted=True, modified_at=bindparam("modified_at"), change_seq=bindparam("change_seq"))
)
_DRAW = (
    update(_COUNTERS)
    .where(_COUNTERS.c.name == bindparam("counter"))
    .values(value=_COUNTERS.c.value + 1)
    .returning(_COUNTERS.c.value)
)
_READ_COUNTER = select(_COUNTERS.c.value).where(_COUNTERS.c.name == bindparam("counter"))
_INSERT_COUNTER = insert(_COUNTERS)
_SELECT_SETTINGS = select(_SETTINGS.c.key, _SETTINGS.c.value).where(
    _SETTINGS.c.key.in_(bindparam("keys", expanding=True))
)
_INSERT_SETTING = insert(_SETTINGS).values(key=bindparam("key"), value=bindparam("value"))
_UPDATE_SETTING = (
    update(_SETTINGS).where(_SETTINGS.c.key == bindparam("b_key")).values(value=bindparam("value"))
)
_SELECT_PROCESSED = select(_PROCESSED.c.digest, _PROCESSED.c.response).where(
    _PROCESSED.c.user_id == bindparam("user_id"),
    _PROCESSED.c.transaction_id == bindparam("transaction_id"),
)
_INSERT_PROCESSED = insert(_PROCESSED)
_FEED_OF_USER = _FEED.c.user_id == bindparam("user_id")
_FEED_POSITION = select(
    func.coalesce(
        select(_COUNTERS.c.value).where(_COUNTERS.c.name == "feed_seq").scalar_subquery(),
        select(func.max(_FEED.c.seq)).scalar_subquery(),
    ),
    select(_FEED_STATE.c.purged_through)
    .where(_FEED_STATE.c.user_id == bindparam("user_id"))
    .scalar_subquery(),
    select(func.min(_FEED.c.added_at)).where(_FEED_OF_USER).scalar_subquery(),
)
_FEED_AFTER = (
    select(_FEED)
    .where(_FEED_OF_USER, _FEED.c.seq > bindparam("after"))
    .order_by(_FEED.c.seq)
    .limit(bindparam("limit"))
)
_INSERT_FEED_ENTRY = insert(_FEED)
_NEWEST_ADDED_THROUGH = select(func.max(_FEED.c.seq)).where(
    _FEED_OF_USER, _FEED.c.added_at <= bindparam("cutoff")
)
_PURGE_FEED = delete(_FEED).where(_FEED_OF_USER, _FEED.c.seq <= bindparam("through"))
_SELECT_PURGED = select(_FEED_STATE.c.purged_through).where(_FEED_STATE.c.user_id == bindparam("user_id"))
_INSERT_FEED_STATE = insert(_FEED_STATE)
_UPDATE_FEED_STATE = (
    update(_FEED_STATE)
    .where(_FEED_STATE.c.user_id == bindparam("b_user_id"))
    .values(purged_through=bindparam("purged_through"))
)
_SELECT_CLOCK = select(_CLOCK.c.emulated_at, _CLOCK.c.wall_at, _CLOCK.c.running).where(_CLOCK.c.id == 1)
_UPDATE_CLOCK = (
    update(_CLOCK)
    .where(_CLOCK.c.id == 1)
    .values(emulated_at=bindparam("emulated_at"), wall_at=bindparam("wall_at"), running=bindparam("running"))
)
_INSERT_CLOCK = insert(_CLOCK)

#: What a device's request may tell of it besides when it was seen.
_DEVICE_FACTS = ("model", "queue_length", "last_upload_at", "last_poll_at", "last_sync_at")
_REPORT_DEVICE: dict[str, Executable] = {}


def _report_device_statement(dialect: str) -> Executable:
    """The room's upsert: one statement for every request, a fact not told left as it was."""
    if dialect not in _REPORT_DEVICE:
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(_DEVICES).values(
            {name: bindparam(name) for name in ("user_id", "device_id", "last_seen_at", *_DEVICE_FACTS)}
        )
        told: dict[str, Any] = {
            name: func.coalesce(statement.excluded[name], _DEVICES.c[name]) for name in _DEVICE_FACTS
        }
        _REPORT_DEVICE[dialect] = statement.on_conflict_do_update(
            index_elements=["user_id", "device_id"],
            set_={"last_seen_at": statement.excluded.last_seen_at, **told},
        )
    return _REPORT_DEVICE[dialect]
