"""The seat-plan and price fields of the admin's new-show form, and the
layout editor's live preview: form text in, the API's shapes out.

The preview is drawn by the server's own parser (webapp/seatplan.py, through
``validation.seat_layout``), so what the editor shows is exactly what the API
would accept or refuse.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from ..booking import auditoriums
from ..extensions import db
from ..money import DEFAULT_CURRENCY, is_known_currency, minor_unit_digits
from ..seatplan import KINDS, SeatPlan
from ..validation import collect, seat_layout
from ..web.seatmap import KIND_WORDS

#: Names of the new-show form's price inputs, one per seat kind.
PRICE_FIELDS = {kind: f"price_{kind}" for kind in KINDS}
PLAN_FORM_FIELDS = ("auditorium_id", "currency", *PRICE_FIELDS.values())


def layout_from_text(raw: str) -> list[str]:
    """The textarea's rows: one per line, blank lines and surrounding spaces ignored."""
    return [line.strip() for line in raw.splitlines() if line.strip()]


def plan_preview(raw: str) -> dict[str, Any]:
    """What the preview partial needs: the plan's grid, or the error that names the fault."""
    form_errors: dict[str, str] = {}
    plan = collect(form_errors, "layout", seat_layout, layout_from_text(raw)) if raw.strip() else None
    return {
        "plan": plan,
        "grid": _grid(plan) if plan else [],
        "error": form_errors.get("layout"),
        "kind_counts": _kind_counts(plan),
        "kind_words": KIND_WORDS,
    }


def _grid(plan: SeatPlan) -> list[tuple[str, list[Any]]]:
    width = plan.seats_per_row
    rows: dict[str, list[Any]] = {chr(65 + i): [None] * width for i in range(plan.rows)}
    for seat in plan.seats:
        rows[seat.row][seat.column - 1] = seat
    return list(rows.items())


def _kind_counts(plan: SeatPlan | None) -> list[tuple[str, int]]:
    if plan is None:
        return []
    return [(kind, sum(seat.kind == kind for seat in plan.seats)) for kind in KINDS if kind in plan.kinds]


def show_plan_fields(form: dict[str, str], body: dict[str, Any], form_errors: dict[str, str]) -> None:
    """Add the auditorium, prices and currency of the new-show form to the API-shaped ``body``.

    Prices are typed in major units ("9.50") and sent on in minor units, with
    the currency's own number of decimals; an auditorium replaces rows and
    seats per row.
    """
    raw_id = form.get("auditorium_id", "").strip()
    if raw_id:
        is_number = raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 19
        body["auditorium_id"] = int(raw_id) if is_number else raw_id
        body.pop("rows", None)
        body.pop("seats_per_row", None)
    currency = form.get("currency", "").strip().upper() or DEFAULT_CURRENCY
    typed = {kind: form.get(field, "").strip() for kind, field in PRICE_FIELDS.items()}
    if not any(typed.values()):
        return
    if not is_known_currency(currency):
        form_errors["currency"] = "must be an ISO 4217 currency code such as EUR"
        return
    body["currency"] = currency
    digits = minor_unit_digits(currency)
    prices: dict[str, int] = {}
    for kind, raw in typed.items():
        if not raw:
            continue
        try:
            amount = Decimal(raw.replace(",", ".")).scaleb(digits)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount != amount.to_integral_value() or amount < 0:
            form_errors[PRICE_FIELDS[kind]] = f"must be an amount such as {Decimal(950).scaleb(-digits)}"
            continue
        prices[kind] = int(amount)
    body["prices"] = prices


def show_form_context() -> dict[str, Any]:
    """The auditoriums and price fields the new-show form offers."""
    return {
        "auditoriums": auditoriums.list_auditoriums(db.session),
        "price_fields": PRICE_FIELDS,
        "kind_words": KIND_WORDS,
    }
