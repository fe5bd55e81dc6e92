"""JSON endpoints. Thin: parse, call the booking service, commit, answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from flask import Response, current_app, request, url_for

from .. import bookings, errors
from ..auth import bearer_token, require_admin
from ..extensions import db
from ..jsonutil import dumps
from ..models import BookingStatus
from ..seatcache import current_etag, seat_snapshot
from ..validation import parse_booking_id, parse_show_id, validate_hold, validate_new_show
from . import bp
from .openapi import openapi_document


def json_response(body: Any, status: int = 200, **headers: str) -> Response:
    response = Response(dumps(body), status=status, mimetype="application/json")
    response.headers.update(headers)
    return response


def json_body() -> Any:
    if not request.is_json:
        raise errors.UnsupportedMediaType(
            f"Send the body as application/json, not {request.mimetype or 'nothing'}."
        )
    data = request.get_data(cache=False)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise errors.MalformedJSON(f"The body is not valid JSON: {exc}.") from None


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise errors.ValidationFailed({"Idempotency-Key": "must be 1 to 255 printable ASCII characters"})
    return key


@bp.get("/shows")
def list_shows() -> Response:
    return json_response({"shows": bookings.list_upcoming_shows(db.session)})


@bp.post("/shows")
def create_show() -> Response:
    require_admin()
    show = bookings.create_show(db.session, **validate_new_show(json_body()))
    db.session.commit()
    return json_response(show, 201, Location=url_for(".show", show_id=show["id"]))


@bp.get("/shows/<show_id>")
def show(show_id: str) -> Response:
    return json_response(bookings.get_show(db.session, parse_show_id(show_id)))


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
            return _revalidate(Response(snapshot.body, mimetype="application/json"), etag)
    return _revalidate(Response(status=304), etag)


def _revalidate(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    # Clients may keep a copy but must revalidate it: holds change by the second.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/shows/<show_id>/seats/stats")
def seat_stats(show_id: str) -> Response:
    return json_response(bookings.seat_stats(db.session, parse_show_id(show_id)))


@bp.get("/shows/<show_id>/bookings")
def show_bookings(show_id: str) -> Response:
    require_admin()
    status = request.args.get("status")
    if status is not None and status not in BookingStatus.__members__:
        raise errors.ValidationFailed({"status": f"must be one of {', '.join(BookingStatus.__members__)}"})
    found = bookings.list_show_bookings(db.session, parse_show_id(show_id), status)
    return json_response({"bookings": found})


@bp.post("/bookings")
def create_booking() -> Response:
    hold_request = validate_hold(
        json_body(),
        max_seats=current_app.config["MAX_SEATS_PER_BOOKING"],
        visitor=f"ip:{request.remote_addr}",
    )
    hold = bookings.hold_seats(db.session, hold_request, idempotency_key=idempotency_key())
    db.session.commit()
    headers = {"Location": url_for(".booking", booking_id=hold.booking["id"])}
    if hold.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response({"booking": hold.booking, "token": hold.token}, 201, **headers)


@bp.get("/bookings/<booking_id>")
def booking(booking_id: str) -> Response:
    found = bookings.authorize_booking(db.session, parse_booking_id(booking_id), bearer_token())
    return json_response(found)


def _settle(action: Callable[..., dict[str, Any]], booking_id: str) -> Response:
    try:
        settled = action(db.session, parse_booking_id(booking_id), bearer_token())
    except errors.HoldExpired:
        db.session.commit()  # keep the expiry the service just recorded
        raise
    db.session.commit()
    return json_response(settled)


@bp.post("/bookings/<booking_id>/confirm")
def confirm_booking(booking_id: str) -> Response:
    return _settle(bookings.confirm_booking, booking_id)


@bp.post("/bookings/<booking_id>/cancel")
@bp.delete("/bookings/<booking_id>")
def cancel_booking(booking_id: str) -> Response:
    return _settle(bookings.cancel_booking, booking_id)


@bp.get("/openapi.json")
def openapi() -> Response:
    return json_response(openapi_document())
