"""The emulator's errors, each caught by the layer that can do something about it.

::

    Exception
    └── AutosyncError                 anything the emulator itself reports (not a bug)
        ├── ActionRefused             an iPad refuses what its user asked; str() is what the user reads
        ├── ServerError               the server could not do what the stage asked of it
        │   ├── ServerRefused         it answered 4xx: ``status`` and the server's ``message``
        │   │   └── NotFound          404: no such user, record, object, data set or rule
        │   └── ServerUnreachable     no answer at all: not running, wrong address, connection dropped
        └── ScenarioError             a scenario that cannot be read or played
            ├── scenarios.loader.ScenarioFileError    FILE:LINE: what is wrong with the file
            └── scenarios.resolving.ScenarioRunError  a step that could not be played

Who catches what: the engine turns a refused upload into a sync error and a transport failure into
a retry, and raises nothing of either; a scenario step turns ``ServerError`` into "could not be
played"; the window shows ``ActionRefused`` as the app's refusal and any other ``AutosyncError``
as a problem, and logs anything else as the bug it is. Arguments a caller got wrong stay
``ValueError`` (a bad device ID, an unknown network mode).

No Qt, no server code: the engine, the scenarios and the window all import this module.
"""

from __future__ import annotations

import httpx


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
