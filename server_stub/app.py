"""The stub server's HTTP API (FastAPI; OpenAPI at ``/docs``).

One app serves both ways the server runs: in-process behind ``httpx.ASGITransport`` (the
emulator's default) and standalone under uvicorn (``autosync-stub``, one process or several on
one PostgreSQL database). Who may call what is decided in :mod:`server_stub.access`: device paths
take their user's bearer token and only ever see their own feed and the records their where
clauses allow; the online side (admin console, integrations, territory alignments, clock) takes
the admin token; both are checked before a request's body is read.

Every answer is built and rendered inside the database transaction it reports on, so nothing is
committed that cannot be answered, and an upload's answer is stored with it for retries.
Everything the server knows is in the database (records, feeds, idempotency keys, counters, the
standalone clock, the room of devices); a process holds only its configuration and a cache of the
schema that is checked against the database on every use.

Endpoints are ``async def`` on purpose: each request's database work runs to completion on the
event loop, so requests to one process are processed one at a time in arrival order and the same
scenario gives the same result every run (no thread pool deciding who saves first).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
from collections.abc import AsyncIterator, Hashable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypedDict, Unpack

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import HTTPException, RequestValidationError
from sqlalchemy import Engine, bindparam, delete, select
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server_stub import device_admin, feed, models, online, saving, seed, snapshot, sync
from server_stub.access import ADMIN_ONLY, Access, AdminRoute, CurrentUser, DeviceRoute, Member
from server_stub.clock import Clock, StoredClock, iso
from server_stub.errors import ApiError, NotFound, render_json, safe_text
from server_stub.schema import (
    FieldValueError,
    Schema,
    SchemaError,
    default_schema_path,
    file_key,
    load_schema,
)
from server_stub.store import Base, ClockRow, DeviceRow, Store, UserRow, create_tables, make_engine

VERSION = "0.1.0"
API = "/api/v1"
log = logging.getLogger(__name__)

ERROR_TEXT: dict[int, str] = {
    400: "The body could not be read as JSON",
    401: "Missing or unknown bearer token",
    403: "The token may not do or see this",
    404: "No such object, record, user, data set or rule",
    409: "The transaction ID was already used for a different upload (idempotency key reused)",
    422: "The request is malformed; detail names the problem",
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of an endpoint: exactly the 4xx answers it can give."""
    return {code: {"model": models.ProblemOut, "description": ERROR_TEXT[code]} for code in codes}


# Path parameters: anything else is a 422, before any look-up.
UserIdParam = Annotated[str, PathParam(min_length=1, max_length=64, pattern=models.ID_PATTERN)]
RecordIdParam = Annotated[str, PathParam(min_length=1, max_length=64, pattern=models.ID_PATTERN)]
NameParam = Annotated[str, PathParam(min_length=1, max_length=64, pattern=models.NAME_PATTERN)]


@dataclass(frozen=True)
class DeviceReport:
    """What a device says about itself in its request headers (for the room)."""

    device_id: str | None
    model: str | None
    queue_length: int | None


async def _device_report(
    device: Annotated[
        str | None,
        Header(
            alias="X-Autosync-Device",
            min_length=1,
            max_length=64,
            pattern=models.ID_PATTERN,
            description="The device's ID (the room lists devices by user and this ID).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        Header(
            alias="X-Autosync-Model",
            min_length=1,
            max_length=64,
            pattern=r"^[ -~]+$",
            description="The iPad model, e.g. iPad Pro 11-inch.",
        ),
    ] = None,
    queue: Annotated[
        int | None,
        Header(
            alias="X-Autosync-Queue",
            ge=0,
            le=1_000_000,
            description="How many uploads wait in the device's queue as it sends this request.",
        ),
    ] = None,
) -> DeviceReport:
    return DeviceReport(device, model, queue)


Report = Annotated[DeviceReport, Depends(_device_report)]


