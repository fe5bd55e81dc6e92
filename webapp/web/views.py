"""Moviegoer pages: thin views over the same booking service as the JSON API.

Each view parses the request, calls the booking service (``webapp.booking``,
through ``webapp.services`` where it writes), commits, and renders or
redirects. Errors a visitor can act on (seats just taken, too many holds, a
lapsed hold) become messages on the page they were on; anything else goes to
the one error handler in ``webapp.problems``, which renders an error page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from sqlalchemy.orm import Session

from .. import limits
from ..booking import errors
from ..booking.auditoriums import show_currency
from ..booking.best import BestRequest
from ..booking.holds import Hold, HoldRequest
from ..booking.queries import database_now, get_show, list_upcoming_shows
from ..caching import revalidate
from ..extensions import db
from ..gridanswer import GZIP_ETAG_SUFFIX, accepts_gzip, grid_etag_matches, grid_representation
from ..problems import status_of
from ..seatcache import GRID_MARKUP, GRID_RENDERER, seat_snapshot
from ..services import best_and_commit, hold_and_commit
from ..validation import (
    Invalid,
    collect,
    email_address,
    parse_show_id,
    seat_labels,
    whole_number,
)
from .seatmap import MARKUP_VERSION, build_seat_map, parse_labels, resolve_selection, seat_map_etag
from .visitor import (
    hold_visitor,
    remember_booking,
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

    Polls without a query string (nearly all of them) are usually answered
    before Flask by webapp/fastpath.py from the shared grid in Redis; this
    view answers the rest: a cold cache, or a map showing seats that a
    refused hold lost (``?taken=``), which is drawn for that visitor alone.
    """
    sid = parse_show_id(show_id)
    selected = parse_labels(request.args.getlist("selected"))
    conflicts = parse_labels(request.args.getlist("taken"))
    shared = not selected and not conflicts
    snapshot = seat_snapshot(db.session, sid, with_grid=shared)
    etag = seat_map_etag(snapshot.etag, selected, conflicts)
    gzipped = shared and accepts_gzip(request.headers.get("Accept-Encoding"))
    if grid_etag_matches(request.if_none_match, etag):
        response = revalidate(Response(status=304), etag + GZIP_ETAG_SUFFIX if gzipped else etag)
        if shared:
            response.vary.add("Accept-Encoding")
        return response
    if shared and snapshot.grid_gzip is not None:
        body, headers = grid_representation(snapshot.grid_gzip, etag, request.headers.get("Accept-Encoding"))
        response = Response(body, headers=headers)
        response.headers["Cache-Control"] = "no-cache"
        return response
    currency = show_currency(db.session, sid)  # only when the map is drawn, not for a 304
    seat_map = build_seat_map(snapshot.seats, selected, conflicts, currency=currency)
    return revalidate(make_response(render_template("_seatmap.html", seat_map=seat_map)), etag)


def render_shared_grid(session: Session, show_id: int, seats: list[dict[str, Any]]) -> bytes:
    """The grid as every viewer without a selection sees it; seatcache stores it with its snapshot.

    The same template as the page's own grid: one partial serves both.
    """
    seat_map = build_seat_map(seats, currency=show_currency(session, show_id))
    return render_template("_seatmap.html", seat_map=seat_map).encode()


@bp.record_once
def _share_grids(state: BlueprintSetupState) -> None:
    state.app.extensions[GRID_RENDERER] = render_shared_grid
    state.app.extensions[GRID_MARKUP] = MARKUP_VERSION


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
