"""Domain errors and the one place that turns any error into problem+json.

Views and services raise typed exceptions carrying a machine-readable
``code``; ``register_error_handlers`` renders them as RFC 9457 problems for
the API and as HTML pages for browsers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from flask import Flask, Response, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from .extensions import db
from .jsonutil import dumps

log = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://marquee.example/problems/"


class DomainError(Exception):
    """An expected failure a client can act on."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extras: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extras = extras


class ValidationFailed(DomainError):
    status, code, title = 422, "validation_error", "The request is not valid"

    def __init__(self, errors: dict[str, str], detail: str | None = None) -> None:
        detail = detail or "; ".join(f"{field}: {message}" for field, message in errors.items())
        super().__init__(detail, errors=errors)


class MalformedJSON(DomainError):
    status, code, title = 400, "malformed_json", "The body is not valid JSON"


class UnsupportedMediaType(DomainError):
    status, code, title = 415, "unsupported_media_type", "Send the body as application/json"


class ShowNotFound(DomainError):
    status, code, title = 404, "show_not_found", "No such show"


# --- seat plans (issue 11) ---


class AuditoriumNotFound(DomainError):
    status, code, title = 404, "auditorium_not_found", "No such auditorium"


class CompanionWithoutWheelchair(DomainError):
    status, code, title = 422, "companion_without_wheelchair", "A companion seat needs a wheelchair space"


class ShowStarted(DomainError):
    status, code, title = 409, "show_started", "The show has already started"


class BookingNotFound(DomainError):
    status, code, title = 404, "booking_not_found", "No such booking"


class SeatsUnavailable(DomainError):
    status, code, title = 409, "seats_unavailable", "Some seats are not available"

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__(
            f"Not available: {', '.join(labels)}. Pick other seats and try again.",
            seats=list(labels),
        )


class TooManyHolds(DomainError):
    status, code, title = 429, "too_many_holds", "Too many seats held at once"


class HoldExpired(DomainError):
    status, code, title = 409, "hold_expired", "The hold has expired"


class BookingCancelled(DomainError):
    status, code, title = 409, "booking_cancelled", "The booking was cancelled"


class IdempotencyKeyReused(DomainError):
    status, code, title = 422, "idempotency_key_reused", "Idempotency-Key reused with another body"


class AuthenticationRequired(DomainError):
    status, code, title = 401, "authentication_required", "Authentication required"


class Forbidden(DomainError):
    status, code, title = 403, "forbidden", "Not allowed"


class ServiceUnavailable(DomainError):
    status, code, title = 503, "service_unavailable", "Service temporarily unavailable"


def problem_response(
    status: int, code: str, title: str, detail: str, extras: dict[str, Any] | None = None
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
    if status == 503:
        response.headers["Retry-After"] = "2"
    return response


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.path in {"/api", "/healthz", "/readyz"}:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def _render(status: int, code: str, title: str, detail: str, extras: dict[str, Any] | None = None):
    # Whatever the request did is abandoned, and its seat locks released, before we answer.
    try:
        db.session.rollback()
    except Exception:
        log.exception("rollback failed while rendering an error")
    if _wants_json():
        return problem_response(status, code, title, detail, extras)
    html = render_template("error.html", status=status, title=title, detail=detail, code=code)
    return html, status


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
    def handle_domain_error(exc: DomainError):
        return _render(exc.status, exc.code, exc.title, exc.detail, exc.extras)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
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
        if status == 405 and isinstance(response, Response):
            allowed = exc.get_response().headers.get("Allow")
            if allowed:
                response.headers["Allow"] = allowed
        return response

    @app.errorhandler(OperationalError)
    def handle_database_down(exc: DBAPIError):
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
    def handle_unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(500, "internal_error", "Internal server error", "Something went wrong on our side.")
