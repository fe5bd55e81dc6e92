"""The OpenAPI 3.1 document of the JSON API, served at /api/openapi.json.

Written by hand, next to the views, rather than generated: the validators in
``webapp/validation.py`` are hand-written too, and the document has to say
exactly what they accept (it is fuzzed with schemathesis, which sends what
the schemas allow and expects it accepted, and what they forbid and expects
it refused). When a view, a validator or an error changes, change this too;
tests/test_openapi.py fails when a route is missing here and checks real
responses against these schemas.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import current_app, has_app_context

from ..validation import MAX_ID
from . import openapi_seatplans

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"

BOOKING_STATUSES = ["PENDING", "CONFIRMED", "EXPIRED", "CANCELLED"]
SEAT_STATUSES = ["AVAILABLE", "HELD", "BOOKED"]

# Patterns mirror validation.py. They use Python's `re` meaning of \s (what
# str.strip() removes), because the checks run in Python on both sides.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
#: Free text: not blank, no control characters except surrounding whitespace
#: (which the server strips before checking).
TEXT_PATTERN = rf"^\s*[^\s{_CONTROL}](?:[^{_CONTROL}]*[^\s{_CONTROL}])?\s*$"
_EMAIL_CHAR = rf"[^@\s{_CONTROL}]"
#: EMAIL_PATTERN of validation.py after stripping, or the empty string (no email).
EMAIL_PATTERN = rf"^(?:\s*{_EMAIL_CHAR}+@{_EMAIL_CHAR}+\.{_EMAIL_CHAR}+\s*)?$"
#: A seat label as clients may send it: case and surrounding whitespace do not
#: matter. Numbers stop at 50, the widest row; the server answers 422 for
#: labels beyond the show's own layout.
SEAT_LABEL_IN_PATTERN = r"^\s*[A-Za-z](?:[1-9]|[1-4][0-9]|50)\s*$"
#: A seat label as the server writes it.
SEAT_LABEL_PATTERN = r"^[A-Z][1-9][0-9]?$"
#: validation.parse_starts_at accepts years 2000 to 2999 only.
STARTS_AT_YEAR_PATTERN = r"^2[0-9]{3}-"
#: Idempotency-Key: 1 to 255 printable ASCII characters (no blank ends, which HTTP would strip).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable_timestamp(description: str) -> dict[str, Any]:
    return {"type": ["string", "null"], "format": "date-time", "description": description}


def _timestamp(description: str) -> dict[str, Any]:
    return {"type": "string", "format": "date-time", "description": description}


def _when(field: str, value: str, then: dict[str, Any]) -> dict[str, Any]:
    """``if field == value then ...``: ties a field's nullability to a status."""
    return {"if": {"properties": {field: {"const": value}}, "required": [field]}, "then": then}


def _null(*fields: str) -> dict[str, Any]:
    return {"properties": {field: {"type": "null"} for field in fields}}


def _not_null(*fields: str) -> dict[str, Any]:
    return {"properties": {field: {"type": "string"} for field in fields}}


