"""Every operation of the JSON API, as the OpenAPI document describes it.

One ``Operation`` per method and path; webapp/api/openapi.py turns the table
into the document (its problem answers follow from the error codes listed
here, their statuses from webapp/problems.py). Kept apart from the builder
so that adding an endpoint is a change to this table alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


def ref(kind: str, name: str) -> dict[str, str]:
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


_SHOW = ref("parameters", "ShowId")
_AUDITORIUM = ref("parameters", "AuditoriumId")
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
_BOOKING = ref("parameters", "BookingId")
_LOCATION = {"Location": ref("headers", "Location")}
_CANCEL = {
    "tag": "bookings",
    "summary": "Cancel a booking, releasing its seats at once",
    "description": "Works on PENDING and CONFIRMED bookings and voids the tickets; a repeat returns 200 and "
    "changes nothing. A booking with a checked-in ticket is 409 already_checked_in. "
    "The admin token may cancel any booking.",
    "ok": (200, "Booking", "The booking, CANCELLED."),
    "problems": (*DATABASE, *TOKEN, *LIMITED, "booking_not_found", "hold_expired", "already_checked_in"),
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
              ok_headers={"ETag": ref("headers", "ETag"), "Cache-Control": ref("headers", "CacheControl")},
              more_responses={"304": {"description": "Unchanged since the ETag sent in If-None-Match.",
                                      "headers": {"ETag": ref("headers", "ETag")}}}),
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
              "Send `seats` to hold those, or `quantity` (and `kind`) for the best available adjacent "
              "seats in one row: nearest two thirds of the way back, then the row's centre, never "
              "leaving a single seat alone where another choice would not. With an Idempotency-Key, "
              "a repeat of the same body within 24 hours returns the first "
              "answer and holds nothing more.",
              ok=(201, "HoldResponse", "The seats are held."), body="HoldRequest",
              problems=(*DATABASE, *BODY, "show_not_found", "seats_unavailable", "show_started",
                        "idempotency_key_reused", "too_many_holds", "companion_without_wheelchair",
                        "show_cancelled",
                        "single_seat_gap", "no_adjacent_seats", *LIMITED),
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
    Operation("post", "/api/bookings/{booking_id}/extend", "extendBooking", "bookings",
              "Extend a hold: HOLD_SECONDS from now, at most MAX_HOLD_EXTENSIONS times",
              description="The booking's `extensions_left` says how many more times it can be done.",
              ok=(200, "Booking", "The booking, still PENDING, with its new hold_expires_at."),
              security="bookingToken",
              problems=(*DATABASE, *TOKEN, *LIMITED, "booking_not_found", "hold_expired",
                        "booking_not_pending", "extension_limit"),
              parameters=(_BOOKING,)),
    Operation("post", "/api/checkins", "checkIn", "door", "Check a ticket in at the door, once",
              description="The first scan of a valid ticket is 200 admitted; every later one is 409 "
              "already_checked_in with `checked_in_at`, however many arrive at once. A cancelled "
              "booking's ticket is 409 ticket_void; with `show_id`, another show's ticket is 409 wrong_show.",
              ok=(200, "CheckinResult", "Admitted."), body="CheckinRequest", security="checkinToken",
              problems=(*DATABASE, *BODY, *ADMIN, "ticket_not_found", "already_checked_in", "ticket_void",
                        "wrong_show")),
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
                                      "content": {JSON: {"schema": ref("schemas", "Readiness")}}}}),
)  # fmt: skip
