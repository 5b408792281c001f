"""No upload, whatever text and numbers it carries, can make any endpoint answer 5xx afterwards.

Hypothesis writes upload bodies with arbitrary unicode (lone surrogates and NULs included, sent
as JSON escapes exactly as an attacker would), arbitrary numbers (huge, tiny, infinite, NaN)
and booleans into the real fields of real objects, as creates and as edits of records the user
has. After each upload, the upload again, the user's feed, incremental sync, fetch, the direct
record read and the admin's record list must all answer without a server error.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server_stub.app import create_app
from server_stub.clock import ManualClock
from server_stub.schema import load_schema
from tests.server_stub.conftest import ADMIN, ANNA, BEN, Api

SCHEMA = load_schema()
NUMBERS = itertools.count(1)
OBJECTS = sorted(SCHEMA.objects)
ANY_CHARACTER = st.characters(exclude_categories=())  # lone surrogates included
TEXT = st.one_of(
    st.text(max_size=40),  # any unicode a JSON string can hold, NUL and controls included
    st.text(ANY_CHARACTER, max_size=12),
    st.text(st.sampled_from("a\x00\ud800\udc00\ufffe\u202e"), max_size=5),
)
NUMBERS_ = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e6, max_value=1e6),
)
ANYTHING = st.one_of(TEXT, NUMBERS_, st.booleans(), st.none())
#: Creates the save logic accepts as they are, so that the drawn values reach a real save.
TEMPLATES: dict[str, dict[str, Any]] = {
    "account__v": {"account_type__v": "hcp__v", "last_name__v": "Fuzz", "territory__v": "T-NE"},
    "medical_event__v": {"event_name__v": "Fuzz", "start_date__v": "2026-11-20", "territory__v": "T-NE"},
    "call2__v": {"account__v": "V0A000000000001", "call_date__v": "2026-11-20"},
    "competitor_activity__c": {"account__v": "V0A000000000001", "competitor__c": "acme_pharma__c"},
}
#: Records Anna may edit, and one of another user (Chloe's account).
EDITABLE = ["V0A000000000001", "V2C000000000003", "V0A000000000011", "nope"]


def value_for(object_name: str, name: str) -> st.SearchStrategy[Any]:
    """Mostly a value of the field's own kind (so that saves happen), sometimes anything."""
    kind = SCHEMA.objects[object_name].fields[name].type
    own = {"text": TEXT, "long_text": TEXT, "number": NUMBERS_, "boolean": st.booleans()}.get(kind, ANYTHING)
    return st.one_of(own, own, own, ANYTHING)


def optional(object_name: str) -> list[str]:
    fields = SCHEMA.objects[object_name].fields
    template = TEMPLATES.get(object_name, {})
    return sorted(n for n, f in fields.items() if f.writable and n not in template and f.type != "picklist")


@st.composite
def items(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["template", "template", "template", "edit", "edit", "anything"]))
    if kind == "template":
        object_name = draw(st.sampled_from(sorted(TEMPLATES)))
        chosen = draw(st.lists(st.sampled_from(optional(object_name)), min_size=1, max_size=2, unique=True))
        fields = {**TEMPLATES[object_name], **{n: draw(value_for(object_name, n)) for n in chosen}}
        return {
            "op": "create",
            "object": object_name,
            "id": f"tmp-{draw(st.integers(0, 9))}",
            "fields": fields,
        }
    if kind == "edit":
        record_id = draw(st.sampled_from(EDITABLE))
        object_name = "call2__v" if record_id.startswith("V2C") else "account__v"
        chosen = draw(st.lists(st.sampled_from(optional(object_name)), min_size=1, max_size=2, unique=True))
        changes = {n: {"old": None, "new": draw(value_for(object_name, n))} for n in chosen}
        return {"op": "update", "object": object_name, "id": record_id, "changes": changes}
    object_name = draw(st.sampled_from(OBJECTS))
    chosen = draw(
        st.lists(st.sampled_from(sorted(SCHEMA.objects[object_name].fields)), max_size=4, unique=True)
    )
    values = {name: draw(ANYTHING) for name in chosen}
    if draw(st.booleans()):
        return {
            "op": "create",
            "object": object_name,
            "id": f"tmp-{draw(st.integers(0, 9))}",
            "fields": values,
        }
    record_id = draw(st.sampled_from(EDITABLE))
    op = draw(st.sampled_from(["update", "delete"]))
    body = {"op": op, "object": object_name, "id": record_id}
    changes = {n: {"old": draw(ANYTHING), "new": v} for n, v in values.items()}
    return {**body, "changes": changes} if op == "update" else body


@pytest.fixture(scope="module")
def shared() -> Iterator[Api]:
    clock = ManualClock()
    server = Api(create_app(clock=clock, admin_token=ADMIN), clock)
    yield server
    server.close()


def answered(response: Any) -> Any:
    assert response.status_code < 500, (response.request.url, response.status_code, response.text)
    return response


@pytest.mark.slow
@given(
    body_items=st.lists(items(), min_size=1, max_size=2),
    reuse=st.booleans(),
)
@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_upload_makes_any_endpoint_fail(
    shared: Api, body_items: list[dict[str, Any]], reuse: bool
) -> None:
    api = shared
    transaction = "t-reused" if reuse else f"t-{next(NUMBERS)}"
    body = {"transaction_id": transaction, "device_id": "fuzz", "items": body_items}
    raw = json.dumps(body, allow_nan=True).encode()  # lone surrogates as \\udxxx, NaN and Infinity bare
    headers = {"Content-Type": "application/json"}
    first = answered(api.request("POST", "/api/v1/transactions", ANNA, headers=headers, content=raw))
    again = answered(api.request("POST", "/api/v1/transactions", ANNA, headers=headers, content=raw))
    assert again.status_code == first.status_code or again.status_code == 409
    ids = list(first.json().get("id_map", {}).values()) if first.status_code == 200 else []
    answered(api.request("GET", "/api/v1/feeds/anna", ANNA))
    assert answered(api.request("POST", "/api/v1/sync", BEN, json={"cursor": None})).status_code == 200
    assert answered(api.request("POST", "/api/v1/sync", ANNA, json={"cursor": 0})).status_code == 200
    assert (
        answered(api.request("POST", "/api/v1/sync/fetch", ANNA, json={"ids": [*ids, "x"]})).status_code
        == 200
    )
    for item in body_items:
        answered(api.request("GET", f"/api/v1/records/{item['object']}/{item['id']}", ANNA))
    assert answered(api.request("GET", "/api/v1/admin/records", ADMIN)).status_code == 200
    assert answered(api.request("GET", "/api/v1/admin/feeds/anna", ADMIN)).status_code == 200