_USERS = Base.metadata.tables[UserRow.__tablename__]
_MEMBER_BY_TOKEN = select(_USERS.c.id, _USERS.c.name, _USERS.c.territories).where(
    _USERS.c.token == bindparam("token")
)


@dataclass
class ServerState:
    """What a running app holds: its configuration, the database engine and a schema cache.

    ``clock`` is the stage's emulated clock when the server runs in-process; None means the
    clock kept in the database (:class:`StoredClock`), as the standalone server uses.
    """

    db_url: str
    clock: Clock | None
    admin_token: str
    schema: Schema
    sample: dict[str, Any] | None
    random_user_tokens: bool = False
    refused_tokens: frozenset[str] = frozenset()
    clock_start: datetime | None = None
    clock_running: bool = False
    prepared: bool = False
    fault_after_commit: int | None = None
    #: The schema and sample files the seed comes from, when a seeded in-memory database may be
    #: kept and copied for the next server with the same files and time (see server_stub.snapshot).
    seed_source: Hashable | None = None
    engine: Engine | None = None
    stored_clock: StoredClock = field(default_factory=StoredClock)
    _effective: tuple[str, Schema] | None = field(default=None, repr=False)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Store]:
        """One database transaction: committed if the block succeeds, rolled back otherwise.

        ``write`` takes the database-wide write lock first (see :mod:`server_stub.store`).
        """
        assert self.engine is not None, "the app's lifespan has not started"
        with Session(self.engine) as session, session.begin():
            store = Store(session)
            if write:
                store.lock_writes()
            yield store

    def member_by_token(self, token: str) -> Member | None:
        """The user a token belongs to (one indexed read, without the ORM: every request asks)."""
        assert self.engine is not None, "the app's lifespan has not started"
        with self.engine.connect() as connection:
            # one round trip: no transaction to begin and roll back around a single read
            connection.execution_options(isolation_level="AUTOCOMMIT")
            row = connection.execute(_MEMBER_BY_TOKEN, {"token": token}).first()
        return None if row is None else Member(row.id, row.name, tuple(row.territories))

    def now(self, store: Store) -> datetime:
        return self.clock.now() if self.clock is not None else self.stored_clock.now(store)

    def advance(self, store: Store, delta: timedelta) -> datetime:
        if self.clock is not None:
            self.clock.advance(delta)
            return self.clock.now()
        store.lock_writes()
        return self.stored_clock.advance(store, delta)

    def schema_for(self, store: Store) -> Schema:
        """The base schema with published metadata changes (cached while they stay the same)."""
        changes = store.setting(online.METADATA_KEY, [])
        key = json.dumps(changes, sort_keys=True)
        if self._effective is None or self._effective[0] != key:
            self._effective = (key, self.schema.with_changes(changes))
        return self._effective[1]

    def start(self) -> None:
        """Open the database; unless another process prepared it, prepare it (see prepare)."""
        self.engine = make_engine(self.db_url)
        if not self.prepared:
            self.prepare()

    def prepare(self) -> None:
        """Tables, the sample world in an empty database, random tokens in place of the sample
        users' development tokens (when asked), and the stored clock. Done once, by one process."""
        assert self.engine is not None
        kept = (
            None if self.seed_source is None or self.clock is None else (self.seed_source, self.clock.now())
        )
        if kept is not None and snapshot.restore(self.engine, kept):
            return
        create_tables(self.engine, self.schema.child_references())
        with self.transaction(write=True) as store:
            if not store.users() and self.sample is not None:
                seed.seed(self.schema, store, self._sample(), self.now(store))
            if self.random_user_tokens:
                for user in store.users():
                    if user.token in self.refused_tokens:
                        user.token = secrets.token_urlsafe(24)
            if self.clock is None:
                self.stored_clock.start(store, start=self.clock_start, running=self.clock_running)
        if kept is not None:
            snapshot.keep(self.engine, kept)

    def reset(self) -> None:
        """Back to the sample state: the online data emptied and the sample loaded again.

        The clock and the room stay as they are, and so do the tokens of users that remain (the
        iPads that joined keep working).
        """
        with self.transaction(write=True) as store:
            tokens = {u.id: u.token for u in store.users()}
            for table in reversed(Base.metadata.sorted_tables):
                if table.name not in {ClockRow.__tablename__, DeviceRow.__tablename__}:
                    store.session.execute(delete(table))
            self._effective = None
            if self.sample is not None:
                sample = self._sample()
                for user in sample["users"]:
                    user["token"] = tokens.get(str(user["id"]), user["token"])
                seed.seed(self.schema, store, sample, self.now(store))

    def _sample(self) -> dict[str, Any]:
        """The sample world to seed, its development tokens replaced when they are refused."""
        assert self.sample is not None
        users = [dict(u) for u in self.sample["users"]]
        if self.random_user_tokens:
            for user in users:
                user["token"] = secrets.token_urlsafe(24)
        return {**self.sample, "users": users}

    def report(
        self,
        store: Store,
        user: Member,
        report: DeviceReport,
        now: datetime,
        *,
        device_id: str | None = None,
        kind: str | None = None,
    ) -> None:
        """Remember a device's request in the room (the last statement of its transaction)."""
        device = report.device_id or device_id
        if device is None:
            return
        stamp = iso(now)
        store.report_device(
            user.id,
            device,
            stamp,
            model=report.model,
            queue_length=report.queue_length,
            **({f"last_{kind}_at": stamp} if kind else {}),
        )

    def after_commit(self, store_count: int | None) -> None:
        """The test fault hook: die (SIGKILL) right after the N-th upload committed, before replying."""
        if self.fault_after_commit is not None and store_count == self.fault_after_commit:
            os.kill(os.getpid(), signal.SIGKILL)


