"""The stub server's HTTP API (FastAPI; OpenAPI at ``/docs``).

One app serves both ways the server runs: in-process behind ``httpx.ASGITransport`` (the
emulator's default) and standalone under uvicorn (``autosync-stub``). Devices authenticate with
their user's bearer token and only ever see their own feed and records; the online side (admin
console, integrations, territory alignments, clock) takes the admin token.

Endpoints are ``async def`` on purpose: each request's database work runs to completion on the
event loop, so requests are processed one at a time in arrival order and the same scenario
gives the same result every run (no thread pool deciding who saves first).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from server_stub import device_admin, feed, models, online, saving, seed, sync
from server_stub.clock import Clock, ManualClock, iso
from server_stub.schema import FieldValueError, Schema, SchemaError, load_schema
from server_stub.store import Base, Store, UserRow, make_engine
from server_stub.visibility import Visibility

VERSION = "0.1.0"
API = "/api/v1"


class ApiError(Exception):
    """An error answered as ``{"detail": message}`` with the given status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": models.ProblemOut, "description": text}
    for code, text in {
        400: "The body is not valid JSON",
        401: "Missing or unknown bearer token",
        403: "The token may not see this",
        404: "No such record, user or data set",
        409: "Conflicts with the server's state",
        422: "The request is malformed; detail names the problem",
    }.items()
}


@dataclass
class ServerState:
    """What the running app holds: database, base schema, clock and secrets."""

    db_url: str
    clock: Clock
    admin_token: str
    schema: Schema
    sample: dict[str, Any] | None
    engine: Engine | None = None
    _effective: tuple[int, Schema] | None = field(default=None, repr=False)

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """One database transaction: committed if the block succeeds, rolled back otherwise."""
        assert self.engine is not None, "the app's lifespan has not started"
        with Session(self.engine) as session, session.begin():
            yield Store(session)

    def schema_for(self, store: Store) -> Schema:
        """The base schema with published metadata changes, cached per metadata version."""
        changes = store.setting(online.METADATA_KEY, [])
        if self._effective is None or self._effective[0] != len(changes):
            self._effective = (len(changes), self.schema.with_changes(changes))
        return self._effective[1]

    def start(self) -> None:
        self.engine = make_engine(self.db_url)
        with self.transaction() as store:
            if not store.users() and self.sample is not None:
                seed.seed(self.schema, store, self.sample, self.clock.now())

    def reset(self) -> None:
        """Back to the sample state: every table emptied and the sample loaded again."""
        assert self.engine is not None
        Base.metadata.drop_all(self.engine)
        Base.metadata.create_all(self.engine)
        self._effective = None
        with self.transaction() as store:
            if self.sample is not None:
                seed.seed(self.schema, store, self.sample, self.clock.now())


def create_app(
    *,
    db_url: str = "sqlite://",
    clock: Clock | None = None,
    admin_token: str | None = None,
    schema_path: Path | None = None,
    sample_path: Path | None = None,
    load_sample_data: bool = True,
    random_user_tokens: bool = False,
) -> FastAPI:
    """Build the stub server app. The database is opened and seeded in the app's lifespan.

    ``random_user_tokens`` replaces the sample users' fixed development tokens with random ones
    (for a server other machines can reach); the app reads them through the admin API.
    """
    sample = None
    if load_sample_data:
        sample = seed.load_sample(sample_path or seed.default_sample_path())
        if random_user_tokens:
            for user in sample["users"]:
                user["token"] = secrets.token_urlsafe(24)
    state = ServerState(
        db_url=db_url,
        clock=clock or ManualClock(),
        admin_token=admin_token or secrets.token_urlsafe(24),
        schema=load_schema(schema_path),
        sample=sample,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.start()
        try:
            yield
        finally:
            assert state.engine is not None
            state.engine.dispose()

    app = FastAPI(
        title="Autosync stub server",
        version=VERSION,
        description="A faithful emulation of Vault CRM's Autosync server side.",
        lifespan=lifespan,
        responses=ERRORS,
    )
    app.state.server = state
    _install_error_handlers(app)
    _device_routes(app, state)
    _admin_routes(app, state)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(problems) or "invalid request"}, 422)

    for error_type, status in (
        (saving.PayloadError, 422),
        (FieldValueError, 422),
        (SchemaError, 422),
        (saving.ForeignTransactionError, 409),
        (LookupError, 404),
    ):

        async def _handler(_r: Request, exc: Exception, status: int = status) -> JSONResponse:
            return JSONResponse({"detail": str(exc).strip("'\"")}, status_code=status)

        app.add_exception_handler(error_type, _handler)


bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "a bearer token is required")
    return credentials.credentials


def _user(state: ServerState, store: Store, credentials: HTTPAuthorizationCredentials | None) -> UserRow:
    user = store.user_by_token(_token(credentials))
    if user is None:
        raise ApiError(401, "unknown token")
    return user


