"""The errors the HTTP API answers with, and how every answer is rendered safely.

::

    Exception
    ├── ApiError                  answered as {"detail": ...} with its own status
    │   └── NotFound              404: no such object, record, user, data set or rule
    └── ValueError
        ├── saving.PayloadError   422: the upload does not fit the schema
        ├── saving.KeyReused      409: an idempotency key sent again with another body
        ├── schema.FieldValueError 422: a value does not fit its field
        └── schema.SchemaError    422: a metadata change does not fit the schema

Every message may quote what a client sent (a path, a key); :func:`safe_text` makes it
printable JSON whatever was sent, so an error answer can never fail to render.

Anything else raised while answering (a ``KeyError`` included) is a bug: it is logged with its
traceback and answered 500, never mistaken for a 404.
"""

from __future__ import annotations

import json
from typing import Any

from autosync_wire import LONE_SURROGATE


class ApiError(Exception):
    """An error answered as ``{"detail": message}`` with the given status."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class NotFound(ApiError):
    """What the request names does not exist: answered 404 with ``detail``."""

    def __init__(self, detail: str) -> None:
        super().__init__(404, detail)


def safe_text(text: str, limit: int = 500) -> str:
    """``text`` cut to ``limit`` characters, lone surrogates and NULs replaced."""
    text = LONE_SURROGATE.sub("\ufffd", text).replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_json(content: Any) -> bytes:
    """Compact UTF-8 JSON; raises ValueError for what JSON cannot carry (NaN, lone surrogates)."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")