def _schemas(max_seats: int) -> dict[str, Any]:
    seat_stats = {
        "type": "object",
        "additionalProperties": False,
        "required": ["total", "available", "held", "booked"],
        "description": "Seat counts by status; lapsed holds count as available.",
        "properties": {
            name: {"type": "integer", "minimum": 0} for name in ("total", "available", "held", "booked")
        },
    }
    show = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "title", "starts_at", "auditorium", "rows", "seats_per_row", "stats"],
        "properties": {
            "id": {"type": "integer", "format": "int64", "minimum": 1},
            "title": {"type": "string", "minLength": 1, "maxLength": 200},
            "starts_at": _timestamp("Start time, in UTC."),
            "auditorium": {"type": ["string", "null"], "minLength": 1, "maxLength": 100},
            "rows": {"type": "integer", "minimum": 1, "maximum": 26},
            "seats_per_row": {"type": "integer", "minimum": 1, "maximum": 50},
            "stats": _ref("SeatStats"),
        },
    }
    seat = {
        "type": "object",
        "additionalProperties": False,
        "required": ["seat", "row", "number", "status", "hold_expires_at"],
        "description": "A seat of a show. Public: no booking ids.",
        "properties": {
            "seat": _ref("SeatLabel"),
            "row": {"type": "string", "pattern": "^[A-Z]$"},
            "number": {"type": "integer", "minimum": 1, "maximum": 50},
            "status": {"type": "string", "enum": SEAT_STATUSES},
            "hold_expires_at": _nullable_timestamp("When the hold lapses; set only while HELD."),
        },
        "allOf": [
            _when("status", "HELD", _not_null("hold_expires_at")),
            _when("status", "AVAILABLE", _null("hold_expires_at")),
            _when("status", "BOOKED", _null("hold_expires_at")),
        ],
    }
    booking = {
        "type": "object",
        "additionalProperties": False,
        "required": [
            "id",
            "show_id",
            "status",
            "seats",
            "hold_expires_at",
            "created_at",
            "confirmed_at",
            "cancelled_at",
            "expired_at",
        ],
        "description": (
            "A booking. A PENDING booking whose hold has lapsed reads as EXPIRED "
            "(with expired_at) whether or not the expiry job has run."
        ),
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "show_id": {"type": "integer", "format": "int64", "minimum": 1},
            "status": {"type": "string", "enum": BOOKING_STATUSES},
            "seats": {
                "type": "array",
                "items": _ref("SeatLabel"),
                "description": "The booking's seat labels, kept whatever its status.",
            },
            "hold_expires_at": _timestamp("When the hold lapses (or lapsed)."),
            "created_at": _timestamp("When the seats were held."),
            "confirmed_at": _nullable_timestamp("Set once confirmed (kept if later cancelled)."),
            "cancelled_at": _nullable_timestamp("Set once cancelled."),
            "expired_at": _nullable_timestamp("Set once the hold lapsed."),
        },
        "allOf": [
            _when("status", "PENDING", _null("confirmed_at", "cancelled_at", "expired_at")),
            _when(
                "status", "CONFIRMED", {**_not_null("confirmed_at"), **_null("cancelled_at", "expired_at")}
            ),
            _when("status", "CANCELLED", {**_not_null("cancelled_at"), **_null("expired_at")}),
            _when("status", "EXPIRED", {**_not_null("expired_at"), **_null("confirmed_at", "cancelled_at")}),
        ],
    }
    problem = {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "title", "status", "detail", "code"],
        "description": "An RFC 9457 problem, with a machine-readable `code` and the extras some codes carry.",
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "code": {"type": "string", "pattern": "^[a-z_]+$"},
            "errors": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "validation_error: a message for each field (or header) at fault.",
            },
            "seats": {
                "type": "array",
                "items": _ref("SeatLabel"),
                "description": "seats_unavailable: the requested seats that are not available.",
            },
            "limit": {
                "type": "integer",
                "minimum": 1,
                "description": "too_many_holds: seats one visitor may hold.",
            },
            "held": {"type": "integer", "minimum": 0, "description": "too_many_holds: seats held already."},
        },
        "allOf": [
            _when("code", "validation_error", {"required": ["errors"]}),
            _when("code", "seats_unavailable", {"required": ["seats"]}),
            _when("code", "too_many_holds", {"required": ["limit", "held"]}),
        ],
    }
    new_show = {
        "type": "object",
        "additionalProperties": False,
        "required": ["title", "starts_at", "rows", "seats_per_row"],
        "properties": {
            "title": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "pattern": TEXT_PATTERN,
                "description": "Stripped and NFC-normalised; no control characters.",
            },
            "starts_at": {
                "type": "string",
                "format": "date-time",
                "pattern": STARTS_AT_YEAR_PATTERN,
                "description": "With a time zone offset; years 2000 to 2999.",
            },
            "rows": {"type": "integer", "minimum": 1, "maximum": 26},
            "seats_per_row": {"type": "integer", "minimum": 1, "maximum": 50},
            "auditorium": {
                "type": ["string", "null"],
                "minLength": 1,
                "maxLength": 100,
                "pattern": TEXT_PATTERN,
            },
        },
        "examples": [
            {
                "title": "Metropolis",
                "starts_at": "2099-05-01T19:30:00+02:00",
                "rows": 10,
                "seats_per_row": 12,
                "auditorium": "Screen 1",
            }
        ],
    }
    hold_request = {
        "type": "object",
        "additionalProperties": False,
        "required": ["show_id", "seats"],
        "properties": {
            "show_id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
            "seats": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_seats,
                "uniqueItems": True,
                "items": {"type": "string", "pattern": SEAT_LABEL_IN_PATTERN},
                "description": (
                    "Distinct labels of seats of the show (case-insensitive); "
                    "labels the show does not have get 422."
                ),
            },
            "email": {
                "type": ["string", "null"],
                "maxLength": 254,
                "pattern": EMAIL_PATTERN,
                "description": "Where to send the confirmation; null or empty for none.",
            },
        },
        "examples": [{"show_id": 1, "seats": ["A1", "A2"], "email": "ana@example.com"}],
    }
    return {
        "SeatLabel": {"type": "string", "pattern": SEAT_LABEL_PATTERN, "examples": ["A1"]},
        "SeatStats": seat_stats,
        "Show": show,
        "ShowList": {
            "type": "object",
            "additionalProperties": False,
            "required": ["shows"],
            "properties": {"shows": {"type": "array", "items": _ref("Show")}},
        },
        "Seat": seat,
        "SeatList": {
            "type": "object",
            "additionalProperties": False,
            "required": ["show_id", "seats"],
            "properties": {
                "show_id": {"type": "integer", "format": "int64", "minimum": 1},
                "seats": {"type": "array", "items": _ref("Seat"), "description": "Row-major order."},
            },
        },
        "Booking": booking,
        "BookingList": {
            "type": "object",
            "additionalProperties": False,
            "required": ["bookings"],
            "properties": {"bookings": {"type": "array", "items": _ref("Booking")}},
        },
        "HoldResponse": {
            "type": "object",
            "additionalProperties": False,
            "required": ["booking", "token"],
            "properties": {
                "booking": _ref("Booking"),
                "token": {
                    "type": "string",
                    "minLength": 1,
                    "description": "The booking's bearer token; shown once, keep it.",
                },
            },
        },
        "NewShow": new_show,
        "HoldRequest": hold_request,
        "Problem": problem,
        "Health": {
            "type": "object",
            "additionalProperties": False,
            "required": ["status"],
            "properties": {"status": {"const": "ok"}},
        },
        "Readiness": {
            "type": "object",
            "additionalProperties": False,
            "required": ["status", "checks"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "checks": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["postgresql", "redis"],
                    "properties": {
                        name: {"type": "string", "pattern": "^(ok|down: .+)$"}
                        for name in ("postgresql", "redis")
                    },
                },
            },
        },
    }


