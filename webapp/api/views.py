"""JSON endpoints. Thin: parse into a model of schemas.py, call the booking service, commit,
answer through a model of schemas.py."""

from __future__ import annotations

import functools
import re
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request, url_for

from .. import limits
from ..auth import is_admin_token, require_admin, require_booking_token, require_door_staff
from ..booking import queries, report, settle, shows, tickets
from ..booking.errors import ValidationFailed
from ..booking.paging import Page, page_request
from ..caching import revalidate
from ..extensions import db
from ..jsonutil import dumps
from ..models import BookingStatus
from ..problems import MalformedJSON, UnsupportedMediaType
from ..seatcache import current_etag, seat_snapshot
from ..services import (
    SettleAction,
    best_and_commit,
    cancel_show_and_commit,
    extend_and_commit,
    hold_and_commit,
    settle_and_commit,
)
from ..validation import parse_booking_id, parse_show_id
from .hold_schemas import HoldRequest
from .openapi import openapi_document
from .report_schemas import ShowReport
from .schemas import (
    Booking,
    BookingList,
    HoldResponse,
    NewShow,
    SeatStats,
    Shape,
    Show,
    ShowList,
    dump,
    parse_body,
)
from .ticket_schemas import CheckinRequest, CheckinResult

bp = Blueprint("api", __name__)


def answer(model: type[Shape], body: Any, status: int = 200, **headers: str) -> Response:
    """``body`` as JSON through ``model``, the shape the OpenAPI document promises."""
    response = Response(dump(model, body), status=status, mimetype="application/json")
    response.headers.update(headers)
    return response


def json_body() -> Any:
    if not request.is_json:
        raise UnsupportedMediaType(f"Send the body as application/json, not {request.mimetype or 'nothing'}.")
    data = request.get_data(cache=False)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedJSON(f"The body is not valid JSON: {exc}.") from None


#: 16 to 255 visible ASCII characters: long enough not to be guessed by accident.
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{16,255}")


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ValidationFailed(
            {"Idempotency-Key": "must be 16 to 255 visible ASCII characters (no spaces), such as a UUID"}
        )
    return key


def _paged(response: Response, page: Page) -> Response:
    """Point to the next page (RFC 8288 ``Link: <…>; rel="next"``) when there is one."""
    if page.next_cursor is not None:
        args = {**request.args.to_dict(), "cursor": page.next_cursor}
        response.headers["Link"] = (
            f'<{url_for(request.endpoint or "", **request.view_args or {}, **args)}>; rel="next"'
        )
    return response


@bp.get("/shows")
def list_shows() -> Response:
    page = queries.upcoming_shows_page(
        db.session, page_request(request.args.getlist("limit"), request.args.getlist("cursor"))
    )
    return _paged(answer(ShowList, {"shows": page.items}), page)


@bp.post("/shows")
@limits.sign_in_failures
def create_show() -> Response:
    require_admin()
    new_show = parse_body(NewShow, json_body())
    show = shows.create_show(db.session, **new_show.model_dump())
    db.session.commit()
    return answer(Show, show, 201, Location=url_for(".show", show_id=show["id"]))


@bp.get("/shows/<show_id>")
def show(show_id: str) -> Response:
    return answer(Show, queries.get_show(db.session, parse_show_id(show_id)))


@bp.post("/shows/<show_id>/cancel")
@limits.sign_in_failures
def cancel_a_show(show_id: str) -> Response:
    require_admin()
    show = cancel_show_and_commit(parse_show_id(show_id))
    return answer(Show, show)


@bp.get("/shows/<show_id>/report")
@limits.sign_in_failures
def show_report(show_id: str) -> Response:
    require_admin()
    return answer(ShowReport, report.show_report(db.session, parse_show_id(show_id)))


