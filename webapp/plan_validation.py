"""Checks on the seat-plan parts of untrusted input: layouts, prices, currencies,
auditorium ids, and the body of a new auditorium.

Apart from ``validation.py`` so that the seat-plan rules stay in one place;
``validation.validate_new_show`` calls ``validate_show_plan`` for its plan
fields. Messages name the field, and for layouts the row and position at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import ValidationFailed
from .money import DEFAULT_CURRENCY, is_known_currency
from .seatplan import KINDS, LayoutError, SeatPlan, parse_layout

#: Plan fields of POST /api/shows, besides the classic rows / seats_per_row.
PLAN_FIELDS = {"layout", "auditorium_id", "prices", "currency"}
#: A seat costs at most this many minor units (100,000.00 in a two-decimal
#: currency): ten of them still add up to a total PostgreSQL's integer holds.
MAX_PRICE = 10_000_000
MAX_ID = 2**63 - 1


def _as_int(value: Any) -> int | None:
    """A whole number as JSON Schema sees one (2.0 counts, true does not)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def validate_layout(value: Any, errors: dict[str, str], field: str = "layout") -> SeatPlan | None:
    """A layout as a client sent it. Whitespace around a row is ignored (a row
    typed or pasted with spaces); inside a row it is an error like any other."""
    if isinstance(value, list):
        value = [row.strip() if isinstance(row, str) else row for row in value]
    try:
        return parse_layout(value)
    except LayoutError as exc:
        errors[field] = str(exc)
        return None


def validate_prices(value: Any, errors: dict[str, str]) -> dict[str, int] | None:
    if not isinstance(value, Mapping):
        errors["prices"] = (
            'must be an object of prices in minor units per seat kind, such as {"standard": 950}'
        )
        return None
    prices: dict[str, int] = {}
    for kind, raw in value.items():
        if kind not in KINDS:
            errors["prices"] = f"{str(kind)[:40]!r} is not a seat kind; use {', '.join(KINDS)}"
            return None
        amount = _as_int(raw)
        if amount is None or not 0 <= amount <= MAX_PRICE:
            errors["prices"] = f"{kind}: must be a whole number of minor units from 0 to {MAX_PRICE}"
            return None
        prices[kind] = amount
    if not prices:
        errors["prices"] = "must give a price for each kind of seat in the plan"
        return None
    return prices


def validate_currency(value: Any, errors: dict[str, str]) -> str | None:
    if not isinstance(value, str) or not is_known_currency(value):
        errors["currency"] = "must be an ISO 4217 currency code in capitals, such as EUR or USD"
        return None
    return value


def validate_show_plan(body: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The plan fields of a new show: exactly one of rows + seats_per_row, ``layout``
    or ``auditorium_id``; optional ``prices`` and ``currency``.

    Whether an auditorium exists and whether the prices cover its kinds is
    checked when the show is created (webapp/auditoriums.py), against the
    database. Prices without a currency are in DEFAULT_CURRENCY.
    """
    fields: dict[str, Any] = {"layout": None, "auditorium_id": None, "prices": None, "currency": None}
    given = [name for name in ("layout", "auditorium_id") if name in body]
    rectangle = [name for name in ("rows", "seats_per_row") if name in body]
    if len(given) > 1 or (given and rectangle):
        conflict = given[1] if len(given) > 1 else rectangle[0]
        errors[given[0]] = f"give one of rows and seats_per_row, layout or auditorium_id, not {conflict} too"
    elif "layout" in body:
        plan = validate_layout(body["layout"], errors)
        fields["layout"] = list(plan.layout) if plan is not None else None
    elif "auditorium_id" in body:
        number = _as_int(body["auditorium_id"])
        if number is None or not 1 <= number <= MAX_ID:
            errors["auditorium_id"] = "must be the id of an auditorium (a positive whole number)"
        else:
            fields["auditorium_id"] = number
    if "prices" in body and body["prices"] is not None:
        fields["prices"] = validate_prices(body["prices"], errors)
    if "currency" in body and body["currency"] is not None:
        fields["currency"] = validate_currency(body["currency"], errors)
    if fields["prices"] is not None and fields["currency"] is None and "currency" not in errors:
        fields["currency"] = DEFAULT_CURRENCY
    if fields["layout"] is not None and fields["prices"] is not None:
        missing = [
            kind
            for kind in KINDS
            if kind in parse_layout(fields["layout"]).kinds and kind not in fields["prices"]
        ]
        if missing:
            errors["prices"] = f"no price for {', '.join(missing)}: every kind of seat in the plan needs one"
    return fields


def validate_new_auditorium(body: Any, clean_name: Any) -> tuple[str, SeatPlan]:
    """``{"name", "layout"}`` -> (name, plan); ``clean_name`` is validation's text cleaner."""
    if not isinstance(body, Mapping):
        raise ValidationFailed({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    for name in body:
        if name not in ("name", "layout"):
            errors[str(name)[:100]] = "unknown field"
    name = clean_name(body["name"], "name", errors, max_length=100) if "name" in body else None
    if "name" not in body:
        errors["name"] = "is required"
    plan = validate_layout(body["layout"], errors) if "layout" in body else None
    if "layout" not in body:
        errors["layout"] = "is required"
    if errors or name is None or plan is None:
        raise ValidationFailed(errors)
    return name, plan
