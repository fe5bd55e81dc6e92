"""The seat-plan parts of the OpenAPI document (issue 11): auditoriums, layouts,
seat kinds, prices and totals.

Kept apart from ``openapi.py``, which calls ``extend_schemas`` and
``extend_paths`` while it builds the document: the show, seat and booking
schemas gain their new fields here, and the auditorium endpoints are added.
Like the rest of the document, it must say exactly what the validators
(webapp/plan_validation.py) accept: schemathesis holds the two to each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..money import DEFAULT_CURRENCY, currency_codes
from ..plan_validation import MAX_PRICE
from ..seatplan import KIND_BY_CHAR, KINDS, MAX_POSITIONS, MAX_ROWS
from ..validation import MAX_ID

JSON = "application/json"

#: One row of a layout. Python's \s, as the server strips rows with str.strip().
LAYOUT_ROW_PATTERN = rf"^\s*[spwc.]{{1,{MAX_POSITIONS}}}\s*$"
#: A row as the server writes it back.
STORED_ROW_PATTERN = rf"^[spwc.]{{1,{MAX_POSITIONS}}}$"

_KIND_TEXT = "s standard seat, p premium seat, w wheelchair space, c companion seat, . no seat (aisle or gap)"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _layout(row_pattern: str, description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_ROWS,
        "items": {"type": "string", "pattern": row_pattern},
        # A plan needs at least one seat.
        "contains": {"type": "string", "pattern": "[spwc]"},
        "description": description,
        "examples": [["..ssss.ssss..", "sssss.sssss", "wcsss.sppss"]],
    }


def _prices(nullable: bool) -> dict[str, Any]:
    return {
        "type": ["object", "null"] if nullable else "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {kind: {"type": "integer", "minimum": 0, "maximum": MAX_PRICE} for kind in KINDS},
        "description": (
            "Price of each seat kind in minor units of `currency` (cents for EUR, yen for JPY). "
            "When given, every kind of seat in the plan needs a price (else 422 errors.prices)."
        ),
        "examples": [{"standard": 950, "premium": 1400, "wheelchair": 950, "companion": 950}],
    }


def _prices_cover_layout() -> list[dict[str, Any]]:
    """if the layout has a kind and prices are given, prices has that kind; a rectangle is all standard."""
    rules = [
        {
            "if": {
                "required": ["layout", "prices"],
                "properties": {
                    "layout": {"contains": {"type": "string", "pattern": char}},
                    "prices": {"type": "object"},
                },
            },
            "then": {"properties": {"prices": {"required": [kind.value]}}},
        }
        for char, kind in KIND_BY_CHAR.items()
    ]
    rules.append(
        {
            "if": {"required": ["rows", "prices"], "properties": {"prices": {"type": "object"}}},
            "then": {"properties": {"prices": {"required": ["standard"]}}},
        }
    )
    return rules


def _only(required: list[str], excluded: list[str]) -> dict[str, Any]:
    return {"required": required, "not": {"anyOf": [{"required": [name]} for name in excluded]}}


def extend_schemas(schemas: dict[str, Any]) -> None:
    currency = {
        "type": "string",
        "enum": list(currency_codes()),
        "description": "ISO 4217 code, in capitals.",
    }
    schemas["Layout"] = _layout(
        STORED_ROW_PATTERN,
        f"Rows from the screen back (A, B, …), one character per position: {_KIND_TEXT}. "
        "Seat numbers count seats from the left and skip gaps.",
    )
    schemas["LayoutInput"] = _layout(
        LAYOUT_ROW_PATTERN,
        f"1 to {MAX_ROWS} rows from the screen back (A, B, …) of 1 to {MAX_POSITIONS} positions: "
        f"{_KIND_TEXT}. At least one seat. Whitespace around a row is ignored. A malformed "
        "layout is 422 validation_error with errors.layout naming the row and position at fault.",
    )
    schemas["SeatKind"] = {"type": "string", "enum": list(KINDS)}

    show = schemas["Show"]
    show["required"] += ["layout", "prices", "currency"]
    show["properties"].update(
        {
            "layout": _ref("Layout"),
            "prices": _prices(nullable=True),
            "currency": {
                **currency,
                "type": ["string", "null"],
                "enum": [*currency["enum"], None],
                "description": "Currency of `prices`; null for an unpriced show.",
            },
        }
    )
    show["properties"]["seats_per_row"]["description"] = "Positions of the widest row, gaps included."

    seat = schemas["Seat"]
    seat["required"] += ["column", "kind", "price"]
    seat["properties"].update(
        {
            "column": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_POSITIONS,
                "description": "1-based position in the row, gaps included: draw aisles from it.",
            },
            "kind": _ref("SeatKind"),
            "price": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "In minor units of the show's currency; null when the show has no prices.",
            },
        }
    )

    booking = schemas["Booking"]
    booking["required"] += ["total", "currency"]
    booking["properties"].update(
        {
            "total": {
                "type": ["integer", "null"],
                "minimum": 0,
                "description": "What the seats cost when held, in minor units; null for an unpriced show. "
                "A later price change never rewrites it.",
            },
            "currency": {
                "type": ["string", "null"],
                "pattern": "^[A-Z]{3}$",
                "description": "Currency of `total`; null when total is null.",
            },
        }
    )

    new_show = schemas["NewShow"]
    new_show["required"] = ["title", "starts_at"]
    new_show["description"] = (
        "A seat plan is exactly one of: `rows` and `seats_per_row` (a rectangle of standard seats), "
        "a `layout` of the show's own, or an `auditorium_id` (its layout is copied onto the show, so "
        "editing the auditorium later never changes this show; an unknown id is 422 "
        "errors.auditorium_id; the auditorium's name is the show's `auditorium` unless one is given). "
        f"`prices` without `currency` are in {DEFAULT_CURRENCY}; a `currency` without prices is kept "
        "but prices nothing."
    )
    new_show["properties"].update(
        {
            "layout": _ref("LayoutInput"),
            "auditorium_id": {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
            "prices": _prices(nullable=True),
            "currency": {**currency, "type": ["string", "null"], "enum": [*currency["enum"], None]},
        }
    )
    new_show["oneOf"] = [
        _only(["rows", "seats_per_row"], ["layout", "auditorium_id"]),
        _only(["layout"], ["rows", "seats_per_row", "auditorium_id"]),
        _only(["auditorium_id"], ["rows", "seats_per_row", "layout"]),
    ]
    new_show["allOf"] = _prices_cover_layout()
    # A show with a plan of its own (a show in an auditorium sends "auditorium_id": <id> instead).
    new_show["examples"].append(
        {
            "title": "Metropolis",
            "starts_at": "2099-05-01T19:30:00+02:00",
            "layout": ["..ssss.ssss..", "sssss.sssss", "ssppp.pppss", "wc.ss.ss.cw"],
            "prices": {"standard": 950, "premium": 1400, "wheelchair": 950, "companion": 950},
            "currency": "EUR",
        }
    )

    schemas["Auditorium"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["id", "name", "layout", "capacity"],
        "properties": {
            "id": {"type": "integer", "format": "int64", "minimum": 1},
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "layout": _ref("Layout"),
            "capacity": {"type": "integer", "minimum": 1, "description": "Number of seats."},
        },
    }
    schemas["AuditoriumList"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["auditoriums"],
        "properties": {"auditoriums": {"type": "array", "items": _ref("Auditorium")}},
    }
    text_pattern = schemas["NewShow"]["properties"]["title"]["pattern"]
    schemas["NewAuditorium"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "layout"],
        "properties": {
            "name": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100,
                "pattern": text_pattern,
                "description": "Unique, ignoring case (a taken name is 422 errors.name).",
            },
            "layout": _ref("LayoutInput"),
        },
        "examples": [{"name": "Screen 1", "layout": ["ssss.ssss", "pppp.pppp", "wcss.sscw"]}],
    }


def extend_paths(
    paths: dict[str, Any], problem: Callable[..., dict[str, Any]], location: dict[str, Any]
) -> None:
    admin = [{"adminToken": []}]
    forbidden = problem(403, "Not the admin token, or the admin API is off (no ADMIN_TOKEN).")
    # An auditorium's name must be free; whether it is cannot be said in a schema.
    name_taken = problem(
        422,
        "validation_error: `errors` says why (a malformed layout names the row and position; "
        "a name already taken).",
        ["validation_error"],
    )
    paths["/api/auditoriums"] = {
        "get": {
            "operationId": "listAuditoriums",
            "tags": ["admin"],
            "summary": "Every auditorium (named seat plan), by name",
            "security": admin,
            "responses": {
                "200": {
                    "description": "The auditoriums.",
                    "content": {JSON: {"schema": _ref("AuditoriumList")}},
                },
                "401": problem(401),
                "403": forbidden,
                "503": problem(503),
            },
        },
        "post": {
            "operationId": "createAuditorium",
            "tags": ["admin"],
            "summary": "Store a named seat plan that shows can be created in",
            "security": admin,
            "requestBody": {"required": True, "content": {JSON: {"schema": _ref("NewAuditorium")}}},
            "responses": {
                "201": {
                    "description": "The new auditorium.",
                    "headers": {"Location": location},
                    "content": {JSON: {"schema": _ref("Auditorium")}},
                },
                "400": problem(400),
                "401": problem(401),
                "403": forbidden,
                "413": problem(413),
                "415": problem(415),
                "422": name_taken,
                "503": problem(503),
            },
        },
    }
    paths["/api/auditoriums/{auditorium_id}"] = {
        "parameters": [
            {
                "name": "auditorium_id",
                "in": "path",
                "required": True,
                "description": "An auditorium id; anything that is not one is 404 auditorium_not_found.",
                "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID},
            }
        ],
        "get": {
            "operationId": "getAuditorium",
            "tags": ["admin"],
            "summary": "An auditorium",
            "security": admin,
            "responses": {
                "200": {"description": "The auditorium.", "content": {JSON: {"schema": _ref("Auditorium")}}},
                "401": problem(401),
                "403": forbidden,
                "404": problem(404, "No such auditorium.", ["auditorium_not_found"]),
                "503": problem(503),
            },
        },
    }

    create_show = paths["/api/shows"]["post"]
    create_show["summary"] = "Create a show and its seats: a rectangle, a layout, or in an auditorium"
    create_show["responses"]["422"] = problem(
        422,
        "validation_error: `errors` says why (errors.layout names the row and position at fault; "
        "errors.auditorium_id for an unknown auditorium; errors.prices when a kind of seat in the "
        "plan has no price).",
        ["validation_error"],
    )
    hold = paths["/api/bookings"]["post"]
    hold["responses"]["422"] = problem(
        422,
        "validation_error (`errors` says why: bad fields, unknown or duplicate seats, too many seats, "
        "a bad Idempotency-Key), idempotency_key_reused with another body, or "
        "companion_without_wheelchair (a companion seat held without a wheelchair space).",
        ["validation_error", "idempotency_key_reused", "companion_without_wheelchair"],
    )
