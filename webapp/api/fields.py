"""Building blocks of the API's models (webapp/api/schemas.py): the JSON Schema
patterns, how a check of webapp/validation.py becomes a pydantic error, and
the seat-plan field types (layouts, prices, currencies, auditorium ids).

Each field type pairs the check that runs (a message a person can read) with
the JSON Schema that says the same thing to clients and fuzzers; where a
field may be left out but not sent as null, the schema says so exactly
(``WithJsonSchema``), as pydantic would otherwise allow null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from ..money import DEFAULT_CURRENCY, currency_codes
from ..seatplan import KIND_BY_CHAR, KINDS, MAX_POSITIONS, MAX_ROWS, missing_prices
from ..validation import (
    MAX_ID,
    MAX_PRICE,
    PLAIN_EMAIL,
    Invalid,
    auditorium_ref,
    collect,
    currency_code,
    seat_layout,
    seat_prices,
)

# JSON Schema patterns, in Python's `re` meaning of \s (what str.strip()
# removes): the checks they describe run in Python.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
#: Free text: not blank, no control characters except surrounding whitespace (stripped).
TEXT_PATTERN = rf"^\s*[^\s{_CONTROL}](?:[^{_CONTROL}]*[^\s{_CONTROL}])?\s*$"
#: validation.EMAIL_PATTERN after stripping, or the empty string (no email).
EMAIL_PATTERN = rf"^(?:\s*{PLAIN_EMAIL}\s*)?$"
#: A seat label as clients may send it: case and surrounding whitespace do not
#: matter. Numbers stop at 50, the widest row; labels beyond the show's own
#: layout get 422 from the service.
SEAT_LABEL_IN_PATTERN = r"^\s*[A-Za-z](?:[1-9]|[1-4][0-9]|50)\s*$"
#: A seat label as the server writes it.
SEAT_LABEL_PATTERN = r"^[A-Z][1-9][0-9]?$"
#: A ticket code: URL-safe base64 characters, 22 to 64 of them (webapp/booking/tickets.py makes 32).
TICKET_CODE_PATTERN = r"^[A-Za-z0-9_-]{22,64}$"
#: validation.start_time accepts the years 2000 to 2999 only.
STARTS_AT_YEAR_PATTERN = r"^2[0-9]{3}-"
#: One row of a layout as clients may send it (surrounding whitespace is stripped).
LAYOUT_ROW_PATTERN = rf"^\s*[spwc.]{{1,{MAX_POSITIONS}}}\s*$"
#: A row as the server writes it back.
STORED_ROW_PATTERN = rf"^[spwc.]{{1,{MAX_POSITIONS}}}$"


def schema_only(**schema: Any) -> Any:
    """JSON Schema for a field that its validator checks itself (with a message a person can read)."""
    return Field(json_schema_extra=schema)


def checked(check: Callable[..., Any], *args: Any) -> Any:
    try:
        return check(*args)
    except Invalid as exc:  # the message goes through a placeholder: it may quote the input's braces
        raise PydanticCustomError("invalid", "{message}", {"message": str(exc)}) from None


def when(field: str, value: str, then: dict[str, Any]) -> dict[str, Any]:
    """``if field == value then ...``: ties a field's nullability to a status."""
    return {"if": {"properties": {field: {"const": value}}, "required": [field]}, "then": then}


def nullness(not_null: tuple[str, ...] = (), null: tuple[str, ...] = ()) -> dict[str, Any]:
    """Which timestamps are set (strings) and which are not (null)."""
    properties = {field: {"type": "string"} for field in not_null}
    properties.update({field: {"type": "null"} for field in null})
    return {"properties": properties}


# --- seat plans and prices (issue 11) --------------------------------------------------

_KIND_TEXT = "s standard seat, p premium seat, w wheelchair space, c companion seat, . no seat (aisle or gap)"


def _layout_schema(row_pattern: str, description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_ROWS,
        "items": {"type": "string", "pattern": row_pattern},
        "contains": {"type": "string", "pattern": "[spwc]"},  # a plan needs at least one seat
        "description": description,
        "examples": [["..ssss.ssss..", "sssss.sssss", "wcsss.sppss"]],
    }


def _prices_schema(nullable: bool) -> dict[str, Any]:
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


def _currency_schema(description: str) -> dict[str, Any]:
    return {"type": ["string", "null"], "enum": [*currency_codes(), None], "description": description}