#: The settings every upload reads (published metadata changes, disabled validation rules).
_UPLOAD_SETTINGS = (online.METADATA_KEY, saving.DISABLED_RULES_KEY)


def json_answer(content: Any, status: int = 200) -> Response:
    """Render an answer now (inside the transaction), so a failure rolls the transaction back."""
    return Response(content=render_json(content), status_code=status, media_type="application/json")


class ServerOptions(TypedDict, total=False):
    """How a server is made (every key optional; see :func:`create_app`)."""

    db_url: str
    clock: Clock | None
    admin_token: str | None
    schema_path: Path | None
    sample_path: Path | None
    load_sample_data: bool
    random_user_tokens: bool
    clock_start: datetime | None
    clock_running: bool
    prepared: bool
    fault_after_commit: int | None


def create_app(**options: Unpack[ServerOptions]) -> FastAPI:
    """Build the stub server app. The database is opened (and prepared) in the app's lifespan.

    ``clock``: the emulated clock to read (the stage's); None keeps the clock in the database,
    starting at ``clock_start`` and running with real time if ``clock_running``.
    ``random_user_tokens``: the sample users get random tokens instead of their development
    ones, which are refused (a server other machines can reach); the app reads the tokens
    through the admin API. ``prepared``: another process has prepared the database (workers).
    """
    return _app_serving(server_state(**options))


def server_state(
    *,
    db_url: str = "sqlite://",
    clock: Clock | None = None,
    admin_token: str | None = None,
    schema_path: Path | None = None,
    sample_path: Path | None = None,
    load_sample_data: bool = True,
    random_user_tokens: bool = False,
    clock_start: datetime | None = None,
    clock_running: bool = False,
    prepared: bool = False,
    fault_after_commit: int | None = None,
) -> ServerState:
    """The state of a new server (see create_app for the arguments)."""
    sample_file = sample_path or seed.default_sample_path()
    sample = seed.load_sample(sample_file) if load_sample_data else None
    refused: frozenset[str] = frozenset()
    if random_user_tokens:
        known = sample or seed.load_sample(seed.default_sample_path())
        refused = frozenset(str(u["token"]) for u in known["users"])
    return ServerState(
        db_url=db_url,
        clock=clock,
        admin_token=admin_token or secrets.token_urlsafe(32),
        schema=load_schema(schema_path),
        sample=sample,
        random_user_tokens=random_user_tokens,
        refused_tokens=refused,
        clock_start=clock_start,
        clock_running=clock_running,
        prepared=prepared,
        fault_after_commit=fault_after_commit,
        seed_source=(
            (file_key(schema_path or default_schema_path()), file_key(sample_file))
            if sample is not None and clock is not None and not random_user_tokens
            else None
        ),
    )


