"""The emulator's errors, each caught by the layer that can do something about it.

::

    Exception
    └── AutosyncError                 anything the emulator itself reports (not a bug)
        ├── ActionRefused             an iPad refuses what its user asked; str() is what the user reads
        ├── ServerError               the server could not do what the stage asked of it
        │   ├── ServerRefused         it answered 4xx: ``status`` and the server's ``message``
        │   │   └── NotFound          404: no such user, record, object, data set or rule
        │   ├── ServerUnreachable     no answer at all: not running, wrong address, connection dropped
        │   └── MalformedAnswer       a success whose body is not what the wire protocol says
        └── ScenarioError             a scenario that cannot be read or played
            ├── scenarios.loader.ScenarioFileError    FILE:LINE: what is wrong with the file
            └── scenarios.resolving.ScenarioRunError  a step that could not be played

Who catches what: the engine turns a refused upload into a sync error and a transport failure (or
an answer it cannot read) into a retry, and raises nothing of either; a scenario step turns
``ServerError`` into "could not be played"; the window shows ``ActionRefused`` as the app's
refusal and any other ``AutosyncError`` as a problem, and logs anything else as the bug it is.
Arguments a caller got wrong stay ``ValueError`` (a bad device ID, an unknown network mode).

No Qt, no server code: the engine, the scenarios and the window all import this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import httpx
from pydantic_core import ValidationError  # pydantic's own; importing pydantic here is not needed

if TYPE_CHECKING:
    from pydantic import BaseModel, TypeAdapter

M = TypeVar("M", bound="BaseModel")
T = TypeVar("T")


class AutosyncError(Exception):
    """Something the emulator reports in words: ``str(exc)`` is meant for people."""


class ActionRefused(AutosyncError):
    """The device refuses an action; ``str(exc)`` is what the user reads."""


class ServerError(AutosyncError):
    """The server could not do what was asked."""


class ServerRefused(ServerError):
    """The server answered with a 4xx: it understood and said no.

    Attributes:
        status: the HTTP status.
        message: the server's reason (its ``detail``), as it said it.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ServerRefused:
        """The refusal ``response`` carries (a 404 is a :class:`NotFound`)."""
        message = detail_of(response)
        return NotFound(message) if response.status_code == 404 else cls(response.status_code, message)


class NotFound(ServerRefused):
    """The server has no such user, record, object, data set or rule."""

    def __init__(self, message: str) -> None:
        super().__init__(404, message)


class ServerUnreachable(ServerError):
    """No answer from the server (or a 5xx): it is down, elsewhere, or the connection dropped."""


class MalformedAnswer(ServerError):
    """The server said yes (2xx) but its body is not what :mod:`autosync_wire` says it holds.

    ``str(exc)`` names the request and the first thing wrong, e.g. ``the answer to POST
    /api/v1/transactions could not be read: outcome: field required``.
    """


class ScenarioError(AutosyncError):
    """A scenario that cannot be read or played; its subclasses say where."""


def detail_of(response: httpx.Response) -> str:
    """The server's reason for an error answer: its ``detail``, else the body, else the status."""
    try:
        body = response.json()
    except ValueError:
        return response.text or f"status {response.status_code}"
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return response.text or f"status {response.status_code}"


def check_answer(response: httpx.Response) -> httpx.Response:
    """``response`` if it is a success; else the error it means (4xx refused, 5xx unreachable)."""
    if response.status_code >= 500:
        raise ServerUnreachable(f"the server failed ({response.status_code}): {detail_of(response)}")
    if response.status_code >= 400:
        raise ServerRefused.from_response(response)
    return response


def read_answer(model: type[M], response: httpx.Response) -> M:
    """The body of a success ``response`` read as ``model`` (an :mod:`autosync_wire` answer).

    A body that is no JSON, or lacks or mistypes what the model needs, is a
    :class:`MalformedAnswer`, never a ``KeyError`` deep in the caller.
    """
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise _malformed(response, exc) from exc


def read_answer_as(shape: TypeAdapter[T], response: httpx.Response) -> T:
    """Like :func:`read_answer`, for an answer that is not one model (a list of records)."""
    try:
        return shape.validate_json(response.content)
    except ValidationError as exc:
        raise _malformed(response, exc) from exc


def _malformed(response: httpx.Response, exc: ValidationError) -> MalformedAnswer:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the body"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    request = response.request
    return MalformedAnswer(
        f"the answer to {request.method} {request.url.path} could not be read: {where}: {first['msg']}{more}"
    )
