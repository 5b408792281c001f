"""The online database: SQLAlchemy tables and the small repository the save logic uses.

Records of every object live in one table as JSON documents (the schema says what fields
mean); feed entries, processed transaction IDs, counters and settings have tables of their own.
Timestamps are stored as ISO 8601 text with a ``Z`` suffix, which sorts in time order on any
database. One :class:`Store` wraps one SQLAlchemy session, i.e. one database transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Engine, Integer, String, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

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


class FeedEntryRow(Base):
    __tablename__ = "feed_entries"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    added_at: Mapped[str] = mapped_column(String(32), index=True)
    transaction_id: Mapped[str] = mapped_column(String(128))
    origin_device: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(32))
    payload: Mapped[Record] = mapped_column(JSON)


class FeedStateRow(Base):
    __tablename__ = "feed_state"
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purged_through: Mapped[int] = mapped_column(Integer, default=0)


class ProcessedTransactionRow(Base):
    __tablename__ = "processed_transactions"
    transaction_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[str] = mapped_column(String(32))
    response: Mapped[Record] = mapped_column(JSON)


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
        engine = create_engine(url, pool_pre_ping=True)
    Base.metadata.create_all(engine)
    return engine


class Store:
    """Read and write online data inside one database transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # users -------------------------------------------------------------------------------------
    def user_by_token(self, token: str) -> UserRow | None:
        return self.session.scalars(select(UserRow).where(UserRow.token == token)).first()

    def user(self, user_id: str) -> UserRow | None:
        return self.session.get(UserRow, user_id)

    def users(self) -> list[UserRow]:
        return list(self.session.scalars(select(UserRow).order_by(UserRow.id)))

    # records -----------------------------------------------------------------------------------
    def get(self, object_name: str, record_id: str) -> Record | None:
        """The live online record, or None if absent, deleted or of another object."""
        row = self.session.get(RecordRow, record_id)
        if row is None or row.deleted or row.object != object_name:
            return None
        return dict(row.data)

    def get_any(self, record_id: str) -> tuple[str, Record] | None:
        row = self.session.get(RecordRow, record_id)
        if row is None or row.deleted:
            return None
        return row.object, dict(row.data)

    def put(self, object_name: str, record: Record) -> None:
        """Insert or replace a record (its ``id`` field is the key)."""
        change = self.next_change()
        row = self.session.get(RecordRow, record["id"])
        if row is None:
            row = RecordRow(id=record["id"], object=object_name)
            self.session.add(row)
        row.owner = record.get("ownerid__v")
        row.modified_at = record["modified_date__v"]
        row.change_seq = change
        row.deleted = False
        record[VERSION_FIELD] = change
        row.data = dict(record)

    def delete(self, record_id: str, modified_at: str) -> None:
        change = self.next_change()
        row = self.session.get(RecordRow, record_id)
        if row is not None:
            row.deleted = True
            row.modified_at = modified_at
            row.change_seq = change

    def records(self, object_name: str | None = None, *, deleted: bool = False) -> list[RecordRow]:
        query = select(RecordRow).where(RecordRow.deleted == deleted).order_by(RecordRow.id)
        if object_name is not None:
            query = query.where(RecordRow.object == object_name)
        return list(self.session.scalars(query))

    def children(self, child_object: str, via_field: str, parent_id: str) -> list[Record]:
        """Live records of ``child_object`` whose ``via_field`` points at ``parent_id``."""
        rows = self.session.scalars(
            select(RecordRow).where(RecordRow.object == child_object, RecordRow.deleted.is_(False))
        )
        return [dict(r.data) for r in rows if r.data.get(via_field) == parent_id]

    # counters ----------------------------------------------------------------------------------
    def next_number(self, name: str) -> int:
        row = self.session.get(CounterRow, name)
        if row is None:
            row = CounterRow(name=name, value=0)
            self.session.add(row)
        row.value += 1
        return row.value

    def next_change(self) -> int:
        """The next number of the online change sequence incremental sync reads from."""
        return self.next_number("change_seq")

    def last_change(self) -> int:
        row = self.session.get(CounterRow, "change_seq")
        return 0 if row is None else row.value

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

    # processed transactions ---------------------------------------------------------------------
    def processed(self, transaction_id: str) -> ProcessedTransactionRow | None:
        return self.session.get(ProcessedTransactionRow, transaction_id)

    def remember(self, transaction_id: str, user_id: str, at: str, response: Record) -> None:
        self.session.add(
            ProcessedTransactionRow(
                transaction_id=transaction_id, user_id=user_id, processed_at=at, response=response
            )
        )

    # datasets ----------------------------------------------------------------------------------
    def datasets(self) -> list[DatasetRow]:
        return list(self.session.scalars(select(DatasetRow).order_by(DatasetRow.name)))

    def dataset(self, name: str) -> DatasetRow | None:
        return self.session.get(DatasetRow, name)
