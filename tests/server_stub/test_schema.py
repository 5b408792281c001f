"""The schema file: loaded, checked, refused with the place named when malformed."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from server_stub.schema import FieldValueError, SchemaError, load_schema, parse_schema

BUNDLED = load_schema()


def raw() -> dict[str, Any]:
    return copy.deepcopy(BUNDLED.raw)


@pytest.mark.rule("AS-05")
def test_the_six_families_are_declared_as_data() -> None:
    roots = {f.root for f in BUNDLED.families.values()}
    assert roots == {
        "call2__v",
        "order__v",
        "inventory_monitoring__v",
        "content_acknowledgement__v",
        "medical_inquiry_fulfillment__v",
        "data_change_request__v",
    }
    call = BUNDLED.families["call"]
    assert set(call.members) >= {
        "call2_sample__v",
        "call2_discussion__v",
        "medical_discussion__v",
        "call2_key_message__v",
        "call2_expense__v",
        "task__v",
        "call2_clickstream__v",
    }
    assert BUNDLED.family_of("account__v") is None
    assert BUNDLED.family_of("delivery_order__v") is BUNDLED.families["order"]


def test_the_sample_schema_has_the_promised_logic() -> None:
    objects = BUNDLED.objects.values()
    assert len(BUNDLED.validation_rules) >= 4 and len(BUNDLED.triggers) >= 2
    types = {f.type for o in objects for f in o.fields.values()}
    assert {"formula", "rollup", "autonumber", "picklist", "master_detail", "date"} <= types
    assert any(name.endswith("__c") for name in BUNDLED.objects)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["objects"]["call2__v"]["fields"].update(x__v={"type": "blob"}),
            "call2__v.x__v: unknown field type 'blob'",
        ),
        (
            lambda d: d["objects"]["call2__v"]["fields"]["account__v"].pop("object"),
            "call2__v.account__v: a lookup field needs 'object'",
        ),
        (
            lambda d: d["objects"]["call2__v"].update(validation_rules=["nope"]),
            "call2__v: validation rule nope is not declared",
        ),
        (
            lambda d: d["families"]["order"].update(members=["ghost__v"]),
            "family order: unknown object ghost__v",
        ),
        (
            lambda d: d["objects"]["account__v"].update(where=[{"near": 1}]),
            "account__v: unknown where condition 'near'",
        ),
        (lambda d: d.pop("objects"), "the schema needs an 'objects' mapping"),
    ],
)
def test_a_malformed_schema_is_refused_naming_the_place(mutate: Any, message: str) -> None:
    data = raw()
    mutate(data)
    with pytest.raises(SchemaError, match=re.escape(message)):
        parse_schema(data)


def test_a_schema_file_that_is_not_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("objects: [unclosed", encoding="utf-8")
    with pytest.raises(SchemaError, match=re.escape("broken.yaml: not valid YAML")):
        load_schema(path)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("call_date__v", "2026-11-26", "2026-11-26"),
        ("duration__v", 30, 30),
        ("status__v", "submitted__v", "submitted__v"),
        ("notes__v", "", None),
    ],
)
def test_values_that_fit_are_normalised(field: str, value: object, expected: object) -> None:
    assert BUNDLED.object("call2__v").field(field).coerce("call2__v", value) == expected


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("call_date__v", "26/11/2026", "call2__v.call_date__v must be a date"),
        ("duration__v", "thirty", "call2__v.duration__v must be a number"),
        ("duration__v", True, "call2__v.duration__v must be a number"),
        ("duration__v", float("nan"), "must be a finite number"),
        ("status__v", "done", "call2__v.status__v must be one of planned__v"),
        ("notes__v", 5, "call2__v.notes__v must be text"),
        ("name__v", "C-1", "computed by the server"),
    ],
)
def test_values_that_do_not_fit_name_the_problem(field: str, value: object, message: str) -> None:
    with pytest.raises(FieldValueError, match=message):
        BUNDLED.object("call2__v").field(field).coerce("call2__v", value)


def test_metadata_changes_apply_on_top_and_count_versions() -> None:
    changed = BUNDLED.with_changes(
        [
            {
                "kind": "relabel_field",
                "object": "call2__v",
                "field": "notes__v",
                "label": "Remarks",
            },
            {
                "kind": "add_picklist_value",
                "object": "call2__v",
                "field": "call_type__v",
                "value": "virtual__v",
                "label": "Virtual",
            },
        ]
    )
    assert changed.metadata_version == 2
    assert changed.object("call2__v").field("notes__v").label == "Remarks"
    assert BUNDLED.object("call2__v").field("notes__v").label == "Notes", "the base is untouched"


def test_bundled_file_round_trips_through_yaml() -> None:
    assert parse_schema(yaml.safe_load(yaml.safe_dump(raw()))).objects.keys() == BUNDLED.objects.keys()
