"""The OpenAPI 3.1 document of the JSON API, served at /api/openapi.json.

Built, not written: the schemas come from the pydantic models of
webapp/api/schemas.py, and each operation is one ``Operation`` below whose
problem answers follow from the error codes it may give (their statuses
from webapp/problems.py). tests/test_openapi.py checks that every served
route is documented and holds real answers to the document;
tests/test_fuzz_api.py fuzzes the API with it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from pydantic.json_schema import GenerateJsonSchema, models_json_schema
from pydantic_core import core_schema

from ..booking.errors import DomainError
from ..problems import HTTP_PROBLEMS, STATUS
from ..validation import MAX_ID
from .documented import DOCUMENTED

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
#: Idempotency-Key: 16 to 255 visible ASCII characters (no spaces).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{16,255}$"

#: Problems of any operation that reads or writes the database, and of any that takes a body.
DATABASE = ("database_unavailable", "busy")
BODY = ("malformed_json", "payload_too_large", "unsupported_media_type", "validation_error")
TOKEN = ("authentication_required", "forbidden")
#: Problems of operations under a per-client-address rate limit (webapp/limits.py).
LIMITED = ("rate_limited",)
#: Admin operations: failed admin tokens are limited per address.
ADMIN = (*TOKEN, *LIMITED)


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    #: The success answer: status, schema name (None: no JSON body) and description.
    ok: tuple[int, str | None, str]
    problems: tuple[str, ...] = DATABASE
    body: str | None = None
    #: The security scheme, or alternatives separated by "|".
    security: str | None = None
    description: str | None = None
    parameters: tuple[dict[str, Any], ...] = ()
    ok_headers: dict[str, Any] = field(default_factory=dict)
    more_responses: dict[str, Any] = field(default_factory=dict)
    #: The success answer's media type; anything but JSON is documented as a string.
    ok_media: str = JSON


_SHOW = _ref("parameters", "ShowId")
_AUDITORIUM = _ref("parameters", "AuditoriumId")
#: Bounded listings (webapp/booking/paging.py): ?limit= and ?cursor=, and a Link to the next page.
_PAGING = (
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": "Items per page.",
        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "Where the page starts: the cursor from the previous page's Link header (opaque).",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[A-Za-z0-9_-]+$"},
    },
)
#: gunicorn refuses a request line over 4094 bytes before the app sees it (a cursor is short).
_URI_TOO_LONG = {"414": {"description": "The request line is longer than the HTTP server accepts."}}
_NEXT_PAGE = {
    "Link": {
        "description": 'RFC 8288 link to the next page, `<…>; rel="next"`; absent on the last page.',
        "required": False,
        "schema": {"type": "string"},
    }
}
_BOOKING = _ref("parameters", "BookingId")
_LOCATION = {"Location": _ref("headers", "Location")}
_CANCEL = {
    "tag": "bookings",
    "summary": "Cancel a booking, releasing its seats at once",
    "description": "Works on PENDING and CONFIRMED bookings; a repeat returns 200 and changes nothing. "
    "The admin token may cancel any booking.",
    "ok": (200, "Booking", "The booking, CANCELLED."),
    "problems": (*DATABASE, *TOKEN, *LIMITED, "booking_not_found", "hold_expired"),
    "security": "bookingToken|adminToken",
    "parameters": (_BOOKING,),
}

OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/api/shows", "listShows", "shows", "Upcoming shows, soonest first",
              ok=(200, "ShowList", "Shows that have not started yet, a page at a time."),
              problems=(*DATABASE, "validation_error"), parameters=_PAGING, ok_headers=_NEXT_PAGE,
              more_responses=_URI_TOO_LONG),
    Operation("post", "/api/shows", "createShow", "admin",
              "Create a show and its seats: a rectangle, a layout, or in an auditorium",
              description="A validation_error's `errors` says why: errors.layout names the row and "
              "position at fault; errors.auditorium_id for an unknown auditorium; errors.prices when "
              "a kind of seat in the plan has no price.",
              ok=(201, "Show", "The new show."), body="NewShow", security="adminToken",
              problems=(*DATABASE, *BODY, *ADMIN), ok_headers=_LOCATION),
    Operation("get", "/api/shows/{show_id}", "getShow", "shows", "A show, with its seat counts",
              ok=(200, "Show", "The show."), problems=(*DATABASE, "show_not_found"), parameters=(_SHOW,)),
    Operation("get", "/api/shows/{show_id}/seats", "listSeats", "shows", "The seat map, row-major",
              description="Lapsed holds read as AVAILABLE. Revalidate with If-None-Match.",
              ok=(200, "SeatList", "Every seat of the show."), problems=(*DATABASE, "show_not_found"),
              parameters=(_SHOW, {
                  "name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                  "description": "An ETag from an earlier answer: 304 if the seats have not changed.",
              }),
              ok_headers={"ETag": _ref("headers", "ETag"), "Cache-Control": _ref("headers", "CacheControl")},
              more_responses={"304": {"description": "Unchanged since the ETag sent in If-None-Match.",
                                      "headers": {"ETag": _ref("headers", "ETag")}}}),
    Operation("get", "/api/shows/{show_id}/seats/stats", "seatStats", "shows", "Seat counts by status",
              ok=(200, "SeatStats", "The counts; they agree with the seat map."),
              problems=(*DATABASE, "show_not_found"), parameters=(_SHOW,)),
    Operation("post", "/api/shows/{show_id}/cancel", "cancelShow", "admin",
              "Cancel a show: every live booking cancelled, its bookers told by e-mail",
              description="In one transaction the show becomes CANCELLED, every PENDING or CONFIRMED "
              "booking CANCELLED (lapsed holds EXPIRED) and its seats released; each cancelled booking "
              "with an e-mail is owed one message. New holds then get 409 show_cancelled. A repeat "
              "returns 200 and changes nothing.",
              ok=(200, "Show", "The show, CANCELLED."), security="adminToken",
              problems=(*DATABASE, *ADMIN, "show_not_found"), parameters=(_SHOW,)),
    Operation("get", "/api/shows/{show_id}/report", "showReport", "admin",
              "A show's figures: seats sold, held and available, check-ins, revenue",
              ok=(200, "ShowReport", "The report; lapsed holds count as available."),
              security="adminToken", problems=(*DATABASE, *ADMIN, "show_not_found"), parameters=(_SHOW,)),
    Operation("get", "/api/shows/{show_id}/bookings", "listShowBookings", "admin",
              "A show's bookings, oldest first (never with tokens)", ok=(200, "BookingList", "The bookings."),
              problems=(*DATABASE, *ADMIN, "show_not_found", "validation_error"), security="adminToken",
              parameters=(_SHOW, {
                  "name": "status", "in": "query", "required": False,
                  "description": "Only bookings in this status (lapsed holds count as EXPIRED).",
                  "schema": {"type": "string", "enum": ["PENDING", "CONFIRMED", "EXPIRED", "CANCELLED"]},
              }, *_PAGING), ok_headers=_NEXT_PAGE, more_responses=_URI_TOO_LONG),
    Operation("post", "/api/bookings", "holdSeats", "bookings", "Hold seats for HOLD_SECONDS, all or none",
              description="Returns the booking and its token (the bearer for every other booking endpoint). "
              "With an Idempotency-Key, a repeat of the same body within 24 hours returns the first "
              "answer and holds nothing more.",
              ok=(201, "HoldResponse", "The seats are held."), body="HoldRequest",
              problems=(*DATABASE, *BODY, "show_not_found", "seats_unavailable", "show_started",
                        "idempotency_key_reused", "too_many_holds", "companion_without_wheelchair",
                        "show_cancelled",
                        *LIMITED),
              parameters=({
                  "name": "Idempotency-Key", "in": "header", "required": False,
                  "description": "A client-chosen string of 16 to 255 visible ASCII characters (a UUID "
                  "will do), scoped to the client: the same key from another client address is another "
                  "request. Failed holds are not remembered.",
                  "schema": {"type": "string", "minLength": 16, "maxLength": 255,
                             "pattern": IDEMPOTENCY_KEY_PATTERN},
              },),
              ok_headers={**_LOCATION, "Idempotent-Replayed": {
                  "description": "Present when an Idempotency-Key replayed the first answer.",
                  "schema": {"type": "string", "enum": ["true"]},
              }}),
    Operation("get", "/api/bookings/{booking_id}", "getBooking", "bookings", "A booking",
              ok=(200, "Booking", "The booking."), security="bookingToken",
              problems=(*DATABASE, *TOKEN, "booking_not_found"), parameters=(_BOOKING,)),
    Operation("delete", "/api/bookings/{booking_id}", "deleteBooking", **_CANCEL),
    Operation("post", "/api/bookings/{booking_id}/confirm", "confirmBooking", "bookings",
              "Confirm a held booking", description="A repeat returns 200 and changes nothing.",
              ok=(200, "Booking", "The booking, CONFIRMED."), security="bookingToken",
              problems=(*DATABASE, *TOKEN, *LIMITED, "booking_not_found", "hold_expired",
                        "booking_cancelled"),
              parameters=(_BOOKING,)),
    Operation("post", "/api/bookings/{booking_id}/cancel", "cancelBooking", **_CANCEL),
    Operation("get", "/api/auditoriums", "listAuditoriums", "admin",
              "Every auditorium (named seat plan), by name", ok=(200, "AuditoriumList", "The auditoriums."),
              problems=(*DATABASE, *ADMIN), security="adminToken"),
    Operation("post", "/api/auditoriums", "createAuditorium", "admin",
              "Store a named seat plan that shows can be created in",
              description="A validation_error's `errors` says why: a malformed layout names the row and "
              "position; a name already taken (names are unique, ignoring case).",
              ok=(201, "Auditorium", "The new auditorium."), body="NewAuditorium", security="adminToken",
              problems=(*DATABASE, *BODY, *ADMIN), ok_headers=_LOCATION),
    Operation("get", "/api/auditoriums/{auditorium_id}", "getAuditorium", "admin", "An auditorium",
              ok=(200, "Auditorium", "The auditorium."), security="adminToken",
              problems=(*DATABASE, *ADMIN, "auditorium_not_found"), parameters=(_AUDITORIUM,)),
    Operation("get", "/api/openapi.json", "openapi", "meta", "This document",
              ok=(200, None, "The OpenAPI 3.1 document."), problems=()),
    Operation("get", "/metrics", "metrics", "admin", "Prometheus metrics (text format 0.0.4)",
              description="Names start with marquee_: holds by outcome, request latency by endpoint, the "
              "oldest overdue hold, the outbox backlog and dead messages, the job queue's length, and "
              "whether seat locking is degraded (Redis down). docs/OPERATIONS.md says what to watch.",
              ok=(200, None, "The metrics, summed over every web worker."), security="adminToken",
              problems=(*DATABASE, *ADMIN), ok_media="text/plain"),
    Operation("get", "/healthz", "healthz", "meta", "Liveness: the process answers",
              ok=(200, "Health", "Alive."), problems=()),
    Operation("get", "/readyz", "readyz", "meta", "Readiness: PostgreSQL and Redis answer",
              ok=(200, "Readiness", "Ready."), problems=(),
              more_responses={"503": {"description": "PostgreSQL or Redis is down; `checks` says which.",
                                      "content": {JSON: {"schema": _ref("schemas", "Readiness")}}}}),
)  # fmt: skip


def _titles() -> dict[str, str]:
    """Each problem code's title: the domain errors' own, and those only HTTP gives."""
    titles = {code: title for code, (_, title) in HTTP_PROBLEMS.items()}
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        titles.setdefault(cls.code, cls.title)
        pending.extend(cls.__subclasses__())
    return titles


def _problem_responses(codes: tuple[str, ...]) -> dict[str, Any]:
    """One response per status, saying which codes it may carry."""
    titles = _titles()
    by_status: dict[int, list[str]] = defaultdict(list)
    for code in codes:
        by_status[STATUS.get(code) or HTTP_PROBLEMS[code][0]].append(code)
    responses: dict[str, Any] = {}
    for status, status_codes in sorted(by_status.items()):
        narrowed = {"properties": {"status": {"const": status}, "code": {"enum": status_codes}}}
        schema = {"allOf": [_ref("schemas", "Problem"), narrowed]}
        response: dict[str, Any] = {
            "description": "; ".join(f"{code}: {titles[code]}." for code in status_codes),
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        if status == 401:
            response["headers"] = {"WWW-Authenticate": _ref("headers", "WWWAuthenticate")}
        if status == 503:
            response["headers"] = {"Retry-After": _ref("headers", "RetryAfter")}
        elif "rate_limited" in status_codes:  # too_many_holds has no time to wait for
            response["headers"] = {
                "Retry-After": {
                    "description": "With rate_limited: seconds until the limit lets the client through.",
                    "required": False,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                }
            }
        responses[str(status)] = response
    return responses


def _operation(op: Operation) -> dict[str, Any]:
    status, schema_name, description = op.ok
    ok: dict[str, Any] = {"description": description}
    if op.ok_media != JSON:
        ok["content"] = {op.ok_media: {"schema": {"type": "string"}}}
    elif schema_name is None:
        ok["content"] = {JSON: {"schema": {"type": "object", "required": ["openapi", "paths"]}}}
    else:
        ok["content"] = {JSON: {"schema": _ref("schemas", schema_name)}}
    if op.ok_headers:
        ok["headers"] = op.ok_headers
    built: dict[str, Any] = {"operationId": op.operation_id, "tags": [op.tag], "summary": op.summary}
    if op.description:
        built["description"] = op.description
    if op.security:  # "a|b": either scheme will do
        built["security"] = [{scheme: []} for scheme in op.security.split("|")]
    if op.parameters:
        built["parameters"] = list(op.parameters)
    if op.body:
        built["requestBody"] = {"required": True, "content": {JSON: {"schema": _ref("schemas", op.body)}}}
    built["responses"] = {str(status): ok, **op.more_responses, **_problem_responses(op.problems)}
    return built


class _Schemas(GenerateJsonSchema):
    """pydantic's JSON Schema without titles and defaults: noise to clients, traps for fuzzers."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> dict[str, Any]:
        return self.generate_inner(schema["schema"])


