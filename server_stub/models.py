"""Request and response bodies of the HTTP API (pydantic models, so OpenAPI comes for free).

What a device sends and what it is answered lives in :mod:`autosync_wire`, shared with the
engine, and is re-exported here; this module adds what only the server's other callers use (the
online side, the admin's endpoints, the room). Request bodies are strict (see
:class:`autosync_wire.Strict`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from autosync_wire import ID_PATTERN as ID_PATTERN
from autosync_wire import NAME_PATTERN as NAME_PATTERN
from autosync_wire import ClientCommandOut as ClientCommandOut
from autosync_wire import ConflictOut as ConflictOut
from autosync_wire import DatasetOut as DatasetOut
from autosync_wire import DeletedOut as DeletedOut
from autosync_wire import FeedEntryOut as FeedEntryOut
from autosync_wire import FeedPageOut as FeedPageOut
from autosync_wire import FeedRecordOut as FeedRecordOut
from autosync_wire import FetchRequest as FetchRequest
from autosync_wire import FieldChange as FieldChange
from autosync_wire import FieldName as FieldName
from autosync_wire import Identifier as Identifier
from autosync_wire import RecordOut as RecordOut
from autosync_wire import Scalar as Scalar
from autosync_wire import Strict as Strict
from autosync_wire import SyncErrorOut as SyncErrorOut
from autosync_wire import SyncPageOut as SyncPageOut
from autosync_wire import SyncPosition as SyncPosition
from autosync_wire import SyncRequest as SyncRequest
from autosync_wire import SyncResponse as SyncResponse
from autosync_wire import UploadItem as UploadItem
from autosync_wire import UploadRequest as UploadRequest
from autosync_wire import UploadResponse as UploadResponse
from autosync_wire import UserSettingsOut as UserSettingsOut
from autosync_wire import real_text as _real_text


class UserSettingsPatch(Strict):
    sync_warn_interval_days: int | None = Field(default=None, ge=1, le=365, strict=True)
    refresh_mode: bool | None = Field(default=None, strict=True)


class ClientCommandIn(Strict):
    kind: Literal["clear_sync_errors", "full_refresh"]


class HealthOut(BaseModel):
    status: Literal["ok"]
    server_time: str
    version: str


class ProblemOut(BaseModel):
    detail: str


class UserOut(BaseModel):
    id: str
    name: str
    territories: list[str]


class TokenOut(BaseModel):
    user_id: str
    token: str


class ClockOut(BaseModel):
    server_time: str


class AdvanceClock(Strict):
    seconds: int = Field(ge=0, le=366 * 24 * 3600)


class OnlineEdit(Strict):
    """An edit made online: by a user in the browser or by an integration (AS-27)."""

    actor: Literal["online_user", "integration"] = "online_user"
    fields: dict[FieldName, Scalar] = Field(min_length=1)


class OnlineCreate(Strict):
    actor: Literal["online_user", "integration"] = "integration"
    owner: Identifier
    fields: dict[FieldName, Scalar] = Field(min_length=1)


class TerritoryAlignment(Strict):
    """Move accounts to a territory and/or give a user a new set of territories."""

    account_ids: list[Identifier] = Field(default_factory=list, max_length=1000)
    territory: Identifier | None = None
    user_id: Identifier | None = None
    user_territories: list[Identifier] | None = None


class MetadataChange(Strict):
    kind: Literal["add_picklist_value", "relabel_field"]
    object: FieldName
    field: FieldName
    value: FieldName | None = None
    label: Annotated[str, StringConstraints(min_length=1, max_length=120), AfterValidator(_real_text)]


class ContentPublish(Strict):
    kind: Literal["clm", "approved_email"]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_real_text)]
    description: Annotated[str, StringConstraints(max_length=1000), AfterValidator(_real_text)] = ""


class ValidationRuleOut(BaseModel):
    name: str
    message: str
    objects: list[str]
    enabled: bool


class ValidationRuleToggle(Strict):
    enabled: bool


class OnlineRecordsOut(BaseModel):
    records: list[FeedRecordOut]
    total: int


class AlignmentOut(BaseModel):
    accounts: list[FeedRecordOut]
    user: UserOut | None


class MetadataOut(BaseModel):
    metadata_version: int


class DeviceOut(BaseModel):
    """A device that has talked to the server, as it last reported itself (the room)."""

    user_id: str
    device_id: str
    model: str | None = Field(description="The iPad model the device reported, if it did.")
    queue_length: int | None = Field(
        description="How many uploads were waiting in its queue when it last said (None: never said)."
    )
    last_seen_at: str = Field(description="Server time of its last request of any kind.")
    last_upload_at: str | None = Field(description="Server time of its last upload.")
    last_poll_at: str | None = Field(description="Server time of its last feed read.")
    last_sync_at: str | None = Field(description="Server time of its last incremental sync.")


class RoomOut(BaseModel):
    """Every device that has talked to the server, by user and device ID."""

    server_time: str
    devices: list[DeviceOut]
