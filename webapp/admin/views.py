"""Admin pages, behind ADMIN_TOKEN.

Signing in checks the token once (constant time, ``auth.is_admin_token``)
and keeps a digest of it in the signed session, not a bare "admin" flag:
changing ADMIN_TOKEN on the server signs every admin out.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from .. import limits
from ..api.schemas import NewShow, parse_body
from ..auth import is_admin_token
from ..booking.errors import ValidationFailed
from ..booking.paging import page_request
from ..booking.queries import get_show, list_show_bookings, list_upcoming_shows
from ..booking.report import show_report
from ..booking.shows import create_show as create_show_with_seats
from ..caching import no_store
from ..extensions import db
from ..models import BookingStatus
from ..money import DEFAULT_CURRENCY
from ..validation import parse_show_id
from .plan_form import PLAN_FORM_FIELDS, show_form_context, show_plan_fields

bp = Blueprint("admin", __name__)

_SESSION_KEY = "admin"
SHOW_FIELDS = ("title", "starts_at", "timezone", "rows", "seats_per_row", "auditorium")

P = ParamSpec("P")


def _token_digest() -> str | None:
    token = current_app.config["ADMIN_TOKEN"]
    if not token:
        return None
    return hashlib.sha256(b"marquee admin session:" + token.encode()).hexdigest()


def _signed_in() -> bool:
    expected = _token_digest()
    held = session.get(_SESSION_KEY)
    return expected is not None and isinstance(held, str) and hmac.compare_digest(held, expected)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    return no_store(make_response(render_template(template, **context), status))


def admin_required(view: Callable[P, Response]) -> Callable[P, Response]:
    """Show the view only to a signed-in admin; otherwise the page saying why (admin off, sign in)."""

    @functools.wraps(view)
    def gated(*args: P.args, **kwargs: P.kwargs) -> Response:
        if _token_digest() is None:
            return _page("admin/disabled.html", 403)
        if not _signed_in():
            return _page("admin/sign_in.html", 401 if request.method == "POST" else 200, error=None)
        return view(*args, **kwargs)

    return gated


def _dashboard(
    form: dict[str, str] | None = None, form_errors: dict[str, str] | None = None, status: int = 200
):
    return _page(
        "admin/index.html",
        status,
        shows=list_upcoming_shows(db.session),
        form=form or {"timezone": "UTC", "currency": DEFAULT_CURRENCY},
        form_errors=form_errors or {},
        **show_form_context(),
    )


@bp.get("")
@bp.get("/")
@admin_required
def index() -> Response:
    return _dashboard()


@bp.post("/sign-in")
@limits.sign_in_failures
def sign_in() -> Response:
    if _token_digest() is None:
        return _page("admin/disabled.html", 403)
    if not is_admin_token(request.form.get("token", "")):
        return _page("admin/sign_in.html", 403, error="That is not the admin token.")
    session[_SESSION_KEY] = _token_digest()
    flash("Signed in.", "success")
    return redirect(url_for(".index"), code=303)


@bp.post("/sign-out")
def sign_out() -> Response:
    session.pop(_SESSION_KEY, None)
    flash("Signed out.", "success")
    return redirect(url_for(".index"), code=303)


def _show_body(form: dict[str, str], form_errors: dict[str, str]) -> dict[str, Any]:
    """Turn the HTML form into the JSON-shaped body the API's ``NewShow`` checks.

    The browser's date-time field has no time zone, so the form has one too;
    a value typed with its own offset keeps it.
    """
    body: dict[str, Any] = {}
    for name in ("title", "auditorium"):
        if form.get(name, "").strip():
            body[name] = form[name]
    for name in ("rows", "seats_per_row"):
        raw = form.get(name, "").strip()
        if raw:
            body[name] = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else raw
    raw_start = form.get("starts_at", "").strip()
    if raw_start:
        body["starts_at"] = raw_start
        try:
            parsed = datetime.fromisoformat(raw_start)
        except ValueError:
            parsed = None  # NewShow explains the expected format
        if parsed is not None and parsed.tzinfo is None:
            try:
                zone = ZoneInfo(form.get("timezone", "").strip() or "UTC")
            except (ZoneInfoNotFoundError, ValueError):
                form_errors["timezone"] = "must be a time zone name such as UTC or Europe/Paris"
            else:
                body["starts_at"] = parsed.replace(tzinfo=zone).isoformat()
    return body


@bp.post("/shows")
@admin_required
def create_show() -> Response:
    form = {name: request.form.get(name, "") for name in (*SHOW_FIELDS, *PLAN_FORM_FIELDS)}
    form_errors: dict[str, str] = {}
    body = _show_body(form, form_errors)
    show_plan_fields(form, body, form_errors)
    # A checkbox: sent ("on") when ticked, absent otherwise.
    body["no_single_seat_gaps"] = bool(request.form.get("no_single_seat_gaps"))
    form["no_single_seat_gaps"] = "on" if body["no_single_seat_gaps"] else ""
    try:
        show = parse_body(NewShow, body).model_dump()
    except ValidationFailed as exc:
        form_errors = {**exc.extras["errors"], **form_errors}
    if form_errors:
        return _dashboard(form, form_errors, status=422)
    try:
        created = create_show_with_seats(db.session, **show)
    except ValidationFailed as exc:  # an auditorium gone, or prices missing a kind it has
        db.session.rollback()
        return _dashboard(form, exc.extras["errors"], status=422)
    db.session.commit()
    flash(f"Created show {created['id']}: {created['title']}.", "success")
    return redirect(url_for(".index"), code=303)


@bp.get("/shows/<show_id>")
@admin_required
def show_bookings(show_id: str) -> Response:
    sid = parse_show_id(show_id)
    status = request.args.get("status") or None
    if status is not None and status not in BookingStatus.__members__:
        raise ValidationFailed({"status": f"must be one of {', '.join(BookingStatus.__members__)}"})
    page = list_show_bookings(
        db.session, sid, status, page_request(request.args.getlist("limit"), request.args.getlist("cursor"))
    )
    return _page(
        "admin/show_bookings.html",
        show=get_show(db.session, sid),
        report=show_report(db.session, sid),
        bookings=page.items,
        next_cursor=page.next_cursor,
        first_page=request.args.get("cursor") is None,
        status_filter=status,
        statuses=list(BookingStatus.__members__),
    )
