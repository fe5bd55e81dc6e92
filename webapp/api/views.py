"""JSON endpoints. Thin: parse into a model of schemas.py, call the booking service, commit,
answer through a model of schemas.py."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request, url_for

from ..auth import require_admin, require_booking_token
from ..booking import queries, settle, shows
from ..booking.errors import ValidationFailed
from ..caching import revalidate
from ..extensions import db
from ..jsonutil import dumps
from ..models import BookingStatus
from ..problems import MalformedJSON, UnsupportedMediaType
from ..seatcache import current_etag, seat_snapshot
from ..services import SettleAction, hold_and_commit, settle_and_commit
from ..validation import parse_booking_id, parse_show_id
from .openapi import openapi_document
from .schemas import (
    Booking,
    BookingList,
    HoldRequest,
    HoldResponse,
    NewShow,
    SeatStats,
    Shape,
    Show,
    ShowList,
    dump,
    parse_body,
)

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


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise ValidationFailed({"Idempotency-Key": "must be 1 to 255 printable ASCII characters"})
    return key


@bp.get("/shows")
def list_shows() -> Response:
    return answer(ShowList, {"shows": queries.list_upcoming_shows(db.session)})


@bp.post("/shows")
def create_show() -> Response:
    require_admin()
    new_show = parse_body(NewShow, json_body())
    show = shows.create_show(db.session, **new_show.model_dump())
    db.session.commit()
    return answer(Show, show, 201, Location=url_for(".show", show_id=show["id"]))


@bp.get("/shows/<show_id>")
def show(show_id: str) -> Response:
    return answer(Show, queries.get_show(db.session, parse_show_id(show_id)))


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
def show_bookings(show_id: str) -> Response:
    require_admin()
    status = request.args.get("status")
    if status is not None and status not in BookingStatus.__members__:
        raise ValidationFailed({"status": f"must be one of {', '.join(BookingStatus.__members__)}"})
    found = queries.list_show_bookings(db.session, parse_show_id(show_id), status)
    return answer(BookingList, {"bookings": found})


@bp.post("/bookings")
def create_booking() -> Response:
    body = parse_body(HoldRequest, json_body(), max_seats=current_app.config["MAX_SEATS_PER_BOOKING"])
    hold = hold_and_commit(body.command(visitor=f"ip:{request.remote_addr}"), idempotency_key())
    headers = {"Location": url_for(".booking", booking_id=hold.booking["id"])}
    if hold.replayed:
        headers["Idempotent-Replayed"] = "true"
    return answer(HoldResponse, {"booking": hold.booking, "token": hold.token}, 201, **headers)


@bp.get("/bookings/<booking_id>")
def booking(booking_id: str) -> Response:
    found = queries.authorize_booking(db.session, parse_booking_id(booking_id), require_booking_token())
    return answer(Booking, found)


def _settle(action: SettleAction, raw_id: str) -> Response:
    booking_id = parse_booking_id(raw_id)
    settled = settle_and_commit(action, booking_id, require_booking_token())
    if settled.error is not None:
        raise settled.error
    return answer(Booking, settled.booking)


@bp.post("/bookings/<booking_id>/confirm")
def confirm_booking(booking_id: str) -> Response:
    return _settle(settle.confirm_booking, booking_id)


@bp.post("/bookings/<booking_id>/cancel")
@bp.delete("/bookings/<booking_id>")
def cancel_booking(booking_id: str) -> Response:
    return _settle(settle.cancel_booking, booking_id)


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(dumps(openapi_document()), mimetype="application/json")