# --- responses -----------------------------------------------------------------

_PROBLEM_CODES: dict[int, tuple[str, list[str]]] = {
    400: ("The body is not valid JSON.", ["malformed_json"]),
    401: ("No bearer token was sent.", ["authentication_required"]),
    403: ("The bearer token is not the right one.", ["forbidden"]),
    413: ("The body is larger than MAX_CONTENT_LENGTH.", ["payload_too_large"]),
    415: ("The body is not application/json.", ["unsupported_media_type"]),
    503: ("PostgreSQL is unreachable; retry shortly.", ["database_unavailable"]),
}


def _problem(status: int, description: str | None = None, codes: list[str] | None = None) -> dict[str, Any]:
    """A problem+json response whose ``code`` is one of ``codes``."""
    default_description, default_codes = _PROBLEM_CODES.get(status, ("", []))
    response: dict[str, Any] = {
        "description": description or default_description,
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "allOf": [
                        _ref("Problem"),
                        {
                            "properties": {
                                "status": {"const": status},
                                "code": {"enum": codes or default_codes},
                            }
                        },
                    ]
                }
            }
        },
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"$ref": "#/components/headers/WWWAuthenticate"}}
    if status == 503:
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return response


def _json(schema_name: str, description: str, **headers: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {JSON: {"schema": _ref(schema_name)}},
    }
    if headers:
        response["headers"] = headers
    return response


