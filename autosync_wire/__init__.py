"""What crosses the wire between a virtual iPad and the server: one vocabulary for both sides.

The server (:mod:`server_stub`) declares its API with these models, so its OpenAPI document
describes them; the engine (:mod:`emulator.engine`) reads the server's answers with the same
models instead of by string keys. This package imports neither side: the import contracts keep
the engine away from the server's code and the server away from the emulator's.

Request bodies (what a device sends) are strict: no unknown keys, and no coercion (``false`` is
not the integer 0, ``"5"`` is not a number). Text anywhere in a request is real text: a lone
UTF-16 surrogate (``"\\ud800"`` in JSON), which no answer could carry, is refused before anything
runs. Answers (what the server sends back) are read leniently: an unknown key is ignored, a
missing or mistyped one is an error.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

#: The longest text a long-text field holds (and so the longest text value on the wire).
MAX_LONG_TEXT = 32_000
#: A lone UTF-16 surrogate: JSON can spell one, but it is no text and no answer could carry it.
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")

ID_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
NAME_PATTERN = r"^[a-z0-9_]+$"
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN)]
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NAME_PATTERN)]
#: A record's field values by field name, as the server holds them.
Fields = dict[str, Any]


def real_text(value: str) -> str:
    """``value``, if it holds no lone surrogate."""
    if LONE_SURROGATE.search(value):
        raise ValueError("text must not hold a lone surrogate")
    return value


def _scalar(value: object) -> str | int | float | bool | None:
    """One field value as a client sends it: null, a boolean, a number or real text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if len(value) > MAX_LONG_TEXT:
            raise ValueError(f"text must be at most {MAX_LONG_TEXT} characters")
        return real_text(value)
    raise ValueError("a field value must be text, a number, true, false or null")


#: A field value a client sends (text at most the longest text field's length, no lone surrogate).
Scalar = Annotated[
    str | int | float | bool | None,
    PlainValidator(_scalar),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "maxLength": MAX_LONG_TEXT},
                {"type": "number"},
                {"type": "boolean"},
                {"type": "null"},
            ]
        }
    ),
]


