"""The named validation rules, triggers and formulas, as tables (AS-13, AS-14)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from server_stub import logic
from server_stub.logic import SaveContext

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ACCOUNTS = {"A1": {"id": "A1", "territory__v": "T-NE"}}
CTX = SaveContext(now=NOW, lookup=lambda obj, rid: ACCOUNTS.get(rid))


@pytest.mark.rule("AS-13")
@pytest.mark.parametrize(
    ("rule", "record", "passes"),
    [
        ("account_requires_name", {"account_type__v": "hcp__v", "last_name__v": "Ng"}, True),
        ("account_requires_name", {"account_type__v": "hcp__v", "last_name__v": " "}, False),
        ("account_requires_name", {"account_type__v": "institution__v"}, False),
        ("address_us_postal_code", {"country__v": "us__v", "postal_code__v": "02139"}, True),
        ("address_us_postal_code", {"country__v": "us__v", "postal_code__v": "2139"}, False),
        ("address_us_postal_code", {"country__v": "de__v", "postal_code__v": "69117"}, True),
        (
            "call_no_future_submit",
            {"status__v": "submitted__v", "call_date__v": "2026-11-26"},
            True,
        ),
        (
            "call_no_future_submit",
            {"status__v": "submitted__v", "call_date__v": "2026-11-27"},
            False,
        ),
        ("call_no_future_submit", {"status__v": "saved__v", "call_date__v": "2026-12-27"}, True),
        ("call_sample_quantity_range", {"quantity__v": 50}, True),
        ("call_sample_quantity_range", {"quantity__v": 51}, False),
        ("call_sample_quantity_range", {"quantity__v": 0}, False),
        ("call_expense_limit", {"amount__v": 500}, True),
        ("call_expense_limit", {"amount__v": 500.01}, False),
        ("order_line_quantity_positive", {"quantity__v": 1}, True),
        ("order_line_quantity_positive", {"quantity__v": 0}, False),
        ("dcr_line_new_value_required", {"new_value__v": "x"}, True),
        ("dcr_line_new_value_required", {}, False),
    ],
)
def test_validation_rules(rule: str, record: dict[str, Any], passes: bool) -> None:
    assert logic.VALIDATION_RULES[rule](record, CTX) is passes


@pytest.mark.rule("AS-14")
@pytest.mark.parametrize(
    ("trigger", "record", "online", "expected"),
    [
        ("call_territory_from_account", {"account__v": "A1"}, None, {"territory__v": "T-NE"}),
        (
            "call_stamp_submission",
            {"status__v": "submitted__v"},
            None,
            {"submitted_date__v": "2026-11-26T09:00:00Z"},
        ),
        ("call_stamp_submission", {"status__v": "saved__v"}, None, {}),
        (
            "order_default_delivery_date",
            {"order_date__v": "2026-11-30"},
            None,
            {"delivery_date__v": "2026-12-03"},
        ),
        (
            "order_default_delivery_date",
            {"order_date__v": "2026-11-30", "delivery_date__v": "2026-12-10"},
            None,
            {"delivery_date__v": "2026-12-10"},
        ),
        (
            "dcr_route_for_review",
            {"status__v": "submitted__v"},
            None,
            {"review_status__v": "Pending data steward review"},
        ),
    ],
)
def test_triggers(trigger: str, record: dict[str, Any], online: Any, expected: dict[str, Any]) -> None:
    logic.TRIGGERS[trigger](record, online, CTX)
    assert {k: record.get(k) for k in expected} == expected


@pytest.mark.rule("AS-14")
@pytest.mark.parametrize(
    ("formula", "record", "value"),
    [
        ("account_formatted_name", {"first_name__v": "Ada", "last_name__v": "Byron"}, "Byron, Ada"),
        (
            "account_formatted_name",
            {"account_type__v": "institution__v", "institution_name__v": "Mercy General"},
            "Mercy General",
        ),
        ("order_line_net_amount", {"quantity__v": 3, "list_price__v": 10, "discount__v": 50}, 15.0),
        ("order_line_net_amount", {"quantity__v": 3, "list_price__v": 10}, 30.0),
    ],
)
def test_formulas(formula: str, record: dict[str, Any], value: Any) -> None:
    assert logic.FORMULAS[formula](record) == value