_LOCATION = {"$ref": "#/components/headers/Location"}
_SHOW_NOT_FOUND = _problem(404, "No such show (or the id is not one).", ["show_not_found"])
_BOOKING_NOT_FOUND = _problem(404, "No such booking (or the id is not a UUID).", ["booking_not_found"])


def _show_path_param() -> dict[str, Any]:
    return {"$ref": "#/components/parameters/ShowId"}


def _booking_path_param() -> dict[str, Any]:
    return {"$ref": "#/components/parameters/BookingId"}


def _settle_responses(success: str, conflicts: list[str], conflict_text: str) -> dict[str, Any]:
    return {
        "200": _json("Booking", success),
        "401": _problem(401),
        "403": _problem(403, "The token is not this booking's."),
        "404": _BOOKING_NOT_FOUND,
        "409": _problem(409, conflict_text, conflicts),
        "503": _problem(503),
    }


def _paths() -> dict[str, Any]:
    admin = [{"adminToken": []}]
    booking_token = [{"bookingToken": []}]
    cancel_operation = {
        "tags": ["bookings"],
        "summary": "Cancel a booking, releasing its seats at once",
        "description": "Works on PENDING and CONFIRMED bookings; a repeat returns 200 and changes nothing.",
        "security": booking_token,
        "parameters": [_booking_path_param()],
        "responses": _settle_responses(
            "The booking, CANCELLED.",
            ["hold_expired"],
            "hold_expired: the hold had lapsed; the booking is EXPIRED and its seats released.",
        ),
    }
    return {
        "/api/shows": {
            "get": {
                "operationId": "listShows",
                "tags": ["shows"],
                "summary": "Upcoming shows, soonest first",
                "responses": {
                    "200": _json("ShowList", "Shows that have not started yet."),
                    "503": _problem(503),
                },
            },
            "post": {
                "operationId": "createShow",
                "tags": ["admin"],
                "summary": "Create a show and its seats",
                "security": admin,
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": _ref("NewShow")}},
                },
                "responses": {
                    "201": _json("Show", "The new show.", Location=_LOCATION),
                    "400": _problem(400),
                    "401": _problem(401),
                    "403": _problem(403, "Not the admin token, or the admin API is off (no ADMIN_TOKEN)."),
                    "413": _problem(413),
                    "415": _problem(415),
                    "422": _problem(
                        422, "The body is not a valid show; `errors` says why.", ["validation_error"]
                    ),
                    "503": _problem(503),
                },
            },
        },
        "/api/shows/{show_id}": {
            "parameters": [_show_path_param()],
            "get": {
                "operationId": "getShow",
                "tags": ["shows"],
                "summary": "A show, with its seat counts",
                "responses": {
                    "200": _json("Show", "The show."),
                    "404": _SHOW_NOT_FOUND,
                    "503": _problem(503),
                },
            },
        },
        "/api/shows/{show_id}/seats": {
            "parameters": [_show_path_param()],
            "get": {
                "operationId": "listSeats",
                "tags": ["shows"],
                "summary": "The seat map, row-major",
                "description": "Lapsed holds read as AVAILABLE. Revalidate with If-None-Match.",
                "parameters": [
                    {
                        "name": "If-None-Match",
                        "in": "header",
                        "required": False,
                        "description": "An ETag from an earlier answer: 304 if the seats have not changed.",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json(
                        "SeatList",
                        "Every seat of the show.",
                        ETag={"$ref": "#/components/headers/ETag"},
                        **{"Cache-Control": {"$ref": "#/components/headers/CacheControl"}},
                    ),
                    "304": {
                        "description": "Unchanged since the ETag sent in If-None-Match.",
                        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                    },
                    "404": _SHOW_NOT_FOUND,
                    "503": _problem(503),
                },
            },
        },
        "/api/shows/{show_id}/seats/stats": {
            "parameters": [_show_path_param()],
            "get": {
                "operationId": "seatStats",
                "tags": ["shows"],
                "summary": "Seat counts by status",
                "responses": {
                    "200": _json("SeatStats", "The counts; they agree with the seat map."),
                    "404": _SHOW_NOT_FOUND,
                    "503": _problem(503),
                },
            },
        },
        "/api/shows/{show_id}/bookings": {
            "parameters": [_show_path_param()],
            "get": {
                "operationId": "listShowBookings",
                "tags": ["admin"],
                "summary": "A show's bookings, oldest first (never with tokens)",
                "security": admin,
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "description": "Only bookings in this status (lapsed holds count as EXPIRED).",
                        "schema": {"type": "string", "enum": BOOKING_STATUSES},
                    }
                ],
                "responses": {
                    "200": _json("BookingList", "The bookings."),
                    "401": _problem(401),
                    "403": _problem(403, "Not the admin token, or the admin API is off (no ADMIN_TOKEN)."),
                    "404": _SHOW_NOT_FOUND,
                    "422": _problem(422, "`status` is not a booking status.", ["validation_error"]),
                    "503": _problem(503),
                },
            },
        },
        "/api/bookings": {
            "post": {
                "operationId": "holdSeats",
                "tags": ["bookings"],
                "summary": "Hold seats for HOLD_SECONDS, all or none",
                "description": (
                    "Returns the booking and its token (the bearer for every other booking "
                    "endpoint). With an Idempotency-Key, a repeat of the same body within "
                    "24 hours returns the first answer and holds nothing more."
                ),
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "description": "Any client-chosen string; failed holds are not remembered.",
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 255,
                            "pattern": IDEMPOTENCY_KEY_PATTERN,
                        },
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": _ref("HoldRequest")}},
                },
                "responses": {
                    "201": _json(
                        "HoldResponse",
                        "The seats are held.",
                        Location=_LOCATION,
                        **{
                            "Idempotent-Replayed": {
                                "description": "Present when an Idempotency-Key replayed the first answer.",
                                "schema": {"type": "string", "enum": ["true"]},
                            }
                        },
                    ),
                    "400": _problem(400),
                    "404": _problem(404, "No such show.", ["show_not_found"]),
                    "409": _problem(
                        409,
                        "seats_unavailable (`seats` lists which), or show_started.",
                        ["seats_unavailable", "show_started"],
                    ),
                    "413": _problem(413),
                    "415": _problem(415),
                    "422": _problem(
                        422,
                        "validation_error (`errors` says why: bad fields, unknown or duplicate "
                        "seats, too many seats, a bad Idempotency-Key), or idempotency_key_reused "
                        "with another body.",
                        ["validation_error", "idempotency_key_reused"],
                    ),
                    "429": _problem(
                        429,
                        "The visitor (client address) already holds MAX_HELD_SEATS_PER_VISITOR seats.",
                        ["too_many_holds"],
                    ),
                    "503": _problem(503),
                },
            },
        },
        "/api/bookings/{booking_id}": {
            "parameters": [_booking_path_param()],
            "get": {
                "operationId": "getBooking",
                "tags": ["bookings"],
                "summary": "A booking",
                "security": booking_token,
                "responses": {
                    "200": _json("Booking", "The booking."),
                    "401": _problem(401),
                    "403": _problem(403, "The token is not this booking's."),
                    "404": _BOOKING_NOT_FOUND,
                    "503": _problem(503),
                },
            },
            "delete": {**cancel_operation, "operationId": "deleteBooking"},
        },
        "/api/bookings/{booking_id}/confirm": {
            "parameters": [_booking_path_param()],
            "post": {
                "operationId": "confirmBooking",
                "tags": ["bookings"],
                "summary": "Confirm a held booking",
                "description": "A repeat returns 200 and changes nothing.",
                "security": booking_token,
                "responses": _settle_responses(
                    "The booking, CONFIRMED.",
                    ["hold_expired", "booking_cancelled"],
                    "hold_expired (the booking is EXPIRED, its seats released) or booking_cancelled.",
                ),
            },
        },
        "/api/bookings/{booking_id}/cancel": {
            "parameters": [_booking_path_param()],
            "post": {**cancel_operation, "operationId": "cancelBooking"},
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["meta"],
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {JSON: {"schema": {"type": "object", "required": ["openapi", "paths"]}}},
                    }
                },
            },
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "tags": ["meta"],
                "summary": "Liveness: the process answers",
                "responses": {"200": _json("Health", "Alive.")},
            },
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "tags": ["meta"],
                "summary": "Readiness: PostgreSQL and Redis answer",
                "responses": {
                    "200": _json("Readiness", "Ready."),
                    "503": _json("Readiness", "PostgreSQL or Redis is down; `checks` says which."),
                },
            },
        },
    }


