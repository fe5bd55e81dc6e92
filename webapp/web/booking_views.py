"""The visitor's bookings: the list, a booking's page and panel, its tickets, and what can be done to it.

Same blueprint as the seat map (``views.bp``); views, not services: each
calls the booking service through ``webapp.services`` and renders.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import (
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from .. import limits
from ..booking import errors, settle
from ..booking.queries import authorize_booking, database_now, get_show
from ..booking.tickets import booking_tickets
from ..caching import no_store
from ..extensions import db
from ..qr import ticket_svg
from ..services import SettleAction, extend_and_commit, settle_and_commit
from ..validation import (
    parse_booking_id,
)
from .views import bp
from .visitor import (
    MAX_REMEMBERED_BOOKINGS,
    booking_token,
    forget_booking,
    remembered_bookings,
)

# --- bookings ------------------------------------------------------------------


def _owned(raw_id: str) -> tuple[uuid.UUID, str, dict[str, Any]]:
    """The booking, if this browser made it. Anyone else gets the same 404 as for a
    booking that does not exist, so ids cannot be probed."""
    booking_id = parse_booking_id(raw_id)
    token = booking_token(booking_id)
    not_yours = errors.BookingNotFound(f"There is no booking {booking_id} made in this browser.")
    if token is None:
        raise not_yours
    try:
        booking = authorize_booking(db.session, booking_id, token)
    except (errors.BookingNotFound, errors.Forbidden):
        forget_booking(str(booking_id))
        raise not_yours from None
    return booking_id, token, booking


def _booking_context(booking: dict[str, Any], notice: str | None = None) -> dict[str, Any]:
    ms_left = 0
    if booking["status"] == "PENDING" and booking["hold_expires_at"] is not None:
        remaining = booking["hold_expires_at"] - database_now(db.session)
        ms_left = max(0, int(remaining.total_seconds() * 1000))
    return {
        "booking": booking,
        "show": get_show(db.session, booking["show_id"]),
        "ms_left": ms_left,
        "seconds_left": -(-ms_left // 1000),  # rounded up: "1" until the very end
        "notice": notice,
    }


@bp.get("/bookings")
def my_bookings() -> Response:
    found: list[dict[str, Any]] = []
    shows: dict[int, dict[str, Any]] = {}
    for booking_id, token in remembered_bookings():
        try:
            booking = authorize_booking(db.session, booking_id, token)
        except (errors.BookingNotFound, errors.Forbidden):
            forget_booking(str(booking_id))
            continue
        if booking["show_id"] not in shows:
            shows[booking["show_id"]] = get_show(db.session, booking["show_id"])
        found.append({**booking, "show": shows[booking["show_id"]]})
    return no_store(
        make_response(
            render_template("bookings.html", bookings=found, remembered_limit=MAX_REMEMBERED_BOOKINGS)
        )
    )


@bp.get("/bookings/<booking_id>")
def booking(booking_id: str) -> Response:
    _, _, found = _owned(booking_id)
    return no_store(make_response(render_template("booking.html", **_booking_context(found))))


@bp.get("/bookings/<booking_id>/tickets")
def tickets(booking_id: str) -> Response:
    """One QR code per ticket, printable and readable on a phone; only for the booking's own visitor."""
    found_id, _, found = _owned(booking_id)
    issued = booking_tickets(db.session, found_id) if found["status"] == "CONFIRMED" else []
    page = render_template(
        "tickets.html",
        booking=found,
        show=get_show(db.session, found["show_id"]),
        # segno's SVG of a code of [A-Za-z0-9_-] and a seat label: nothing a visitor wrote.
        tickets=[{**t, "svg": Markup(ticket_svg(t["code"], t["seat"]))} for t in issued],  # noqa: S704
    )
    return no_store(make_response(page))


@bp.get("/bookings/<booking_id>/panel")
def booking_panel(booking_id: str) -> Response:
    """The status part of the booking page, refreshed by htmx when the hold runs out."""
    _, _, found = _owned(booking_id)
    return no_store(make_response(render_template("_booking_panel.html", **_booking_context(found))))


def _settle(
    raw_id: str,
    action: SettleAction,
    done: Callable[[dict[str, Any]], str],
) -> Response:
    booking_id, token, _ = _owned(raw_id)
    settled = settle_and_commit(action, booking_id, token)
    if settled.error is not None:
        flash(settled.error.detail, "error")
    else:
        assert settled.booking is not None
        flash(done(settled.booking), "success")
    return redirect(url_for(".booking", booking_id=booking_id), code=303)


@bp.post("/bookings/<booking_id>/confirm")
@limits.booking_writes
def confirm(booking_id: str) -> Response:
    return _settle(
        booking_id,
        settle.confirm_booking,
        lambda b: (
            f"Booked: {', '.join(b['seats'])}. If you gave an email address, a confirmation is on its way."
        ),
    )


@bp.post("/bookings/<booking_id>/cancel")
@limits.booking_writes
def cancel(booking_id: str) -> Response:
    return _settle(
        booking_id,
        settle.cancel_booking,
        lambda b: f"Cancelled. Seats {', '.join(b['seats'])} are free for others again.",
    )


@bp.post("/bookings/<booking_id>/extend")
@limits.booking_writes
def extend(booking_id: str) -> Response:
    """More time to confirm. htmx swaps in the new panel (its countdown restarts); without
    JavaScript the page reloads with a message, like confirm and cancel."""
    booking_id_, token, _ = _owned(booking_id)
    settled = extend_and_commit(booking_id_, token)
    if request.headers.get("HX-Request"):
        booking = authorize_booking(db.session, booking_id_, token)
        notice = settled.error.detail if settled.error else "Extended: you have more time to confirm."
        panel = render_template("_booking_panel.html", **_booking_context(booking, notice))
        return no_store(make_response(panel))
    if settled.error is not None:
        flash(settled.error.detail, "error")
    else:
        flash("Extended: you have more time to confirm.", "success")
    return redirect(url_for(".booking", booking_id=booking_id_), code=303)