def _schemas(max_seats: int) -> dict[str, Any]:
    _, top = models_json_schema(
        [(model, "validation") for model in DOCUMENTED],
        ref_template="#/components/schemas/{model}",
        schema_generator=_Schemas,
    )
    schemas = top["$defs"]
    for schema in schemas.values():
        schema.pop("title", None)
    schemas["HoldRequest"]["properties"]["seats"]["maxItems"] = max_seats
    return schemas


def _components(max_seats: int) -> dict[str, Any]:
    def header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "required": True, "schema": schema}

    def bearer(description: str) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": description}

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
            "AuditoriumId": {
                "name": "auditorium_id",
                "in": "path",
                "required": True,
                "description": "An auditorium id; anything that is not one is 404 auditorium_not_found.",
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
            "Location": header("Path of the created resource.", {"type": "string", "pattern": "^/api/"}),
            "ETag": header(
                "Strong validator of the seat map; send it back in If-None-Match.",
                {"type": "string", "pattern": '^"[0-9a-f]+"$'},
            ),
            "CacheControl": header(
                "Clients may keep a copy but must revalidate it.", {"type": "string", "enum": ["no-cache"]}
            ),
            "WWWAuthenticate": header(
                "The scheme to authenticate with.", {"enum": ["Bearer"], "type": "string"}
            ),
            "RetryAfter": header(
                "Seconds to wait before retrying.", {"pattern": "^[0-9]+$", "type": "string"}
            ),
        },
        "securitySchemes": {
            "bookingToken": bearer("The token returned by POST /api/bookings, for that booking only."),
            "adminToken": bearer("The server's ADMIN_TOKEN; admin endpoints are off when it is unset."),
        },
    }


def build_document(max_seats: int) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = defaultdict(dict)
    for op in OPERATIONS:
        paths[op.path][op.method] = _operation(op)
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
        "paths": dict(paths),
        "components": _components(max_seats),
    }


_built: dict[int, dict[str, Any]] = {}


def openapi_document() -> dict[str, Any]:
    """The document for the current app's limits, built once per limit and cached.

    Callers must not mutate it: every request shares the same dict.
    MAX_SEATS_PER_BOOKING is the one setting that shapes a schema.
    """
    max_seats = int(current_app.config["MAX_SEATS_PER_BOOKING"]) if has_app_context() else 10
    if max_seats not in _built:
        _built[max_seats] = build_document(max_seats)
    return _built[max_seats]