def _components(max_seats: int) -> dict[str, Any]:
    return {
        "schemas": _schemas(max_seats),
        "parameters": {
            "ShowId": {
                "name": "show_id",
                "in": "path",
                "required": True,
                "description": "A show id; anything that is not one is 404 show_not_found.",
                "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
            },
            "BookingId": {
                "name": "booking_id",
                "in": "path",
                "required": True,
                "description": "A booking's UUID; anything that is not one is 404 booking_not_found.",
                "schema": {"type": "string", "format": "uuid"},
            },
        },
        "headers": {
            "Location": {
                "description": "Path of the created resource.",
                "required": True,
                "schema": {"type": "string", "pattern": "^/api/"},
            },
            "ETag": {
                "description": "Strong validator of the seat map; send it back in If-None-Match.",
                "required": True,
                "schema": {"type": "string", "pattern": '^"[0-9a-f]+"$'},
            },
            "CacheControl": {
                "description": "Clients may keep a copy but must revalidate it.",
                "required": True,
                "schema": {"type": "string", "enum": ["no-cache"]},
            },
            "WWWAuthenticate": {
                "description": "The scheme to authenticate with.",
                "required": True,
                "schema": {"type": "string", "enum": ["Bearer"]},
            },
            "RetryAfter": {
                "description": "Seconds to wait before retrying.",
                "required": True,
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            },
        },
        "securitySchemes": {
            "bookingToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The token returned by POST /api/bookings, for that booking only.",
            },
            "adminToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The server's ADMIN_TOKEN; admin endpoints are off when it is unset.",
            },
        },
    }


