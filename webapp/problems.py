"""The one place that turns any error into an HTTP answer: problem+json or an HTML page.

The booking service raises ``DomainError``s that carry a code and no HTTP
status (webapp/booking/errors.py); ``STATUS`` gives each code its status
here. The API always answers problem+json (RFC 9457); other paths answer
HTML unless the client prefers JSON, so those answers say ``Vary: Accept``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from flask import Flask, Response, render_template, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from .booking.errors import DomainError
from .extensions import db
from .jsonutil import dumps
from .limits import limiter

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://marquee.example/problems/"


class MalformedJSON(DomainError):
    """The body could not be parsed; raised by the web layer, never by the service."""

    code, title = "malformed_json", "The body is not valid JSON"


class UnsupportedMediaType(DomainError):
    code, title = "unsupported_media_type", "Send the body as application/json"


#: The HTTP status of each domain error code; a code missing here is a plain 400.
STATUS: dict[str, int] = {
    "validation_error": 422,
    "malformed_json": 400,
    "unsupported_media_type": 415,
    "show_not_found": 404,
    "show_started": 409,
    "show_cancelled": 409,
    "booking_not_found": 404,
    "seats_unavailable": 409,
    "too_many_holds": 429,
    "hold_expired": 409,
    "booking_cancelled": 409,
    "idempotency_key_reused": 422,
    "authentication_required": 401,
    "forbidden": 403,
    "auditorium_not_found": 404,
    "companion_without_wheelchair": 422,
    "single_seat_gap": 409,
    "no_adjacent_seats": 409,
    "extension_limit": 409,
    "booking_not_pending": 409,
    "ticket_not_found": 404,
    "already_checked_in": 409,
    "ticket_void": 409,
    "wrong_show": 409,
}


#: Problems that only the HTTP layer gives (no domain error stands behind them): code -> status, title.
HTTP_PROBLEMS: dict[str, tuple[int, str]] = {
    "payload_too_large": (413, "The body is larger than MAX_CONTENT_LENGTH"),
    "database_unavailable": (503, "Database unavailable"),
    "busy": (503, "Too busy to answer in time"),
    "rate_limited": (429, "Too many requests"),
}

#: Raised by PostgreSQL when a wait ran past lock_timeout or a query past
#: statement_timeout (DB_LOCK_TIMEOUT_MS, DB_STATEMENT_TIMEOUT_MS).
_TIMEOUTS = (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)


def status_of(error: DomainError) -> int:
    return STATUS.get(error.code, 400)


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    extras: dict[str, Any] | None = None,
    retry_after: int | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if extras:
        body.update(extras)
    response = Response(dumps(body), status=status, mimetype="application/problem+json")
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    elif status == 503:
        response.headers["Retry-After"] = "2"
    return response


def _always_json() -> bool:
    return request.path.startswith("/api/") or request.path in {"/api", "/healthz", "/readyz", "/metrics"}


def _prefers_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def _render(
    status: int,
    code: str,
    title: str,
    detail: str,
    extras: dict[str, Any] | None = None,
    retry_after: int | None = None,
) -> Response:
    # Whatever the request did is abandoned, and its seat locks released, before we answer.
    try:
        db.session.rollback()
    except Exception:
        log.exception("rollback failed while rendering an error")
    if _always_json():
        return problem_response(status, code, title, detail, extras, retry_after)
    if _prefers_json():
        response = problem_response(status, code, title, detail, extras, retry_after)
    else:
        html = render_template("error.html", status=status, title=title, detail=detail, code=code)
        response = Response(html, status=status, mimetype="text/html")
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
    response.vary.add("Accept")  # the format depended on it
    return response


def _seconds_until_reset() -> int:
    """How long until the limit that turned this request away lets it through again."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()))


_HTTP_CODES = {
    400: "bad_request",
    401: "authentication_required",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(exc: DomainError) -> Response:
        return _render(status_of(exc), exc.code, exc.title, exc.detail, exc.extras)

    @app.errorhandler(RateLimitExceeded)
    def handle_rate_limited(exc: RateLimitExceeded) -> Response:
        wait = _seconds_until_reset()
        return _render(
            429,
            "rate_limited",
            "Too many requests",
            f"Too many requests from your address (at most {exc.description}). "
            f"Please wait {wait} second(s) and try again.",
            retry_after=wait,
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        if status == 400 and "CSRF" in (exc.description or ""):
            code = "csrf_failed"
        detail = exc.description or exc.name
        if status == 404:
            detail = f"Nothing at {request.path}."
        if status == 413:
            detail = f"The body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes."
        response = _render(status, code, exc.name, detail)
        if status == 405:
            allowed = exc.get_response().headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
        return response

    @app.errorhandler(OperationalError)
    def handle_database_down(exc: DBAPIError) -> Response:
        if isinstance(exc.orig, _TIMEOUTS):
            # A stuck lock or a slow query: the thread is free again, and the
            # client may try again in a moment.
            log.warning(
                "database timeout on %s %s: %s", request.method, request.path, exc.orig.__class__.__name__
            )
            return _render(
                503, "busy", "Too busy to answer in time", "Please try again in a moment.", retry_after=1
            )
        # Connection-level failures (PostgreSQL restarting, network gone):
        # the client may retry. Statement errors are bugs and stay 500s.
        log.warning("database unavailable: %s", exc.orig.__class__.__name__)
        return _render(503, "database_unavailable", "Database unavailable", "Try again shortly.")

    @app.teardown_appcontext
    def end_session_on_a_dead_connection(exc: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's own session.remove() (teardowns run
        # in reverse order). Ending a read's transaction takes a ROLLBACK,
        # which fails if PostgreSQL cut the connection meanwhile (a restart);
        # the answer is built by then and must not turn into gunicorn's bare
        # 500. Drop the dead connection instead: the pool's pre-ping replaces it.
        if not db.session.registry.has():  # the request never touched the database
            return
        try:
            db.session.close()
        except DBAPIError as error:
            log.warning("database connection lost at the end of a request: %s", error.orig.__class__.__name__)
            try:
                db.session.invalidate()
            except Exception:
                log.exception("could not discard the session's dead connection")

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, "internal_error", "Internal server error", "Something went wrong on our side.")
