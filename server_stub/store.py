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
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Engine,
    Float,
    Index,
    Integer,
    String,
    TextClause,
    create_engine,
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
    """Read and write online data inside one database transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self._locked = False
        #: Rows read in this transaction. The session holds them only weakly: without this, a
        #: record read again (an account a save refers to, checks, triggers and rolls up) would
        #: be fetched again each time.
        self._rows: dict[str, RecordRow] = {}

    def lock_writes(self) -> None:
        """Take the database-wide write lock until this transaction ends (see the module's doc).

        On PostgreSQL an advisory transaction lock; SQLite has one writer at a time anyway, and
        the server (one process on SQLite) runs each request's database work to its end.
        """
        if self._locked:
            return
        if self.dialect == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
        self._locked = True

    def relax_durability(self) -> None:
        """Let this transaction commit without waiting for its WAL flush (PostgreSQL only).

        For transactions whose only write is bookkeeping a crash may lose (a device's last
        poll time); the data itself is never written this way.
        """
        if self.dialect == "postgresql" and not self._locked:
            self.session.execute(text("SET LOCAL synchronous_commit TO OFF"))

    # users -------------------------------------------------------------------------------------
    def user_by_token(self, token: str) -> UserRow | None:
        return self.session.scalars(select(UserRow).where(UserRow.token == token)).first()

    def user(self, user_id: str) -> UserRow | None:
        return self.session.get(UserRow, user_id)

    def users(self) -> list[UserRow]:
        return list(self.session.scalars(select(UserRow).order_by(UserRow.id)))

    # records -----------------------------------------------------------------------------------
    def _row(self, record_id: str) -> RecordRow | None:
        row = self.session.get(RecordRow, record_id)
        if row is not None:
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
        row = None if new else self._row(record["id"])
        if row is None:
            row = RecordRow(id=record["id"], object=object_name)
            self.session.add(row)
            self._rows[row.id] = row
        row.owner = record.get("ownerid__v")
        row.modified_at = record["modified_date__v"]
        row.change_seq = change
        row.deleted = False
        record[VERSION_FIELD] = change
        row.data = dict(record)

    def delete(self, record_id: str, modified_at: str) -> None:
        change = self.next_change()
        row = self._row(record_id)
        if row is not None:
            row.deleted = True
            row.modified_at = modified_at
            row.change_seq = change

    def records(self, object_name: str | None = None, *, deleted: bool = False) -> list[RecordRow]:
        query = select(RecordRow).where(RecordRow.deleted == deleted).order_by(RecordRow.id)
        if object_name is not None:
            query = query.where(RecordRow.object == object_name)
        return list(self.session.scalars(query))

    def records_page(self, object_name: str | None, offset: int, limit: int) -> tuple[list[RecordRow], int]:
        """One page of :meth:`records` (by ID) and how many there are in all, without the rest."""
        where: list[ColumnElement[bool]] = [RecordRow.deleted.is_(False)]
        if object_name is not None:
            where.append(RecordRow.object == object_name)
        total = self.session.scalar(select(func.count()).select_from(RecordRow).where(*where)) or 0
        page = select(RecordRow).where(*where).order_by(RecordRow.id).offset(offset).limit(limit)
        return list(self.session.scalars(page)), int(total)

    def changed_page(self, after_seq: int, after_id: str | None, upto: int, limit: int) -> list[RecordRow]:
        """Live records changed after a position and at or before change ``upto``, at most
        ``limit``, in change order (change number, then ID): one range of the change index.

        The position is the change number ``after_seq`` with, when the page before stopped inside
        it, the ID ``after_id`` it stopped at (None: everything of ``after_seq`` was read).
        """
        if after_id is None:
            after: ColumnElement[bool] = RecordRow.change_seq > after_seq
        else:
            after = tuple_(RecordRow.change_seq, RecordRow.id) > tuple_(literal(after_seq), literal(after_id))
        query = (
            select(RecordRow)
            .where(after, RecordRow.change_seq <= upto, RecordRow.deleted.is_(False))
            .order_by(RecordRow.change_seq, RecordRow.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def live_page(self, after_id: str, limit: int) -> list[RecordRow]:
        """Live records whose ID sorts after ``after_id``, by ID, at most ``limit``."""
        query = (
            select(RecordRow)
            .where(RecordRow.id > after_id, RecordRow.deleted.is_(False))
            .order_by(RecordRow.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))

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
            select(RecordRow)
            .where(*self._children_of(child_object, via_field, parent_id))
            .order_by(RecordRow.id)
        )
        return [dict(r.data) for r in self.session.scalars(query)]

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
            .select_from(RecordRow)
            .where(*self._children_of(child_object, via_field, parent_id))
        )
        return [_number(value) for value in self.session.execute(query).one()]

    # counters ----------------------------------------------------------------------------------
    # Counters are read and drawn with Core statements, never as ORM objects: a number is drawn
    # by one UPDATE ... RETURNING (the row stays locked to the end of the transaction), and no
    # stale copy of a counter can sit in the session.
    def _draw(self, name: str) -> int | None:
        """The counter's next number, or None if it does not exist yet."""
        query = (
            update(_COUNTERS)
            .where(_COUNTERS.c.name == name)
            .values(value=_COUNTERS.c.value + 1)
            .returning(_COUNTERS.c.value)
        )
        value = self.session.execute(query).scalar()
        return None if value is None else int(value)

    def _counter(self, name: str) -> int | None:
        value = self.session.execute(select(_COUNTERS.c.value).where(_COUNTERS.c.name == name)).scalar()
        return None if value is None else int(value)

    def next_number(self, name: str) -> int:
        value = self._draw(name)
        if value is None:
            value = 1
            self.session.execute(insert(_COUNTERS).values(name=name, value=value))
        return value

    def next_change(self) -> int:
        """The next number of the online change sequence incremental sync reads from."""
        return self.next_number("change_seq")

    def last_change(self) -> int:
        return self._counter("change_seq") or 0

    # settings ----------------------------------------------------------------------------------
    def setting(self, key: str, default: Any) -> Any:
        row = self.session.get(SettingRow, key)
        return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        row = self.session.get(SettingRow, key)
        if row is None:
            self.session.add(SettingRow(key=key, value=value))
        else:
            row.value = value

    def next_feed_seq(self) -> int:
        """The next feed sequence number; a database from before the counter continues after
        the highest number it ever used."""
        value = self._draw("feed_seq")
        if value is None:
            highest = max(
                self.session.scalar(select(func.max(FeedEntryRow.seq))) or 0,
                self.session.scalar(select(func.max(FeedStateRow.purged_through))) or 0,
            )
            value = int(highest) + 1
            self.session.execute(insert(_COUNTERS).values(name="feed_seq", value=value))
        return value

    def last_feed_seq(self) -> int:
        value = self._counter("feed_seq")
        if value is not None:
            return value
        return int(self.session.scalar(select(func.max(FeedEntryRow.seq))) or 0)

    # idempotency keys ---------------------------------------------------------------------------
    def processed(self, user_id: str, transaction_id: str) -> IdempotencyRow | None:
        return self.session.get(IdempotencyRow, (user_id, transaction_id))

    def remember(self, user_id: str, transaction_id: str, digest: str, at: str, response: Record) -> None:
        self.session.add(
            IdempotencyRow(
                user_id=user_id,
                transaction_id=transaction_id,
                digest=digest,
                processed_at=at,
                response=response,
            )
        )

    def processed_count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(IdempotencyRow)) or 0)

    # the room -----------------------------------------------------------------------------------
    def report_device(self, user_id: str, device_id: str, at: str, **values: Any) -> None:
        """Remember that a device talked to the server at ``at`` (an upsert, no lock needed).

        ``values`` are the columns this request tells (model, queue_length, last_upload_at ...);
        None values are left as they were.
        """
        known = {k: v for k, v in values.items() if v is not None}
        row = {"user_id": user_id, "device_id": device_id, "last_seen_at": at, **known}
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        statement = dialect_insert(DeviceRow).values(**row)
        statement = statement.on_conflict_do_update(
            index_elements=["user_id", "device_id"],
            set_={k: statement.excluded[k] for k in row if k not in {"user_id", "device_id"}},
        )
        self.session.execute(statement)

    def devices(self) -> list[DeviceRow]:
        return list(self.session.scalars(select(DeviceRow).order_by(DeviceRow.user_id, DeviceRow.device_id)))

    # the clock ----------------------------------------------------------------------------------
    def clock(self) -> ClockRow | None:
        return self.session.get(ClockRow, 1)

    def set_clock(self, emulated_at: str, wall_at: float, running: bool) -> None:
        row = self.session.get(ClockRow, 1)
        if row is None:
            self.session.add(ClockRow(id=1, emulated_at=emulated_at, wall_at=wall_at, running=running))
        else:
            row.emulated_at, row.wall_at, row.running = emulated_at, wall_at, running

    # datasets ----------------------------------------------------------------------------------
    def datasets(self) -> list[DatasetRow]:
        return list(self.session.scalars(select(DatasetRow).order_by(DatasetRow.name)))

    def dataset(self, name: str) -> DatasetRow | None:
        return self.session.get(DatasetRow, name)