@bp.get("/shows/<show_id>/seats")
def seats(show_id: str) -> Response:
    """The seat listing, answered from the Redis snapshot when it is current.

    A client polling with If-None-Match usually costs one small Redis read.
    """
    sid = parse_show_id(show_id)
    etag = current_etag(sid) if request.if_none_match else None
    if etag is None or not request.if_none_match.contains(etag):
        snapshot = seat_snapshot(db.session, sid)
        etag = snapshot.etag
        if not request.if_none_match.contains(etag):
            return revalidate(Response(snapshot.body, mimetype="application/json"), etag)
    return revalidate(Response(status=304), etag)


@bp.get("/shows/<show_id>/seats/stats")
def seat_stats(show_id: str) -> Response:
    return answer(SeatStats, queries.seat_stats(db.session, parse_show_id(show_id)))


@bp.get("/shows/<show_id>/bookings")
@limits.sign_in_failures
def show_bookings(show_id: str) -> Response:
    require_admin()
    status = request.args.get("status")
    if status is not None and status not in BookingStatus.__members__:
        raise ValidationFailed({"status": f"must be one of {', '.join(BookingStatus.__members__)}"})
    wanted = page_request(request.args.getlist("limit"), request.args.getlist("cursor"))
    page = queries.list_show_bookings(db.session, parse_show_id(show_id), status, wanted)
    return _paged(answer(BookingList, {"bookings": page.items}), page)


@bp.post("/bookings")
@limits.holds
def create_booking() -> Response:
    body = parse_body(HoldRequest, json_body(), max_seats=current_app.config["MAX_SEATS_PER_BOOKING"])
    address, visitor, key = request.remote_addr, f"ip:{request.remote_addr}", idempotency_key()
    if body.best_available:
        hold = best_and_commit(body.best_command(visitor=visitor, client_address=address), key)
    else:
        hold = hold_and_commit(body.command(visitor=visitor, client_address=address), key)
    headers = {"Location": url_for(".booking", booking_id=hold.booking["id"])}
    if hold.replayed:
        headers["Idempotent-Replayed"] = "true"
    return answer(HoldResponse, {"booking": hold.booking, "token": hold.token}, 201, **headers)


@bp.get("/bookings/<booking_id>")
def booking(booking_id: str) -> Response:
    found = queries.authorize_booking(db.session, parse_booking_id(booking_id), require_booking_token())
    return answer(Booking, found)


def _settle(action: SettleAction, raw_id: str, *, admin_may: bool = False) -> Response:
    """Confirm or cancel with the booking's token; ``admin_may``: the admin token will do too."""
    booking_id = parse_booking_id(raw_id)
    token = require_booking_token()
    if admin_may and is_admin_token(token):
        action = functools.partial(action, as_admin=True)
    settled = settle_and_commit(action, booking_id, token)
    if settled.error is not None:
        raise settled.error
    return answer(Booking, settled.booking)


@bp.post("/bookings/<booking_id>/confirm")
@limits.booking_writes
def confirm_booking(booking_id: str) -> Response:
    return _settle(settle.confirm_booking, booking_id)


@bp.post("/bookings/<booking_id>/cancel")
@bp.delete("/bookings/<booking_id>")
@limits.booking_writes
def cancel_booking(booking_id: str) -> Response:
    return _settle(settle.cancel_booking, booking_id, admin_may=True)


@bp.post("/checkins")
@limits.checkins
@limits.sign_in_failures
def check_in() -> Response:
    """Admit a ticket's holder at the door; the database decides, once (webapp/booking/tickets.py)."""
    require_door_staff()
    body = parse_body(CheckinRequest, json_body())
    admitted = tickets.check_in(db.session, body.code, body.show_id)  # a refusal wrote nothing
    db.session.commit()
    return answer(CheckinResult, admitted)


@bp.post("/bookings/<booking_id>/extend")
@limits.booking_writes
def extend_booking(booking_id: str) -> Response:
    settled = extend_and_commit(parse_booking_id(booking_id), require_booking_token())
    if settled.error is not None:
        raise settled.error
    return answer(Booking, settled.booking)


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(dumps(openapi_document()), mimetype="application/json")
