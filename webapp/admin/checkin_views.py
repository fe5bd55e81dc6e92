"""The door page, /admin/checkin: scan or type a ticket code, see at once whether to let them in.

Door staff sign in with CHECKIN_TOKEN, admins with ADMIN_TOKEN (or are
signed in already). A door session holds a digest of CHECKIN_TOKEN under its
own key, so it opens this page and nothing else of /admin (``admin_required``
looks only at the admin key), and changing CHECKIN_TOKEN signs the door out.

The scan form posts here. Without JavaScript the whole page comes back with
the answer; with htmx only ``_checkin_result.html`` (the same partial the
page includes) replaces ``#checkin-result``. Either way the answer is 200:
a refusal is the door's normal business, not an error of the page.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Response, current_app, make_response, redirect, render_template, request, session, url_for

from .. import limits
from ..auth import is_admin_token, is_checkin_token
from ..booking import tickets
from ..booking.errors import DomainError
from ..booking.queries import get_show
from ..caching import no_store
from ..extensions import db
from .views import _SESSION_KEY as _ADMIN_KEY
from .views import _signed_in as _admin_signed_in
from .views import _token_digest as _admin_digest
from .views import bp

_DOOR_KEY = "door"
#: The refusals the door shows as answers (anything else is a real error).
_REFUSALS = ("ticket_not_found", "already_checked_in", "ticket_void", "wrong_show")
#: The door page may use the camera (BarcodeDetector); every other page keeps it off.
_CAMERA_POLICY = "camera=(self), microphone=(), geolocation=(), payment=()"


def _door_digest() -> str | None:
    token = current_app.config.get("CHECKIN_TOKEN")
    if not token:
        return None
    return hashlib.sha256(b"marquee door session:" + token.encode()).hexdigest()


def _door_signed_in() -> bool:
    expected = _door_digest()
    held = session.get(_DOOR_KEY)
    return expected is not None and isinstance(held, str) and hmac.compare_digest(held, expected)


def _door_enabled() -> bool:
    return bool(current_app.config.get("CHECKIN_TOKEN") or current_app.config["ADMIN_TOKEN"])


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = no_store(make_response(render_template(template, **context), status))
    response.headers["Permissions-Policy"] = _CAMERA_POLICY
    return response


def _gate() -> Response | None:
    """The page to show instead of the door page, or None when the visitor may use it."""
    if not _door_enabled():
        return _page("admin/disabled.html", 403)
    if _admin_signed_in() or _door_signed_in():
        return None
    return _page("admin/checkin_sign_in.html", 401 if request.method == "POST" else 200, error=None)


def _chosen_show(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) < 19 else None


def _context(chosen: int | None, outcome: dict[str, Any] | None) -> dict[str, Any]:
    shows = tickets.door_shows(db.session)
    counted = chosen or (outcome or {}).get("show_id")
    return {
        "shows": shows,
        "chosen": chosen,
        "outcome": outcome,
        "counts": next((s for s in shows if s["id"] == counted), None),
        "admin": _admin_signed_in(),
    }


@bp.get("/checkin")
def checkin_page() -> Response:
    refused = _gate()
    if refused is not None:
        return refused
    return _page("admin/checkin.html", **_context(_chosen_show(request.args.get("show_id")), None))


@bp.post("/checkin")
@limits.checkins
def checkin_scan() -> Response:
    refused = _gate()
    if refused is not None:
        return refused
    chosen = _chosen_show(request.form.get("show_id"))
    code = request.form.get("code", "").strip()
    try:
        admitted = tickets.check_in(db.session, code, chosen)
    except DomainError as exc:
        db.session.rollback()
        if exc.code not in _REFUSALS:
            raise
        outcome: dict[str, Any] = {"result": exc.code, "detail": exc.detail, "code": code, **exc.extras}
    else:
        db.session.commit()
        outcome = {**admitted, "code": code, "show": get_show(db.session, admitted["show_id"])}
    template = "admin/_checkin_result.html" if request.headers.get("HX-Request") else "admin/checkin.html"
    return _page(template, **_context(chosen, outcome))


@bp.post("/checkin/sign-in")
@limits.sign_in_failures
def checkin_sign_in() -> Response:
    """Door staff's token opens the door page only; the admin token signs in as admin."""
    if not _door_enabled():
        return _page("admin/disabled.html", 403)
    token = request.form.get("token", "")
    if is_admin_token(token):
        session[_ADMIN_KEY] = _admin_digest()
    elif is_checkin_token(token):
        session[_DOOR_KEY] = _door_digest()
    else:
        return _page(
            "admin/checkin_sign_in.html", 403, error="That is neither the door token nor the admin token."
        )
    return redirect(url_for(".checkin_page"), code=303)


@bp.post("/checkin/sign-out")
def checkin_sign_out() -> Response:
    session.pop(_DOOR_KEY, None)
    return redirect(url_for(".checkin_page"), code=303)