def _admin(state: ServerState, credentials: HTTPAuthorizationCredentials | None) -> None:
    if not secrets.compare_digest(_token(credentials), state.admin_token):
        raise ApiError(403, "this needs the admin token")


def _feed_page(
    store: Store,
    user_id: str,
    after: int,
    limit: int,
    state: ServerState,
    skip: int = 0,
    max_records: int = 1000,
) -> dict[str, Any]:
    now = state.clock.now()
    page = feed.read_feed(store, user_id, after=after, limit=limit, now=now)
    return {
        "user_id": user_id,
        "entries": feed.paged_entries(page.entries, skip=skip, max_records=max_records),
        "latest_seq": page.latest_seq,
        "purged_through": page.purged_through,
        "missed": page.missed,
        "oldest_added_at": page.oldest_added_at,
        "server_time": iso(now),
    }


def _device_routes(app: FastAPI, state: ServerState) -> None:
    @app.get("/health", response_model=models.HealthOut, tags=["server"])
    async def health() -> dict[str, Any]:
        """Liveness: answers without a token."""
        return {"status": "ok", "server_time": iso(state.clock.now()), "version": VERSION}

    @app.get(f"{API}/me", response_model=models.UserOut, tags=["device"])
    async def me(credentials: Credentials) -> dict[str, Any]:
        """The user a device token belongs to."""
        with state.transaction() as store:
            user = _user(state, store, credentials)
            return {"id": user.id, "name": user.name, "territories": user.territories}

    @app.post(f"{API}/transactions", response_model=models.UploadResponse, tags=["device"])
    async def upload(body: models.UploadRequest, credentials: Credentials) -> dict[str, Any]:
        """Upload one queue item; a repeated transaction ID gets the original answer."""
        with state.transaction() as store:
            user = _user(state, store, credentials)
            schema = state.schema_for(store)
            return saving.process_upload(schema, store, user, body, state.clock.now())

    @app.get(f"{API}/feeds/{{user_id}}", response_model=models.FeedPageOut, tags=["device"])
    async def read_feed(
        user_id: str,
        credentials: Credentials,
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
        skip: Annotated[int, Query(ge=0, le=100_000)] = 0,
        max_records: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> dict[str, Any]:
        """The user's own Autosync feed after a cursor (AS-15): another user's is 403.

        ``after`` is the last entry read whole, ``skip`` how many records of the next entry
        were already read; at most ``max_records`` records come back (a big transaction can
        take several reads).
        """
        with state.transaction() as store:
            user = _user(state, store, credentials)
            if user.id != user_id:
                raise ApiError(403, "a device reads only its own user's feed")
            return _feed_page(store, user_id, after, limit, state, skip, max_records)

    @app.post(f"{API}/sync", response_model=models.SyncResponse, tags=["device"])
    async def incremental_sync(body: models.SyncRequest, credentials: Credentials) -> dict[str, Any]:
        """Incremental sync (AS-27): changes after ``cursor`` that the where clauses allow."""
        with state.transaction() as store:
            user = _user(state, store, credentials)
            schema = state.schema_for(store)
            return sync.incremental_sync(schema, store, user, body.cursor, state.clock.now())

    @app.post(f"{API}/sync/fetch", response_model=list[models.FeedRecordOut], tags=["device"])
    async def fetch_records(body: models.FetchRequest, credentials: Credentials) -> list[dict[str, Any]]:
        """Records by ID, as a sync fetches what a device lacks; invisible ones left out."""
        with state.transaction() as store:
            user = _user(state, store, credentials)
            return sync.fetch(state.schema_for(store), store, user, body.ids, state.clock.now())

    @app.get(
        f"{API}/records/{{object_name}}/{{record_id}}",
        response_model=models.FeedRecordOut,
        tags=["device"],
    )
    async def read_record(object_name: str, record_id: str, credentials: Credentials) -> dict[str, Any]:
        """One online record, if the user's where clause lets them see it."""
        with state.transaction() as store:
            user = _user(state, store, credentials)
            schema = state.schema_for(store)
            schema.object(object_name)
            record = store.get(object_name, record_id)
            if record is None:
                raise ApiError(404, f"{object_name} {record_id} does not exist online")
            if not Visibility(schema, store, user, state.clock.now()).visible(object_name, record):
                raise ApiError(403, f"{object_name} {record_id} belongs to another user's data")
            return {"object": object_name, "id": record_id, "fields": record}

    @app.get(f"{API}/schema", tags=["device"])
    async def read_schema(credentials: Credentials) -> dict[str, Any]:
        """The object schema with published metadata changes."""
        with state.transaction() as store:
            _user(state, store, credentials)
            return state.schema_for(store).to_json()


def _admin_routes(app: FastAPI, state: ServerState) -> None:
    admin = f"{API}/admin"

    @app.get(f"{admin}/users", response_model=list[models.UserOut], tags=["online"])
    async def users(credentials: Credentials) -> list[dict[str, Any]]:
        _admin(state, credentials)
        with state.transaction() as store:
            return [{"id": u.id, "name": u.name, "territories": u.territories} for u in store.users()]

    @app.get(f"{admin}/users/{{user_id}}/token", response_model=models.TokenOut, tags=["online"])
    async def user_token(user_id: str, credentials: Credentials) -> dict[str, Any]:
        """Issue a user's device token (what signing in on an iPad gives the device)."""
        _admin(state, credentials)
        with state.transaction() as store:
            user = store.user(user_id)
            if user is None:
                raise ApiError(404, f"unknown user {user_id!r}")
            return {"user_id": user.id, "token": user.token}

    @app.get(f"{admin}/users/{{user_id}}/settings", response_model=models.UserSettingsOut, tags=["online"])
    async def read_user_settings(user_id: str, credentials: Credentials) -> dict[str, Any]:
        """A user's sync settings: SYNC_WARN_INTERVAL and Refresh mode (AS-33, AS-36)."""
        _admin(state, credentials)
        with state.transaction() as store:
            _known_user(store, user_id)
            return device_admin.user_settings(store, user_id)

    @app.patch(f"{admin}/users/{{user_id}}/settings", response_model=models.UserSettingsOut, tags=["online"])
    async def change_user_settings(
        user_id: str, body: models.UserSettingsPatch, credentials: Credentials
    ) -> dict[str, Any]:
        """Change a user's sync settings; the iPads read them at their next incremental sync."""
        _admin(state, credentials)
        with state.transaction() as store:
            _known_user(store, user_id)
            return device_admin.update_user_settings(store, user_id, body.model_dump(exclude_none=True))

    @app.post(f"{admin}/users/{{user_id}}/commands", response_model=models.ClientCommandOut, tags=["online"])
    async def issue_client_command(
        user_id: str, body: models.ClientCommandIn, credentials: Credentials
    ) -> dict[str, Any]:
        """Clear client sync errors or force a full database refresh (AS-34, AS-37).

        Every iPad of the user carries the command out at its next incremental sync.
        """
        _admin(state, credentials)
        with state.transaction() as store:
            _known_user(store, user_id)
            return device_admin.issue_command(store, user_id, body.kind, state.clock.now())

    @app.get(f"{admin}/records", response_model=models.OnlineRecordsOut, tags=["online"])
    async def online_records(
        credentials: Credentials,
        object_name: Annotated[str | None, Query(alias="object", max_length=64)] = None,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> dict[str, Any]:
        """The online records, optionally of one object."""
        _admin(state, credentials)
        with state.transaction() as store:
            if object_name is not None:
                state.schema_for(store).object(object_name)
            rows = store.records(object_name)
            return {
                "records": [
                    {"object": r.object, "id": r.id, "fields": r.data} for r in rows[offset : offset + limit]
                ],
                "total": len(rows),
            }

    @app.post(
        f"{admin}/records/{{object_name}}",
        response_model=models.FeedRecordOut,
        tags=["online"],
    )
    async def create_online(
        object_name: str, body: models.OnlineCreate, credentials: Credentials
    ) -> dict[str, Any]:
        """Create a record online (integration or online user): no feed (AS-27)."""
        _admin(state, credentials)
        with state.transaction() as store:
            record = _online_save(
                lambda: online.create_online(
                    state.schema_for(store),
                    store,
                    object_name,
                    body.owner,
                    dict(body.fields),
                    body.actor,
                    state.clock.now(),
                )
            )
            return {"object": object_name, "id": record["id"], "fields": record}

    @app.patch(
        f"{admin}/records/{{object_name}}/{{record_id}}",
        response_model=models.FeedRecordOut,
        tags=["online"],
    )
    async def edit_online(
        object_name: str, record_id: str, body: models.OnlineEdit, credentials: Credentials
    ) -> dict[str, Any]:
        """Edit a record online (AS-27): devices see it only after an incremental sync."""
        _admin(state, credentials)
        with state.transaction() as store:
            record = _online_save(
                lambda: online.edit_online(
                    state.schema_for(store),
                    store,
                    object_name,
                    record_id,
                    dict(body.fields),
                    body.actor,
                    state.clock.now(),
                )
            )
            return {"object": object_name, "id": record_id, "fields": record}

    @app.get(f"{admin}/feeds/{{user_id}}", response_model=models.FeedPageOut, tags=["online"])
    async def admin_feed(user_id: str, credentials: Credentials) -> dict[str, Any]:
        """A user's whole feed as it stands, with each entry's age and expiry."""
        _admin(state, credentials)
        with state.transaction() as store:
            if store.user(user_id) is None:
                raise ApiError(404, f"unknown user {user_id!r}")
            return _feed_page(store, user_id, 0, 1000, state)

    @app.post(f"{admin}/territory-alignment", response_model=models.AlignmentOut, tags=["online"])
    async def territory_alignment(
        body: models.TerritoryAlignment, credentials: Credentials
    ) -> dict[str, Any]:
        """Run a territory alignment (AS-27): reaches devices by incremental sync only."""
        _admin(state, credentials)
        with state.transaction() as store:
            moved, user = _online_save(
                lambda: online.align_territories(
                    state.schema_for(store),
                    store,
                    account_ids=list(body.account_ids),
                    territory=body.territory,
                    user_id=body.user_id,
                    user_territories=body.user_territories,
                    now=state.clock.now(),
                )
            )
            return {
                "accounts": [{"object": "account__v", "id": r["id"], "fields": r} for r in moved],
                "user": None
                if user is None
                else {"id": user.id, "name": user.name, "territories": user.territories},
            }

    @app.post(f"{admin}/metadata", response_model=models.MetadataOut, tags=["online"])
    async def metadata_change(body: models.MetadataChange, credentials: Credentials) -> dict[str, Any]:
        """Publish a metadata change (new picklist value, relabelled field)."""
        _admin(state, credentials)
        with state.transaction() as store:
            updated = online.publish_metadata(state.schema, store, body.model_dump(exclude_none=True))
            return {"metadata_version": updated.metadata_version}

    @app.post(f"{admin}/content", response_model=models.DatasetOut, tags=["online"])
    async def publish_content(body: models.ContentPublish, credentials: Credentials) -> dict[str, Any]:
        """Publish CLM or Approved Email content."""
        _admin(state, credentials)
        with state.transaction() as store:
            row = online.publish_content(store, body.kind, body.name, body.description, state.clock.now())
            return _dataset_json(row)

    @app.post(f"{admin}/datasets/{{name}}/refresh", response_model=models.DatasetOut, tags=["online"])
    async def refresh_dataset(name: str, credentials: Credentials) -> dict[str, Any]:
        """A new load of X-Pages sales data or Nitro data."""
        _admin(state, credentials)
        with state.transaction() as store:
            return _dataset_json(online.refresh_dataset(store, name, state.clock.now()))

    @app.get(
        f"{admin}/validation-rules",
        response_model=list[models.ValidationRuleOut],
        tags=["online"],
    )
    async def list_rules(credentials: Credentials) -> list[dict[str, Any]]:
        _admin(state, credentials)
        with state.transaction() as store:
            return online.validation_rules(state.schema, store)

    @app.put(
        f"{admin}/validation-rules/{{name}}",
        response_model=models.ValidationRuleOut,
        tags=["online"],
    )
    async def toggle_rule(
        name: str, body: models.ValidationRuleToggle, credentials: Credentials
    ) -> dict[str, Any]:
        """Switch a sample validation rule on or off."""
        _admin(state, credentials)
        with state.transaction() as store:
            online.set_validation_rule(state.schema, store, name, body.enabled)
            return next(r for r in online.validation_rules(state.schema, store) if r["name"] == name)

    @app.get(f"{admin}/clock", response_model=models.ClockOut, tags=["online"])
    async def read_clock(credentials: Credentials) -> dict[str, Any]:
        _admin(state, credentials)
        return {"server_time": iso(state.clock.now())}

    @app.post(f"{admin}/clock/advance", response_model=models.ClockOut, tags=["online"])
    async def advance_clock(body: models.AdvanceClock, credentials: Credentials) -> dict[str, Any]:
        """Move the server's emulated clock forward (to show seven-day feed expiry)."""
        _admin(state, credentials)
        state.clock.advance(timedelta(seconds=body.seconds))
        return {"server_time": iso(state.clock.now())}

    @app.post(f"{admin}/reset", response_model=models.HealthOut, tags=["online"])
    async def reset(credentials: Credentials) -> dict[str, Any]:
        """Throw everything away and load the sample world again."""
        _admin(state, credentials)
        state.reset()
        return {"status": "ok", "server_time": iso(state.clock.now()), "version": VERSION}


def _known_user(store: Store, user_id: str) -> UserRow:
    user = store.user(user_id)
    if user is None:
        raise ApiError(404, f"unknown user {user_id!r}")
    return user


def _online_save(action: Any) -> Any:
    """Run an online save, turning a refusal by the save logic into a 422."""
    try:
        return action()
    except saving.SyncError as exc:
        raise ApiError(422, str(exc)) from None


def _dataset_json(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "version": row.version,
        "updated_at": row.updated_at,
        "items": row.items,
    }
