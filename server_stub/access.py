"""Who may do what: every request's token and every record's where clause, decided here only.

**Requests.** Each path belongs to a guarded route class that checks the bearer token before the
request's body is even read: a device path needs a user's token (401 without one or with an
unknown one); the online side needs the admin token (401 without a token, 403 with any other).
So a bad body never tells an anonymous caller anything (no 422 before 401 / 403). On a server
other machines can reach, the sample users' development tokens are refused outright.

**Records.** A user *may see* a record when its VMOC where clause holds for them, leaving out the
clause's date window (AS-19: that window limits what a device downloads, not what it may refer
to or edit). Everything a user touches goes through it: a record they edit or delete, every
record a save refers to, and every record a save would put on their feed besides their own
(masters, submitted originals). A record is *downloadable* when the whole clause holds, date
window included: what incremental sync, fetch and direct reads give out. Autosync's feed never
applies the where clause to a user's own saves (AS-16).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal, Protocol

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server_stub.errors import ApiError
from server_stub.schema import Schema
from server_stub.store import Record, Store

Role = Literal["user", "admin"]


@dataclass(frozen=True)
class Member:
    """A signed-in user, as a request knows them."""

    id: str
    name: str
    territories: tuple[str, ...]


class Authority(Protocol):
    """What authentication needs from the running server."""

    admin_token: str
    refused_tokens: Collection[str]

    def member_by_token(self, token: str) -> Member | None: ...


@dataclass(frozen=True)
class Principal:
    """Who sent a request: a user, or the admin (the online side)."""

    user: Member | None


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer ...`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authenticate(authority: Authority, header: str | None, role: Role) -> Principal:
    """Check a request's token for a path of ``role``; raise ApiError 401 / 403 otherwise."""
    token = bearer_token(header)
    if token is None:
        raise ApiError(401, "a bearer token is required")
    if role == "admin":
        if not secrets.compare_digest(token.encode(), authority.admin_token.encode()):
            raise ApiError(403, "this needs the admin token")
        return Principal(user=None)
    member = None if token in authority.refused_tokens else authority.member_by_token(token)
    if member is None:
        raise ApiError(401, "unknown token")
    return Principal(user=member)


class GuardedRoute(APIRoute):
    """A route whose token is checked before anything else of the request is looked at."""

    role: ClassVar[Role]

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        role = self.role

        async def guarded(request: Request) -> Response:
            authority: Authority = request.app.state.server
            request.state.principal = authenticate(authority, request.headers.get("authorization"), role)
            return await handler(request)

        return guarded


class DeviceRoute(GuardedRoute):
    """A device path: a user's token."""

    role = "user"


class AdminRoute(GuardedRoute):
    """The online side: the admin token."""

    role = "admin"


#: Declares the bearer scheme in OpenAPI; the guarded route has already checked the token.
_bearer = HTTPBearer(auto_error=False, description="A user's device token, or the admin token.")


async def _current_user(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Member:
    principal: Principal = request.state.principal
    if principal.user is None:  # a device dependency on an admin route: a programming error
        raise RuntimeError("this route is not a device route")
    return principal.user


async def _admin(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    principal: Principal = request.state.principal
    if principal.user is not None:
        raise RuntimeError("this route is not an admin route")


CurrentUser = Annotated[Member, Depends(_current_user)]
ADMIN_ONLY = Depends(_admin)


class Access:
    """Where clauses for one user at one moment, with look-ups cached for the request."""

    def __init__(self, schema: Schema, store: Store, user: Member, now: datetime) -> None:
        self.schema = schema
        self.store = store
        self.user = user
        self.today = now.date()
        self._seen: dict[tuple[str, bool], bool] = {}

    def may_see(self, object_name: str, record: Record) -> bool:
        """The where clause without its date window: may the user refer to or edit this record?"""
        return self._holds(object_name, record, dated=False)

    def downloadable(self, object_name: str, record: Record) -> bool:
        """The whole where clause (AS-19): may a device of the user download this record?"""
        return self._holds(object_name, record, dated=True)

    def reference(self, object_name: str, record_id: object) -> Record | None:
        """The live record ``record_id`` of ``object_name`` if the user may see it, else None.

        Whether it does not exist or belongs to someone else is deliberately not told apart.
        """
        if not isinstance(record_id, str):
            return None
        record = self.store.get(object_name, record_id)
        return record if record is not None and self.may_see(object_name, record) else None

    def _holds(self, object_name: str, record: Record, *, dated: bool) -> bool:
        key = record.get("id")
        cache_key = (key, dated) if isinstance(key, str) else None
        if cache_key is not None and cache_key in self._seen:
            return self._seen[cache_key]
        obj = self.schema.objects.get(object_name)
        result = obj is not None and all(
            self._condition(object_name, record, cond.kind, cond.field, cond.days, dated)
            for cond in obj.where
        )
        if cache_key is not None:
            self._seen[cache_key] = result
        return result

    def _condition(
        self, object_name: str, record: Record, kind: str, field: str | None, days: int, dated: bool
    ) -> bool:
        if kind == "all":
            return True
        if kind == "owner":
            return record.get("ownerid__v") == self.user.id
        assert field is not None
        value = record.get(field)
        if kind == "territory":
            return value in self.user.territories
        if kind == "within_days":
            if not dated:
                return True
            if not isinstance(value, str):
                return False
            try:
                return date.fromisoformat(value) >= self.today - timedelta(days=days)
            except ValueError:
                return False
        # via: the record pointed at must pass the same test
        target = self.schema.objects[object_name].fields[field].target
        if not isinstance(value, str) or target is None:
            return False
        parent = self.store.get(target, value)
        return parent is not None and self._holds(target, parent, dated=dated)