@functools.cache
def _build(max_seats: int) -> dict[str, Any]:
    document = _base_document(max_seats)
    # Seat plans, prices and auditoriums (issue 11): see openapi_seatplans.py.
    openapi_seatplans.extend_schemas(document["components"]["schemas"])
    openapi_seatplans.extend_paths(document["paths"], _problem, _LOCATION)
    return document


def _base_document(max_seats: int) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Marquee",
            "version": "1.0.0",
            "summary": "Movie-ticket booking: shows, live seat maps, holds and bookings.",
            "description": (
                "JSON in and out, snake_case keys, timestamps ISO 8601 in UTC with offset. "
                "Every error is application/problem+json (RFC 9457) with a machine-readable `code`."
            ),
        },
        "tags": [
            {"name": "shows", "description": "Public show listings and seat maps."},
            {"name": "bookings", "description": "Holding, confirming and cancelling seats."},
            {"name": "admin", "description": "Needs the ADMIN_TOKEN bearer."},
            {"name": "meta", "description": "Health checks and this document."},
        ],
        "paths": _paths(),
        "components": _components(max_seats),
    }


def openapi_document() -> dict[str, Any]:
    """The document for the current app's limits, built once per limit and cached.

    Callers must not mutate it: every request shares the same dict.
    MAX_SEATS_PER_BOOKING is the one setting that shapes a schema.
    """
    max_seats = current_app.config["MAX_SEATS_PER_BOOKING"] if has_app_context() else 10
    return _build(int(max_seats))
