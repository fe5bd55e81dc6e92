"""Admin pages, behind ADMIN_TOKEN.

Signing in checks the token once (constant time, ``auth.is_admin_token``)
and keeps a digest of it in the signed session, not a bare "admin" flag:
changing ADMIN_TOKEN on the server signs every admin out.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import (
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

from .. import bookings, errors
from ..auth import is_admin_token
from ..extensions import db
from ..models import BookingStatus
from ..money import DEFAULT_CURRENCY
from ..validation import parse_show_id, validate_new_show
from . import auditorium_views, bp

_SESSION_KEY = "admin"
SHOW_FIELDS = ("title", "starts_at", "timezone", "rows", "seats_per_row", "auditorium")
#: The new-show form's seat-plan and price fields (issue 11, webapp/admin/auditorium_views.py).
PLAN_FORM_FIELDS = (
    "auditorium_id",
    "currency",
    "price_standard",
    "price_premium",
    "price_wheelchair",
    "price_companion",
)


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
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _gate() -> Response | None:
    """The page to show instead when admin is off or the visitor is not signed in."""
    if _token_digest() is None:
        return _page("admin/disabled.html", 403)
    if not _signed_in():
        return _page("admin/sign_in.html", 401 if request.method == "POST" else 200, error=None)
    return None


def _dashboard(
    form: dict[str, str] | None = None, form_errors: dict[str, str] | None = None, status: int = 200
):
    return _page(
        "admin/index.html",
        status,
        shows=bookings.list_upcoming_shows(db.session),
        form=form or {"timezone": "UTC", "currency": DEFAULT_CURRENCY},
        form_errors=form_errors or {},
        **auditorium_views.show_form_context(),
    )


@bp.get("")
@bp.get("/")
def index() -> Response:
    return _gate() or _dashboard()


@bp.post("/sign-in")
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
    """Turn the HTML form into the JSON-shaped body ``validate_new_show`` checks.

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
            parsed = None  # validate_new_show explains the expected format
        if parsed is not None and parsed.tzinfo is None:
            try:
                zone = ZoneInfo(form.get("timezone", "").strip() or "UTC")
            except (ZoneInfoNotFoundError, ValueError):
                form_errors["timezone"] = "must be a time zone name such as UTC or Europe/Paris"
            else:
                body["starts_at"] = parsed.replace(tzinfo=zone).isoformat()
    return body


@bp.post("/shows")
def create_show() -> Response:
    gate = _gate()
    if gate is not None:
        return gate
    form = {name: request.form.get(name, "") for name in (*SHOW_FIELDS, *PLAN_FORM_FIELDS)}
    form_errors: dict[str, str] = {}
    body = _show_body(form, form_errors)
    auditorium_views.show_plan_fields(form, body, form_errors)
    try:
        show = validate_new_show(body)
    except errors.ValidationFailed as exc:
        form_errors = {**exc.extras["errors"], **form_errors}
    if form_errors:
        return _dashboard(form, form_errors, status=422)
    try:
        created = bookings.create_show(db.session, **show)
    except errors.ValidationFailed as exc:  # an auditorium gone, or prices missing a kind it has
        db.session.rollback()
        return _dashboard(form, exc.extras["errors"], status=422)
    db.session.commit()
    flash(f"Created show {created['id']}: {created['title']}.", "success")
    return redirect(url_for(".index"), code=303)


@bp.get("/shows/<show_id>")
def show_bookings(show_id: str) -> Response:
    gate = _gate()
    if gate is not None:
        return gate
    sid = parse_show_id(show_id)
    status = request.args.get("status") or None
    if status is not None and status not in BookingStatus.__members__:
        raise errors.ValidationFailed({"status": f"must be one of {', '.join(BookingStatus.__members__)}"})
    return _page(
        "admin/show_bookings.html",
        show=bookings.get_show(db.session, sid),
        bookings=bookings.list_show_bookings(db.session, sid, status),
        status_filter=status,
        statuses=list(BookingStatus.__members__),
    )