class Strict(BaseModel):
    """A request body: no unknown keys, no coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


# --- An upload transaction (POST /api/v1/transactions) -------------------------------------------


class FieldChange(Strict):
    """One changed field of an edit: the value the device last saw and the new one (AS-08)."""

    old: Scalar = None
    new: Scalar = None


class UploadItem(Strict):
    """One record of an upload transaction."""

    op: Literal["create", "update", "delete"]
    object: FieldName
    id: Identifier = Field(description="Server ID, or the device's temporary ID for a create.")
    fields: dict[FieldName, Scalar] = Field(
        default_factory=dict, description="For a create: the values the user entered."
    )
    changes: dict[FieldName, FieldChange] = Field(
        default_factory=dict, description="For an update: each changed field, old and new."
    )


class UploadRequest(Strict):
    """One queue item: a single record, or a whole AS-05 family saved together."""

    transaction_id: Identifier
    device_id: Identifier
    items: list[UploadItem] = Field(min_length=1, max_length=500)


class RecordOut(BaseModel):
    object: str
    id: str
    temp_id: str | None = Field(
        default=None, description="The ID the device sent this record under, if different."
    )
    fields: Fields


class ConflictOut(BaseModel):
    field: str
    label: str
    previous: Scalar
    online: Scalar
    new: Scalar


class SyncErrorOut(BaseModel):
    kind: Literal["conflict", "validation", "submitted", "not_found", "access"]
    message: str
    object: str
    record_id: str
    rule: str | None = None
    conflicts: list[ConflictOut] = Field(default_factory=list)


class UploadResponse(BaseModel):
    transaction_id: str
    outcome: Literal["saved", "duplicated", "discarded", "sync_error"]
    message: str
    replayed: bool = False
    processed_at: str
    records: list[RecordOut] = Field(default_factory=list)
    id_map: dict[str, str] = Field(default_factory=dict)
    error: SyncErrorOut | None = None

    @model_validator(mode="after")
    def _error_told(self) -> UploadResponse:
        """A sync error says which (the device records it on its Errors tab)."""
        if self.outcome == "sync_error" and self.error is None:
            raise ValueError("a sync_error outcome must come with its error")
        return self


# --- The user's feed (GET /api/v1/feeds/{user_id}) --------------------------------------------------


class FeedRecordOut(BaseModel):
    object: str
    id: str
    fields: Fields


class DeletedOut(BaseModel):
    object: str
    id: str


class FeedEntryOut(BaseModel):
    seq: int
    first_record: int = Field(description="Index of this part's first record in the entry.")
    total_records: int = Field(description="How many records the whole entry holds.")
    added_at: str
    expires_at: str
    transaction_id: str
    origin_device: str
    reason: str
    records: list[FeedRecordOut]
    deleted: list[DeletedOut]


class FeedPageOut(BaseModel):
    user_id: str
    entries: list[FeedEntryOut]
    latest_seq: int
    purged_through: int
    missed: bool = Field(
        description="True when entries after the cursor expired unread: run an incremental sync."
    )
    oldest_added_at: str | None
    server_time: str


# --- Incremental sync (POST /api/v1/sync, /api/v1/sync/page, /api/v1/sync/fetch) ------------------


class SyncRequest(Strict):
    cursor: int | None = Field(
        default=None,
        ge=0,
        le=2**53,
        description="The cursor of the device's last incremental sync; none for a full sync.",
    )


class FetchRequest(Strict):
    ids: list[Identifier] = Field(max_length=5000)


class SyncPosition(Strict):
    """Where the next page of an incremental sync starts: the ``next`` of the page before, sent
    back as it came. It says where to read, never what the user may read."""

    upto: int = Field(ge=0, le=2**53, description="The sync's new cursor: it reads changes up to it.")
    phase: Literal["changes", "visible"] = Field(
        description="changes: the records changed after the cursor; visible: the IDs the user may see."
    )
    seq: int = Field(default=0, ge=-1, le=2**53, description="The change number read up to.")
    id: Identifier | None = Field(default=None, description="The record ID read up to, if any.")


class DatasetOut(BaseModel):
    name: str
    kind: str
    version: int
    updated_at: str
    items: list[dict[str, Any]]


class UserSettingsOut(BaseModel):
    """An admin's sync settings for one user's iPads (AS-33, AS-36)."""

    sync_warn_interval_days: int = Field(
        description="SYNC_WARN_INTERVAL: days of pending uploads after which the Sync widget turns red."
    )
    refresh_mode: bool = Field(description="Non-blocking sync (Refresh mode) at the first use of a day.")


class ClientCommandOut(BaseModel):
    """An admin's command to every iPad of a user, carried out at its next incremental sync."""

    id: int
    kind: Literal["clear_sync_errors", "full_refresh"]
    issued_at: str


class SyncResponse(BaseModel):
    """The first page of an incremental sync, with everything of it but later pages' records."""

    user_id: str
    server_time: str
    feed_seq: int
    cursor: int
    full: bool
    records: list[FeedRecordOut]
    visible_ids: dict[str, list[str]]
    schema_: dict[str, Any] = Field(alias="schema")
    datasets: list[DatasetOut]
    settings: UserSettingsOut
    commands: list[ClientCommandOut] = Field(
        description="Every client command kept for the user; a device runs those it has not run yet."
    )
    next: SyncPosition | None = Field(
        description="Where the next page starts (POST it to /api/v1/sync/page); none after the last."
    )

    model_config = ConfigDict(populate_by_name=True)


class SyncPageOut(BaseModel):
    """A later page of an incremental sync: its share of the changed records and visible IDs."""

    records: list[FeedRecordOut]
    visible_ids: dict[str, list[str]]
    next: SyncPosition | None = Field(description="Where the next page starts; none after the last.")
