"""Admin pages for auditoriums: a layout editor with a live preview, and the
seat-plan and price fields of the new-show form.

The preview is drawn by the server's own parser (webapp/seatplan.py), so what
the editor shows is exactly what the API would accept or refuse. One partial,
``admin/_plan_preview.html``, serves both the page and htmx's update of it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, flash, make_response, redirect, render_template, request, url_for

from .. import auditoriums, errors
from ..extensions import db
from ..money import DEFAULT_CURRENCY, is_known_currency, minor_unit_digits
from ..plan_validation import validate_layout
from ..seatplan import KINDS, SeatPlan
from ..validation import validate_auditorium
from ..web.seatmap import KIND_WORDS
from . import bp
from .views import _gate, _page

#: Names of the new-show form's price inputs, one per seat kind.
PRICE_FIELDS = {kind: f"price_{kind}" for kind in KINDS}
PLAN_FORM_FIELDS = ("auditorium_id", "currency", *PRICE_FIELDS.values())


def layout_from_text(raw: str) -> list[str]:
    """The textarea's rows: one per line, blank lines and surrounding spaces ignored."""
    return [line.strip() for line in raw.splitlines() if line.strip()]


def plan_preview(raw: str) -> dict[str, Any]:
    """What the preview partial needs: the plan's grid, or the error that names the fault."""
    form_errors: dict[str, str] = {}
    plan = validate_layout(layout_from_text(raw), form_errors) if raw.strip() else None
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


def _auditoriums_page(
    form: dict[str, str] | None = None, form_errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    form = form or {"name": "", "layout": ""}
    return _page(
        "admin/auditoriums.html",
        status,
        auditoriums=auditoriums.list_auditoriums(db.session),
        form=form,
        form_errors=form_errors or {},
        **plan_preview(form.get("layout", "")),
    )


@bp.get("/auditoriums")
def auditoriums_page() -> Response:
    return _gate() or _auditoriums_page()


@bp.post("/auditoriums/preview")
def auditorium_preview() -> Response:
    """The live preview as the layout is typed: the partial alone for htmx, else the whole page."""
    gate = _gate()
    if gate is not None:
        return gate
    form = {"name": request.form.get("name", ""), "layout": request.form.get("layout", "")}
    if request.headers.get("HX-Request"):
        response = make_response(render_template("admin/_plan_preview.html", **plan_preview(form["layout"])))
        response.headers["Cache-Control"] = "no-store"
        return response
    return _auditoriums_page(form)


@bp.post("/auditoriums")
def create_auditorium() -> Response:
    gate = _gate()
    if gate is not None:
        return gate
    form = {"name": request.form.get("name", ""), "layout": request.form.get("layout", "")}
    body: dict[str, Any] = {"name": form["name"], "layout": layout_from_text(form["layout"])}
    try:
        name, plan = validate_auditorium(body)
        created = auditoriums.create_auditorium(db.session, name=name, plan=plan)
    except errors.ValidationFailed as exc:
        db.session.rollback()
        return _auditoriums_page(form, exc.extras["errors"], status=422)
    db.session.commit()
    flash(f"Created auditorium {created['name']} ({created['capacity']} seats).", "success")
    return redirect(url_for(".auditoriums_page"), code=303)


# --- the new-show form's plan and price fields ------------------------------------


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