def _nullable(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else checked(check, value)


#: A layout as the server writes it (shows, auditoriums).
Layout = Annotated[
    list[str],
    WithJsonSchema(
        _layout_schema(
            STORED_ROW_PATTERN,
            f"Rows from the screen back (A, B, …), one character per position: {_KIND_TEXT}. "
            "Seat numbers count seats from the left and skip gaps.",
        )
    ),
]
#: A layout as a client sends it; rows come back stripped. Never None once
#: validated (null is refused): Optional only so that NewShow may leave it out.
LayoutInput = Annotated[
    list[str] | None,
    BeforeValidator(lambda value: list(checked(seat_layout, value).layout)),
    WithJsonSchema(
        _layout_schema(
            LAYOUT_ROW_PATTERN,
            f"1 to {MAX_ROWS} rows from the screen back (A, B, …) of 1 to {MAX_POSITIONS} positions: "
            f"{_KIND_TEXT}. At least one seat. Whitespace around a row is ignored. A malformed "
            "layout is 422 validation_error with errors.layout naming the row and position at fault.",
        )
    ),
]
#: A rectangle's size; may be left out (for a layout or an auditorium), not null.
RowCount = Annotated[int | None, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_ROWS})]
SeatsPerRow = Annotated[
    int | None, WithJsonSchema({"type": "integer", "minimum": 1, "maximum": MAX_POSITIONS})
]
#: An auditorium to create a show in; may be left out, not null.
AuditoriumRef = Annotated[
    int | None,
    BeforeValidator(lambda value: checked(auditorium_ref, value)),
    WithJsonSchema({"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ID}),
]
#: Prices of a new show, or null for none.
PricesInput = Annotated[
    dict[str, int] | None, BeforeValidator(_nullable(seat_prices)), WithJsonSchema(_prices_schema(True))
]
#: A show's prices as the server writes them (null for an unpriced show).
Prices = Annotated[dict[str, int] | None, WithJsonSchema(_prices_schema(True))]
CurrencyInput = Annotated[
    str | None,
    BeforeValidator(_nullable(currency_code)),
    WithJsonSchema(_currency_schema("ISO 4217 code, in capitals.")),
]
Currency = Annotated[
    str | None, WithJsonSchema(_currency_schema("Currency of `prices`; null for an unpriced show."))
]

SeatKind = Literal[KINDS]
SeatColumn = Annotated[
    int,
    Field(
        ge=1, le=MAX_POSITIONS, description="1-based position in the row, gaps included: draw aisles from it."
    ),
]
SeatPrice = Annotated[
    int | None,
    Field(ge=0, description="In minor units of the show's currency; null when the show has no prices."),
]
#: A booking's total and its currency.
Total = Annotated[
    int | None,
    Field(
        ge=0,
        description="What the seats cost when held, in minor units; null for an unpriced show. "
        "A later price change never rewrites it.",
    ),
]
TotalCurrency = Annotated[
    str | None, Field(pattern="^[A-Z]{3}$", description="Currency of `total`; null when total is null.")
]


def _only(required: list[str], excluded: list[str]) -> dict[str, Any]:
    return {"required": required, "not": {"anyOf": [{"required": [name]} for name in excluded]}}


def _prices_cover_the_plan() -> list[dict[str, Any]]:
    """If the layout has a kind and prices are given, prices has that kind; a rectangle is all standard."""
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


#: NewShow's rules across fields, as JSON Schema; ``plan_errors`` checks the same.
NEW_SHOW_PLAN_SCHEMA: dict[str, Any] = {
    "description": (
        "A seat plan is exactly one of: `rows` and `seats_per_row` (a rectangle of standard seats), "
        "a `layout` of the show's own, or an `auditorium_id` (its layout is copied onto the show, so "
        "editing the auditorium later never changes this show; an unknown id is 422 "
        "errors.auditorium_id; the auditorium's name is the show's `auditorium` unless one is given). "
        f"`prices` without `currency` are in {DEFAULT_CURRENCY}; a `currency` without prices is kept "
        "but prices nothing."
    ),
    "oneOf": [
        _only(["rows", "seats_per_row"], ["layout", "auditorium_id"]),
        _only(["layout"], ["rows", "seats_per_row", "auditorium_id"]),
        _only(["auditorium_id"], ["rows", "seats_per_row", "layout"]),
    ],
    "allOf": _prices_cover_the_plan(),
}

#: A show with a plan of its own (a show in an auditorium sends "auditorium_id": <id> instead).
NEW_SHOW_PLAN_EXAMPLE: dict[str, Any] = {
    "title": "Metropolis",
    "starts_at": "2099-05-01T19:30:00+02:00",
    "layout": ["..ssss.ssss..", "sssss.sssss", "ssppp.pppss", "wc.ss.ss.cw"],
    "prices": {"standard": 950, "premium": 1400, "wheelchair": 950, "companion": 950},
    "currency": "EUR",
}


def plan_errors(body: Mapping[str, Any], missing: dict[str, str], invalid: dict[str, str]) -> None:
    """A new show's plan is exactly one of rows + seats_per_row, ``layout`` or
    ``auditorium_id``, and its prices cover the kinds of seat in its layout.

    Whether an auditorium exists and whether the prices cover its kinds (or a
    rectangle's) is for the service to say, against the database.
    """
    given = [name for name in ("layout", "auditorium_id") if name in body]
    rectangle = [name for name in ("rows", "seats_per_row") if name in body]
    if len(given) > 1 or (given and rectangle):
        conflict = given[1] if len(given) > 1 else rectangle[0]
        invalid[given[0]] = f"give one of rows and seats_per_row, layout or auditorium_id, not {conflict} too"
    elif not given:
        missing.update({name: "is required" for name in ("rows", "seats_per_row") if name not in body})
    elif "layout" in body and body.get("prices") is not None:
        unused: dict[str, str] = {}
        plan = collect(unused, "layout", seat_layout, body["layout"])
        prices = collect(unused, "prices", seat_prices, body["prices"])
        uncovered = missing_prices(plan, prices) if plan is not None and prices is not None else []
        if uncovered:
            invalid["prices"] = (
                f"no price for {', '.join(uncovered)}: every kind of seat in the plan needs one"
            )
