"""Moviegoer pages: thin views over the same booking service as the JSON API.

Each view parses the request, calls the booking service (``webapp.booking``,
through ``webapp.services`` where it writes), commits, and renders or
redirects. Errors a visitor can act on (seats just taken, too many holds, a
lapsed hold) become messages on the page they were on; anything else goes to
the one error handler in ``webapp.problems``, which renders an error page.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
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
from ..booking.auditoriums import show_currency
from ..booking.best import BestRequest
from ..booking.holds import Hold, HoldRequest
from ..booking.queries import authorize_booking, database_now, get_show, list_upcoming_shows
from ..booking.tickets import booking_tickets
from ..caching import no_store, revalidate
from ..extensions import db
from ..problems import status_of
from ..qr import ticket_svg
from ..seatcache import seat_snapshot
from ..services import SettleAction, best_and_commit, extend_and_commit, hold_and_commit, settle_and_commit
from ..validation import (
    Invalid,
    collect,
    email_address,
    parse_booking_id,
    parse_show_id,
    seat_labels,
    whole_number,
)
from .seatmap import build_seat_map, parse_labels, resolve_selection, seat_map_etag
from .visitor import (
    MAX_REMEMBERED_BOOKINGS,
    booking_token,
    forget_booking,
    hold_visitor,
    remember_booking,
    remembered_bookings,
)

bp = Blueprint("web", __name__)

#: How often an open seat map asks for changes. The contract says a change
#: shows within 2 s; polling every second leaves room for a slow response.
SEATMAP_POLL_INTERVAL = "1s"


def _max_seats() -> int:
    return current_app.config["MAX_SEATS_PER_BOOKING"]


@bp.get("/")
def index() -> str:
    return render_template("index.html", shows=list_upcoming_shows(db.session))


# --- the seat map ----------------------------------------------------------------


def _render_show(
    show_id: int,
    *,
    selected: Sequence[str] = (),
    toggle: str | None = None,
    conflicts: Sequence[str] = (),
    stranded: Sequence[str] = (),
    message: str | None = None,
    form_errors: dict[str, str] | None = None,
    email: str = "",
    quantity: int = 2,
    status: int = 200,
) -> tuple[str, int]:
    show = get_show(db.session, show_id)
    snapshot = seat_snapshot(db.session, show_id)
    seats = snapshot.seats
    selection = resolve_selection(seats, selected, toggle, _max_seats())
    seat_map = build_seat_map(
        seats, selection.labels, conflicts, currency=show["currency"], stranded=stranded
    )
    page = render_template(
        "show.html",
        show=show,
        seat_map=seat_map,
        selection=selection,
        conflicts=list(conflicts),
        message=message,
        form_errors=form_errors or {},
        email=email,
        quantity=min(quantity, _max_seats()),
        seat_map_stranded=list(stranded),
        max_seats=_max_seats(),
        started=show["starts_at"] <= database_now(db.session),
        poll_interval=SEATMAP_POLL_INTERVAL,
        # What the first poll will be compared against: the map without the
        # selection, which app.js keeps and re-applies itself.
        etag=seat_map_etag(snapshot.etag, (), conflicts),
    )
    return page, status


@bp.get("/shows/<show_id>")
def show(show_id: str) -> tuple[str, int]:
    """The seat map. Without JavaScript each seat is a submit button that toggles it here."""
    toggle = parse_labels(request.args.getlist("toggle"), limit=1)
    return _render_show(
        parse_show_id(show_id),
        selected=parse_labels(request.args.getlist("selected")),
        toggle=toggle[0] if toggle else None,
        conflicts=parse_labels(request.args.getlist("taken")),
    )


@bp.get("/shows/<show_id>/seatmap")
def seatmap(show_id: str) -> Response:
    """The map partial that open pages poll; answers 304 while nothing changed.

    An unchanged map usually costs one Redis read (the show's cached seat
    snapshot, see webapp/seatcache.py), else one query; the template is
    rendered only when the visitor's copy is out of date.
    """
    sid = parse_show_id(show_id)
    selected = parse_labels(request.args.getlist("selected"))
    conflicts = parse_labels(request.args.getlist("taken"))
    snapshot = seat_snapshot(db.session, sid)
    etag = seat_map_etag(snapshot.etag, selected, conflicts)
    if request.if_none_match.contains(etag):
        return revalidate(Response(status=304), etag)
    currency = show_currency(db.session, sid)  # only when the map is drawn, not for a 304
    seat_map = build_seat_map(snapshot.seats, selected, conflicts, currency=currency)
    return revalidate(make_response(render_template("_seatmap.html", seat_map=seat_map)), etag)


@bp.post("/shows/<show_id>/hold")
@limits.holds
def hold(show_id: str) -> Response | tuple[str, int]:
    """Hold the selected seats, then go to the booking page; problems stay on the map."""
    sid = parse_show_id(show_id)
    labels = parse_labels(request.form.getlist("seats"))
    raw_email = request.form.get("email", "").strip()
    form_errors: dict[str, str] = {}
    seats = collect(form_errors, "seats", seat_labels, labels, _max_seats()) if labels else ()
    if not labels:
        form_errors["seats"] = "Pick at least one seat first."
    email = collect(form_errors, "email", email_address, raw_email)
    if form_errors:
        message = form_errors.get("seats") or "Please check the form."
        return _render_show(
            sid, selected=labels, form_errors=form_errors, email=raw_email, message=message, status=422
        )

    hold_request = HoldRequest(
        show_id=sid, seats=seats, email=email, visitor=hold_visitor(), client_address=request.remote_addr
    )
    try:
        held = hold_and_commit(hold_request)
    except errors.SeatsUnavailable as exc:
        db.session.rollback()  # ends the transaction and releases the seat locks
        taken = list(exc.extras.get("seats", []))
        still_free = [label for label in labels if label not in taken]
        noun, verb = ("seat", "was") if len(taken) == 1 else ("seats", "were")
        message = f"Sorry, {noun} {', '.join(taken)} {verb} just taken by someone else."
        if still_free:
            message += " Your other seats are still selected; pick a replacement or hold them as they are."
        else:
            message += " Please pick other seats."
        return _render_show(
            sid, selected=still_free, conflicts=taken, message=message, email=raw_email, status=409
        )
    except errors.SingleSeatGap as exc:
        db.session.rollback()
        # The selection stays as it was, and the seats it would strand are marked on the map.
        return _render_show(
            sid,
            selected=labels,
            stranded=exc.extras["seats"],
            message=exc.detail,
            email=raw_email,
            status=status_of(exc),
        )
    except _HOLD_ERRORS as exc:
        db.session.rollback()
        return _render_show(sid, selected=labels, message=exc.detail, email=raw_email, status=status_of(exc))
    return _to_booking(held)


#: Refusals a visitor can act on, shown on the map they were on.
_HOLD_ERRORS = (
    errors.TooManyHolds,
    errors.ShowStarted,
    errors.ShowCancelled,
    errors.ValidationFailed,
    errors.CompanionWithoutWheelchair,
)


def _to_booking(held: Hold) -> Response:
    booking_id = held.booking["id"]
    remember_booking(booking_id, held.token)
    return redirect(url_for(".booking", booking_id=booking_id), code=303)


@bp.post("/shows/<show_id>/best")
@limits.holds
def best(show_id: str) -> Response | tuple[str, int]:
    """Best available: hold the best ``quantity`` adjacent seats, then go to the booking page."""
    sid = parse_show_id(show_id)
    raw_email = request.form.get("email", "").strip()
    raw_quantity = request.form.get("quantity", "").strip()
    form_errors: dict[str, str] = {}
    quantity = collect(form_errors, "quantity", _quantity, raw_quantity, _max_seats())
    email = collect(form_errors, "email", email_address, raw_email)
    if form_errors:
        message = form_errors.get("quantity") or "Please check the form."
        return _render_show(sid, form_errors=form_errors, email=raw_email, message=message, status=422)
    assert quantity is not None
    best_request = BestRequest(
        show_id=sid,
        quantity=quantity,
        email=email,
        visitor=hold_visitor(),
        client_address=request.remote_addr,
    )
    try:
        held = best_and_commit(best_request)
    except (errors.NoAdjacentSeats, errors.SeatsUnavailable, *_HOLD_ERRORS) as exc:
        db.session.rollback()
        return _render_show(
            sid, message=exc.detail, email=raw_email, quantity=quantity, status=status_of(exc)
        )
    return _to_booking(held)


def _quantity(raw: str, max_seats: int) -> int:
    if not raw.isdigit():
        raise Invalid(f"How many seats? A number from 1 to {max_seats}.")
    return whole_number(int(raw), 1, max_seats)


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
