"""The server's named save logic: validation rules, triggers and formulas.

The schema file refers to these functions by name. Each is small and pure apart from what
:class:`SaveContext` offers (the emulated time and read access to other online records).

* A validation rule returns True when the record passes.
* A trigger changes ``record`` in place before the save, given the online version (or None).
* A formula returns the computed value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from server_stub.clock import iso

Record = dict[str, Any]


@dataclass(frozen=True)
class SaveContext:
    """What the save logic may look at besides the record itself."""

    now: datetime
    lookup: Callable[[str, str], Record | None]


ValidationRule = Callable[[Record, SaveContext], bool]
Trigger = Callable[[Record, Record | None, SaveContext], None]
Formula = Callable[[Record], Any]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def account_requires_name(record: Record, ctx: SaveContext) -> bool:
    if record.get("account_type__v") == "institution__v":
        return not _blank(record.get("institution_name__v"))
    return not _blank(record.get("last_name__v"))


def address_us_postal_code(record: Record, ctx: SaveContext) -> bool:
    if record.get("country__v") != "us__v":
        return True
    code = record.get("postal_code__v") or ""
    return len(code) == 5 and code.isdigit()


def call_no_future_submit(record: Record, ctx: SaveContext) -> bool:
    if record.get("status__v") != "submitted__v" or not record.get("call_date__v"):
        return True
    return date.fromisoformat(record["call_date__v"]) <= ctx.now.date()


def call_sample_quantity_range(record: Record, ctx: SaveContext) -> bool:
    quantity = record.get("quantity__v")
    return quantity is not None and 1 <= quantity <= 50


def call_expense_limit(record: Record, ctx: SaveContext) -> bool:
    return (record.get("amount__v") or 0) <= 500


def order_line_quantity_positive(record: Record, ctx: SaveContext) -> bool:
    return (record.get("quantity__v") or 0) >= 1


def dcr_line_new_value_required(record: Record, ctx: SaveContext) -> bool:
    return not _blank(record.get("new_value__v"))


def call_territory_from_account(record: Record, online: Record | None, ctx: SaveContext) -> None:
    if online is not None and online.get("account__v") == record.get("account__v"):
        return
    account = ctx.lookup("account__v", record.get("account__v") or "")
    record["territory__v"] = account.get("territory__v") if account else None


def call_stamp_submission(record: Record, online: Record | None, ctx: SaveContext) -> None:
    if record.get("status__v") == "submitted__v" and not record.get("submitted_date__v"):
        record["submitted_date__v"] = iso(ctx.now)


def order_default_delivery_date(record: Record, online: Record | None, ctx: SaveContext) -> None:
    if not record.get("delivery_date__v") and record.get("order_date__v"):
        ordered = date.fromisoformat(record["order_date__v"])
        record["delivery_date__v"] = (ordered + timedelta(days=3)).isoformat()


def dcr_route_for_review(record: Record, online: Record | None, ctx: SaveContext) -> None:
    if record.get("status__v") == "submitted__v":
        record["review_status__v"] = "Pending data steward review"
    else:
        record["review_status__v"] = "Not submitted"


def account_formatted_name(record: Record) -> str:
    if record.get("account_type__v") == "institution__v":
        return str(record.get("institution_name__v") or "")
    last, first = record.get("last_name__v") or "", record.get("first_name__v") or ""
    return f"{last}, {first}" if first else str(last)


def order_line_net_amount(record: Record) -> float:
    quantity = record.get("quantity__v") or 0
    price = record.get("list_price__v") or 0
    discount = record.get("discount__v") or 0
    return round(quantity * price * (1 - discount / 100), 2)


VALIDATION_RULES: Mapping[str, ValidationRule] = {
    f.__name__: f
    for f in (
        account_requires_name,
        address_us_postal_code,
        call_no_future_submit,
        call_sample_quantity_range,
        call_expense_limit,
        order_line_quantity_positive,
        dcr_line_new_value_required,
    )
}
TRIGGERS: Mapping[str, Trigger] = {
    f.__name__: f
    for f in (
        call_territory_from_account,
        call_stamp_submission,
        order_default_delivery_date,
        dcr_route_for_review,
    )
}
FORMULAS: Mapping[str, Formula] = {f.__name__: f for f in (account_formatted_name, order_line_net_amount)}