def _app_serving(state: ServerState) -> FastAPI:
    """The FastAPI app: its routes read everything from ``state``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app in _IDLE:  # started again by its old holder: no longer free to hand out
            _IDLE.remove(app)
        state.start()
        try:
            yield
        finally:
            assert state.engine is not None
            state.engine.dispose()
            if getattr(app.state, "reusable", False) and app not in _IDLE:
                _IDLE.append(app)

    app = FastAPI(
        title="Autosync stub server",
        version=VERSION,
        description="A faithful emulation of Vault CRM's Autosync server side.",
        lifespan=lifespan,
    )
    app.state.server = state
    _install_error_handlers(app)

    @app.get("/health", response_model=models.HealthOut, tags=["server"])
    async def health() -> Response:
        """Liveness: answers without a token."""
        with state.transaction() as store:
            return json_answer({"status": "ok", "server_time": iso(state.now(store)), "version": VERSION})

    app.include_router(_device_routes(state))
    app.include_router(_admin_routes(state))
    return app


#: Embedded apps whose lifespan has ended, ready to serve the next embedded server (see embedded_app).
_IDLE: list[FastAPI] = []


def embedded_app(*, clock: Clock, admin_token: str) -> FastAPI:
    """An app for an embedded server (in-memory database, the sample world, the stage's clock).

    Building a FastAPI app and preparing its routes costs far more than a scenario's whole play
    (a pydantic adapter for every parameter of every route), and a scenario library starts one
    embedded server per scenario. So an app whose lifespan has ended is kept and handed to the next
    embedded server with a new :class:`ServerState` in place of the old one: the routes, already
    prepared, read everything from the state, and the new lifespan opens a new database. An app
    is never shared: it is handed out again only after its lifespan has ended.
    """
    fresh = server_state(clock=clock, admin_token=admin_token)
    if not _IDLE:
        app = _app_serving(fresh)
        app.state.reusable = True
        return app
    app = _IDLE.pop()
    state: ServerState = app.state.server
    for name in ServerState.__dataclass_fields__:
        setattr(state, name, getattr(fresh, name))
    return app


def _install_error_handlers(app: FastAPI) -> None:
    def problem(status: int, detail: str) -> Response:
        return json_answer({"detail": safe_text(detail)}, status)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return problem(exc.status, exc.detail)

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> Response:
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
        return problem(422, "; ".join(problems) or "invalid request")

    # a 404 is only ever a NotFound (an ApiError): a LookupError is a bug like any other
    for error_type, status in (
        (saving.PayloadError, 422),
        (FieldValueError, 422),
        (SchemaError, 422),
        (saving.KeyReused, 409),
    ):

        async def _handler(_r: Request, exc: Exception, status: int = status) -> Response:
            text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
            return problem(status, text)

        app.add_exception_handler(error_type, _handler)
    app.add_middleware(_ContainBugs)


class _ContainBugs:
    """A bug while answering (any exception no handler took) is logged and answered 500.

    It is not raised on: in-process, behind ``httpx.ASGITransport``, it would surface inside the
    device's request as if the network had failed; standalone, uvicorn would log it a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            log.exception("a bug answering %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # half an answer is out: only dropping the connection says it failed
            answer = json_answer({"detail": "internal server error (logged on the server)"}, 500)
            await answer(scope, receive, send)


def _feed_page(
    store: Store,
    user_id: str,
    after: int,
    limit: int,
    now: datetime,
    skip: int = 0,
    max_records: int = 1000,
) -> dict[str, Any]:
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


def _device_routes(state: ServerState) -> APIRouter:
    router = APIRouter(route_class=DeviceRoute, tags=["device"])

    @router.get(f"{API}/me", response_model=models.UserOut, responses=_errors(401, 422))
    async def me(user: CurrentUser, report: Report) -> Response:
        """The user a device token belongs to."""
        with state.transaction() as store:
            store.relax_durability()
            state.report(store, user, report, state.now(store))
            return json_answer({"id": user.id, "name": user.name, "territories": list(user.territories)})

    @router.post(
        f"{API}/transactions", response_model=models.UploadResponse, responses=_errors(400, 401, 409, 422)
    )
    async def upload(body: models.UploadRequest, user: CurrentUser, report: Report) -> Response:
        """Upload one queue item; a repeated transaction ID with the same body gets the original
        answer, with another body a 409."""
        count = None
        with state.transaction(write=True) as store:
            store.load_settings(_UPLOAD_SETTINGS)
            now = state.now(store)
            answer = saving.process_upload(state.schema_for(store), store, user, body, now)
            state.report(store, user, report, now, device_id=body.device_id, kind="upload")
            response = json_answer(answer)
            if state.fault_after_commit is not None and not answer["replayed"]:
                count = store.processed_count()
        state.after_commit(count)
        return response

    @router.get(
        f"{API}/feeds/{{user_id}}", response_model=models.FeedPageOut, responses=_errors(401, 403, 422)
    )
    async def read_feed(
        user_id: UserIdParam,
        user: CurrentUser,
        report: Report,
        after: Annotated[int, Query(ge=0, le=2**53)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
        skip: Annotated[int, Query(ge=0, le=100_000)] = 0,
        max_records: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> Response:
        """The user's own Autosync feed after a cursor (AS-15): another user's is 403.

        ``after`` is the last entry read whole, ``skip`` how many records of the next entry
        were already read; at most ``max_records`` records come back (a big transaction can
        take several reads).
        """
        if user.id != user_id:
            raise ApiError(403, "a device reads only its own user's feed")
        with state.transaction() as store:
            store.relax_durability()
            now = state.now(store)
            page = _feed_page(store, user_id, after, limit, now, skip, max_records)
            state.report(store, user, report, now, kind="poll")
            return json_answer(page)

    @router.post(f"{API}/sync", response_model=models.SyncResponse, responses=_errors(400, 401, 422))
    async def incremental_sync(body: models.SyncRequest, user: CurrentUser, report: Report) -> Response:
        """Incremental sync (AS-27): changes after ``cursor`` that the where clauses allow.

        This is its first page; ``next`` says where the next one starts (``/sync/page``)."""
        with state.transaction() as store:
            store.relax_durability()
            now = state.now(store)
            answer = sync.incremental_sync(state.schema_for(store), store, user, body.cursor, now)
            state.report(store, user, report, now, kind="sync")
            return json_answer(answer)

    @router.post(f"{API}/sync/page", response_model=models.SyncPageOut, responses=_errors(400, 401, 422))
    async def incremental_sync_page(body: models.SyncPosition, user: CurrentUser, report: Report) -> Response:
        """The next page of an incremental sync, from the ``next`` of the page before."""
        at = sync.Position(upto=body.upto, phase=body.phase, seq=body.seq, id=body.id)
        with state.transaction() as store:
            store.relax_durability()
            now = state.now(store)
            answer = sync.sync_page(state.schema_for(store), store, user, at, now)
            state.report(store, user, report, now)
            return json_answer(answer)

    @router.post(
        f"{API}/sync/fetch", response_model=list[models.FeedRecordOut], responses=_errors(400, 401, 422)
    )
    async def fetch_records(body: models.FetchRequest, user: CurrentUser, report: Report) -> Response:
        """Records by ID, as a sync fetches what a device lacks; those it may not have left out."""
        with state.transaction() as store:
            store.relax_durability()
            now = state.now(store)
            answer = sync.fetch(state.schema_for(store), store, user, body.ids, now)
            state.report(store, user, report, now)
            return json_answer(answer)

    @router.get(
        f"{API}/records/{{object_name}}/{{record_id}}",
        response_model=models.FeedRecordOut,
        responses=_errors(401, 403, 404, 422),
    )
    async def read_record(
        object_name: NameParam, record_id: RecordIdParam, user: CurrentUser, report: Report
    ) -> Response:
        """One online record, if the user's where clause lets them download it.

        An unknown object is a 404; a record that does not exist and one the user may not see
        are the same 403.
        """
        with state.transaction() as store:
            store.relax_durability()
            now = state.now(store)
            schema = state.schema_for(store)
            if object_name not in schema.objects:
                raise NotFound(f"there is no object called {object_name}")
            record = store.get(object_name, record_id)
            if record is None or not Access(schema, store, user, now).downloadable(object_name, record):
                raise ApiError(403, f"{object_name} {record_id} does not exist or is another user's data")
            state.report(store, user, report, now)
            return json_answer({"object": object_name, "id": record_id, "fields": record})

    @router.get(f"{API}/schema", responses=_errors(401, 422))
    async def read_schema(user: CurrentUser, report: Report) -> Response:
        """The object schema with published metadata changes."""
        with state.transaction() as store:
            store.relax_durability()
            state.report(store, user, report, state.now(store))
            return json_answer(state.schema_for(store).to_json())

    return router


def _admin_routes(state: ServerState) -> APIRouter:
    router = APIRouter(route_class=AdminRoute, tags=["online"], dependencies=[ADMIN_ONLY])
    admin = f"{API}/admin"

    @router.get(f"{admin}/users", response_model=list[models.UserOut], responses=_errors(401, 403))
    async def users() -> Response:
        with state.transaction() as store:
            return json_answer([_user_json(u) for u in store.users()])

    @router.get(
        f"{admin}/users/{{user_id}}/token",
        response_model=models.TokenOut,
        responses=_errors(401, 403, 404, 422),
    )
    async def user_token(user_id: UserIdParam) -> Response:
        """Issue a user's device token (what signing in on an iPad gives the device)."""
        with state.transaction() as store:
            user = _known_user(store, user_id)
            return json_answer({"user_id": user.id, "token": user.token})

    @router.get(
        f"{admin}/users/{{user_id}}/settings",
        response_model=models.UserSettingsOut,
        responses=_errors(401, 403, 404, 422),
    )
    async def read_user_settings(user_id: UserIdParam) -> Response:
        """A user's sync settings: SYNC_WARN_INTERVAL and Refresh mode (AS-33, AS-36)."""
        with state.transaction() as store:
            _known_user(store, user_id)
            return json_answer(device_admin.user_settings(store, user_id))

    @router.patch(
        f"{admin}/users/{{user_id}}/settings",
        response_model=models.UserSettingsOut,
        responses=_errors(400, 401, 403, 404, 422),
    )
    async def change_user_settings(user_id: UserIdParam, body: models.UserSettingsPatch) -> Response:
        """Change a user's sync settings; the iPads read them at their next incremental sync."""
        with state.transaction(write=True) as store:
            _known_user(store, user_id)
            changes = body.model_dump(exclude_none=True)
            return json_answer(device_admin.update_user_settings(store, user_id, changes))

    @router.post(
        f"{admin}/users/{{user_id}}/commands",
        response_model=models.ClientCommandOut,
        responses=_errors(400, 401, 403, 404, 422),
    )
    async def issue_client_command(user_id: UserIdParam, body: models.ClientCommandIn) -> Response:
        """Clear client sync errors or force a full database refresh (AS-34, AS-37).

        Every iPad of the user carries the command out at its next incremental sync.
        """
        with state.transaction(write=True) as store:
            _known_user(store, user_id)
            return json_answer(device_admin.issue_command(store, user_id, body.kind, state.now(store)))

    @router.get(f"{admin}/devices", response_model=models.RoomOut, responses=_errors(401, 403))
    async def room() -> Response:
        """The room: every device that has talked to the server, as it last reported itself.

        A device names itself in the ``X-Autosync-Device`` header (or, uploading, in the body),
        its model in ``X-Autosync-Model`` and its queue length in ``X-Autosync-Queue``; times are
        the server's emulated time. A trainer sees who is offline (an old ``last_poll_at``) or
        stuck (a queue that does not shrink).
        """
        with state.transaction() as store:
            devices = [
                {
                    "user_id": d.user_id,
                    "device_id": d.device_id,
                    "model": d.model,
                    "queue_length": d.queue_length,
                    "last_seen_at": d.last_seen_at,
                    "last_upload_at": d.last_upload_at,
                    "last_poll_at": d.last_poll_at,
                    "last_sync_at": d.last_sync_at,
                }
                for d in store.devices()
            ]
            return json_answer({"server_time": iso(state.now(store)), "devices": devices})

    @router.get(
        f"{admin}/records", response_model=models.OnlineRecordsOut, responses=_errors(401, 403, 404, 422)
    )
    async def online_records(
        object_name: Annotated[
            str | None, Query(alias="object", min_length=1, max_length=64, pattern=models.NAME_PATTERN)
        ] = None,
        offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> Response:
        """The online records, optionally of one object (an unknown object is a 404)."""
        with state.transaction() as store:
            if object_name is not None and object_name not in state.schema_for(store).objects:
                raise NotFound(f"there is no object called {object_name}")
            rows, total = store.records_page(object_name, offset, limit)
            return json_answer(
                {
                    "records": [{"object": r.object, "id": r.id, "fields": r.data} for r in rows],
                    "total": total,
                }
            )

    @router.post(
        f"{admin}/records/{{object_name}}",
        response_model=models.FeedRecordOut,
        responses=_errors(400, 401, 403, 404, 422),
    )
    async def create_online(object_name: NameParam, body: models.OnlineCreate) -> Response:
        """Create a record online (integration or online user): no feed (AS-27)."""
        with state.transaction(write=True) as store:
            schema = _known_object(state, store, object_name)
            record = _online_save(
                lambda: online.create_online(
                    schema, store, object_name, body.owner, dict(body.fields), body.actor, state.now(store)
                )
            )
            return json_answer({"object": object_name, "id": record["id"], "fields": record})

    @router.patch(
        f"{admin}/records/{{object_name}}/{{record_id}}",
        response_model=models.FeedRecordOut,
        responses=_errors(400, 401, 403, 404, 422),
    )
    async def edit_online(
        object_name: NameParam, record_id: RecordIdParam, body: models.OnlineEdit
    ) -> Response:
        """Edit a record online (AS-27): devices see it only after an incremental sync."""
        with state.transaction(write=True) as store:
            schema = _known_object(state, store, object_name)
            record = _online_save(
                lambda: online.edit_online(
                    schema, store, object_name, record_id, dict(body.fields), body.actor, state.now(store)
                )
            )
            return json_answer({"object": object_name, "id": record_id, "fields": record})

    @router.get(
        f"{admin}/feeds/{{user_id}}", response_model=models.FeedPageOut, responses=_errors(401, 403, 404, 422)
    )
    async def admin_feed(user_id: UserIdParam) -> Response:
        """A user's whole feed as it stands, with each entry's age and expiry."""
        with state.transaction() as store:
            _known_user(store, user_id)
            return json_answer(_feed_page(store, user_id, 0, 1000, state.now(store)))

    @router.post(
        f"{admin}/territory-alignment",
        response_model=models.AlignmentOut,
        responses=_errors(400, 401, 403, 404, 422),
    )
    async def territory_alignment(body: models.TerritoryAlignment) -> Response:
        """Run a territory alignment (AS-27): reaches devices by incremental sync only."""
        with state.transaction(write=True) as store:
            moved, user = _online_save(
                lambda: online.align_territories(
                    state.schema_for(store),
                    store,
                    account_ids=list(body.account_ids),
                    territory=body.territory,
                    user_id=body.user_id,
                    user_territories=body.user_territories,
                    now=state.now(store),
                )
            )
            return json_answer(
                {
                    "accounts": [{"object": "account__v", "id": r["id"], "fields": r} for r in moved],
                    "user": None if user is None else _user_json(user),
                }
            )

    @router.post(
        f"{admin}/metadata", response_model=models.MetadataOut, responses=_errors(400, 401, 403, 422)
    )
    async def metadata_change(body: models.MetadataChange) -> Response:
        """Publish a metadata change (new picklist value, relabelled field)."""
        with state.transaction(write=True) as store:
            updated = online.publish_metadata(state.schema, store, body.model_dump(exclude_none=True))
            return json_answer({"metadata_version": updated.metadata_version})

    @router.post(f"{admin}/content", response_model=models.DatasetOut, responses=_errors(400, 401, 403, 422))
    async def publish_content(body: models.ContentPublish) -> Response:
        """Publish CLM or Approved Email content."""
        with state.transaction(write=True) as store:
            row = online.publish_content(store, body.kind, body.name, body.description, state.now(store))
            return json_answer(_dataset_json(row))

    @router.post(
        f"{admin}/datasets/{{name}}/refresh",
        response_model=models.DatasetOut,
        responses=_errors(401, 403, 404, 422),
    )
    async def refresh_dataset(name: NameParam) -> Response:
        """A new load of X-Pages sales data or Nitro data."""
        with state.transaction(write=True) as store:
            return json_answer(_dataset_json(online.refresh_dataset(store, name, state.now(store))))

    @router.get(
        f"{admin}/validation-rules",
        response_model=list[models.ValidationRuleOut],
        responses=_errors(401, 403),
    )
    async def list_rules() -> Response:
        with state.transaction() as store:
            return json_answer(online.validation_rules(state.schema, store))

    @router.put(
        f"{admin}/validation-rules/{{name}}",
        response_model=models.ValidationRuleOut,
        responses=_errors(400, 401, 403, 404, 422),
    )
    async def toggle_rule(name: NameParam, body: models.ValidationRuleToggle) -> Response:
        """Switch a sample validation rule on or off."""
        with state.transaction(write=True) as store:
            online.set_validation_rule(state.schema, store, name, body.enabled)
            rules = online.validation_rules(state.schema, store)
            return json_answer(next(r for r in rules if r["name"] == name))

    @router.get(f"{admin}/clock", response_model=models.ClockOut, responses=_errors(401, 403))
    async def read_clock() -> Response:
        with state.transaction() as store:
            return json_answer({"server_time": iso(state.now(store))})

    @router.post(
        f"{admin}/clock/advance", response_model=models.ClockOut, responses=_errors(400, 401, 403, 422)
    )
    async def advance_clock(body: models.AdvanceClock) -> Response:
        """Move the server's emulated clock forward (to show seven-day feed expiry)."""
        with state.transaction(write=True) as store:
            return json_answer({"server_time": iso(state.advance(store, timedelta(seconds=body.seconds)))})

    @router.post(f"{admin}/reset", response_model=models.HealthOut, responses=_errors(401, 403))
    async def reset() -> Response:
        """Throw the online data away and load the sample world again (tokens and clock stay)."""
        state.reset()
        with state.transaction() as store:
            return json_answer({"status": "ok", "server_time": iso(state.now(store)), "version": VERSION})

    return router


def _user_json(user: UserRow) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "territories": list(user.territories)}


def _known_user(store: Store, user_id: str) -> UserRow:
    user = store.user(user_id)
    if user is None:
        raise NotFound(f"unknown user {user_id}")
    return user


def _known_object(state: ServerState, store: Store, object_name: str) -> Schema:
    schema = state.schema_for(store)
    if object_name not in schema.objects:
        raise NotFound(f"there is no object called {object_name}")
    return schema


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
