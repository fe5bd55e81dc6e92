"""Every shape of the JSON API, declared once as a pydantic model.

Request bodies are validated through these models (``parse_body``), JSON
answers are serialised through them (``dump``), and webapp/api/openapi.py
builds the OpenAPI document's schemas from them. The checks behind each
request field are the shared ones of webapp/validation.py, so a field's
message is the same in the API, the forms and the CLI; the models' JSON
Schema constraints say the same thing for clients and fuzzers
(tests/test_openapi.py holds the two to each other). Field types and JSON
Schema patterns come from webapp/api/fields.py; the auditorium endpoints'
shapes live in webapp/api/auditorium_schemas.py, built the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)

from ..booking.errors import ValidationFailed
from ..jsonutil import dumps
from ..validation import clean_text, start_time, whole_number
from .fields import (
    NEW_SHOW_PLAN_EXAMPLE,
    NEW_SHOW_PLAN_SCHEMA,
    SEAT_LABEL_PATTERN,
    STARTS_AT_YEAR_PATTERN,
    TEXT_PATTERN,
    TICKET_CODE_PATTERN,
    AuditoriumRef,
    Currency,
    CurrencyInput,
    Layout,
    LayoutInput,
    Prices,
    PricesInput,
    RowCount,
    SeatColumn,
    SeatKind,
    SeatPrice,
    SeatsPerRow,
    Total,
    TotalCurrency,
    checked,
    nullness,
    plan_errors,
    when,
)

BookingStatusName = Literal["PENDING", "CONFIRMED", "EXPIRED", "CANCELLED"]
SeatStatusName = Literal["AVAILABLE", "HELD", "BOOKED"]

#: Timestamps; written by orjson (``dump``) in ISO 8601 with their +00:00 offset.
Timestamp = datetime
ShowId = Annotated[int, Field(ge=1, json_schema_extra={"format": "int64"})]
SeatLabel = Annotated[str, Field(json_schema_extra={"pattern": SEAT_LABEL_PATTERN, "examples": ["A1"]})]


class Shape(BaseModel):
    """A JSON object with exactly these fields."""

    model_config = ConfigDict(extra="forbid")


# --- requests -------------------------------------------------------------------------


class RequestBody(Shape):
    #: What to say for a field that is missing, where "is required" is not the best answer.
    missing_messages: ClassVar[dict[str, str]] = {}

    @classmethod
    def check_together(
        cls, body: Mapping[str, Any], missing: dict[str, str], invalid: dict[str, str]
    ) -> None:
        """Rules across fields, on the body as sent: note a message under each field at fault."""


class NewShow(RequestBody):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **NEW_SHOW_PLAN_SCHEMA,
            "examples": [
                {
                    "title": "Metropolis",
                    "starts_at": "2099-05-01T19:30:00+02:00",
                    "rows": 10,
                    "seats_per_row": 12,
                    "auditorium": "Screen 1",
                },
                NEW_SHOW_PLAN_EXAMPLE,
            ],
        },
    )

    title: str = Field(
        min_length=1,
        max_length=200,
        description="Stripped and NFC-normalised; no control characters.",
        json_schema_extra={"pattern": TEXT_PATTERN},
    )
    starts_at: datetime = Field(
        description="With a time zone offset; years 2000 to 2999.",
        json_schema_extra={"pattern": STARTS_AT_YEAR_PATTERN},
    )
    # With a layout or an auditorium_id, no rows nor seats_per_row (see check_together).
    rows: RowCount = None
    seats_per_row: SeatsPerRow = None
    auditorium: str | None = Field(
        default=None, min_length=1, max_length=100, json_schema_extra={"pattern": TEXT_PATTERN}
    )
    layout: LayoutInput = None
    auditorium_id: AuditoriumRef = None
    prices: PricesInput = None
    currency: CurrencyInput = None
    no_single_seat_gaps: StrictBool = Field(
        default=False,
        description="Refuse holds that would leave an available seat alone (409 single_seat_gap).",
    )

    @field_validator("title", mode="before")
    @classmethod
    def _title(cls, value: Any) -> str:
        return checked(clean_text, value, 200)

    @field_validator("starts_at", mode="before")
    @classmethod
    def _starts_at(cls, value: Any) -> datetime:
        return checked(start_time, value)

    @field_validator("rows", mode="before")
    @classmethod
    def _rows(cls, value: Any) -> int:
        return checked(whole_number, value, 1, 26)

    @field_validator("seats_per_row", mode="before")
    @classmethod
    def _seats_per_row(cls, value: Any) -> int:
        return checked(whole_number, value, 1, 50)

    @field_validator("auditorium", mode="before")
    @classmethod
    def _auditorium(cls, value: Any) -> str | None:
        return None if value is None else checked(clean_text, value, 100)

    @classmethod
    def check_together(
        cls, body: Mapping[str, Any], missing: dict[str, str], invalid: dict[str, str]
    ) -> None:
        plan_errors(body, missing, invalid)


M = TypeVar("M", bound="RequestBody")


def parse_body(model: type[M], body: Any, **context: Any) -> M:
    """``body`` (parsed JSON) as ``model``, or ValidationFailed with a message per field.

    Unknown fields come first in ``errors``, then missing ones, then the rest
    in the model's field order, as the hand-written checks always reported them.
    """
    if not isinstance(body, Mapping):
        raise ValidationFailed({"body": "must be a JSON object"})
    unknown: dict[str, str] = {}
    missing: dict[str, str] = {}
    invalid: dict[str, str] = {}
    try:
        parsed: M | None = model.model_validate(body, context=context)
    except ValidationError as exc:
        parsed = None
        for error in exc.errors(include_url=False, include_context=False, include_input=False):
            field = str(error["loc"][0]) if error["loc"] else "body"
            if error["type"] == "extra_forbidden":
                unknown[field[:100]] = "unknown field"
            elif error["type"] == "missing" and field not in model.missing_messages:
                missing[field] = "is required"
            elif error["type"] == "missing":
                invalid[field] = model.missing_messages[field]
            else:
                invalid[field] = error["msg"]
    model.check_together(body, missing, invalid)
    if parsed is None or missing or invalid:
        raise ValidationFailed({**unknown, **missing, **invalid})
    return parsed


# --- answers ---------------------------------------------------------------------------


class SeatStats(Shape):
    """Seat counts by status; lapsed holds count as available."""

    total: int = Field(ge=0)
    available: int = Field(ge=0)
    held: int = Field(ge=0)
    booked: int = Field(ge=0)


class ShowStats(SeatStats):
    """A show's seat counts, and how many tickets the door has admitted."""

    checked_in: int = Field(ge=0, description="Tickets admitted at the door.")


class Show(Shape):
    id: ShowId
    title: str = Field(min_length=1, max_length=200)
    starts_at: Timestamp = Field(description="Start time, in UTC.")
    auditorium: str | None = Field(min_length=1, max_length=100)
    rows: int = Field(ge=1, le=26)
    seats_per_row: int = Field(ge=1, le=50, description="Positions of the widest row, gaps included.")
    layout: Layout
    prices: Prices
    currency: Currency
    no_single_seat_gaps: bool = Field(description="Holds that would leave a seat alone are refused.")
    status: Literal["SCHEDULED", "CANCELLED"] = Field(description="CANCELLED once the show was called off.")
    stats: ShowStats


class ShowList(Shape):
    shows: list[Show]


class Seat(Shape):
    """A seat of a show. Public: no booking ids."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": [
                when("status", "HELD", nullness(not_null=("hold_expires_at",))),
                when("status", "AVAILABLE", nullness(null=("hold_expires_at",))),
                when("status", "BOOKED", nullness(null=("hold_expires_at",))),
            ]
        },
    )

    seat: SeatLabel
    row: str = Field(json_schema_extra={"pattern": "^[A-Z]$"})
    number: int = Field(ge=1, le=50)
    column: SeatColumn
    kind: SeatKind
    price: SeatPrice
    status: SeatStatusName
    hold_expires_at: Timestamp | None = Field(description="When the hold lapses; set only while HELD.")


class SeatList(Shape):
    show_id: ShowId
    seats: list[Seat] = Field(description="Row-major order.")


class Ticket(Shape):
    """One seat's ticket: its code admits one person, once."""

    seat: SeatLabel
    code: str | None = Field(
        json_schema_extra={"pattern": TICKET_CODE_PATTERN},
        description="Random, URL-safe; what the QR code holds. Null in admin listings: only the token "
        "holder is given codes.",
    )
    checked_in_at: Timestamp | None = Field(description="When the door admitted it; null until then.")


class Booking(Shape):
    """A booking. A PENDING booking whose hold has lapsed reads as EXPIRED (with expired_at) whether or not the expiry job has run."""  # noqa: E501

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": [
                when("status", "PENDING", nullness(null=("confirmed_at", "cancelled_at", "expired_at"))),
                when("status", "CONFIRMED", nullness(("confirmed_at",), ("cancelled_at", "expired_at"))),
                when("status", "CANCELLED", nullness(("cancelled_at",), ("expired_at",))),
                when("status", "EXPIRED", nullness(("expired_at",), ("confirmed_at", "cancelled_at"))),
            ]
        },
    )

    id: str = Field(json_schema_extra={"format": "uuid"})
    show_id: ShowId
    status: BookingStatusName
    seats: list[SeatLabel] = Field(description="The booking's seat labels, kept whatever its status.")
    total: Total
    currency: TotalCurrency
    hold_expires_at: Timestamp = Field(description="When the hold lapses (or lapsed).")
    created_at: Timestamp = Field(description="When the seats were held.")
    confirmed_at: Timestamp | None = Field(description="Set once confirmed (kept if later cancelled).")
    cancelled_at: Timestamp | None = Field(description="Set once cancelled.")
    expired_at: Timestamp | None = Field(description="Set once the hold lapsed.")
    extensions_left: int = Field(
        ge=0, description="How many more times the hold can be extended (0 unless a live PENDING hold)."
    )
    tickets: list[Ticket] = Field(description="One per seat once CONFIRMED; [] in any other status.")


class BookingList(Shape):
    bookings: list[Booking]


class HoldResponse(Shape):
    booking: Booking
    token: str = Field(min_length=1, description="The booking's bearer token; shown once, keep it.")


class Problem(Shape):
    """An RFC 9457 problem, with a machine-readable `code` and the extras some codes carry.

    Rendered for every path (not only the API's) by webapp/problems.py; the
    extras are present only for their codes (the defaults here are never sent).
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "allOf": [
                when("code", "validation_error", {"required": ["errors"]}),
                when("code", "seats_unavailable", {"required": ["seats"]}),
                when("code", "single_seat_gap", {"required": ["seats"]}),
                when("code", "too_many_holds", {"required": ["limit", "held"]}),
                when("code", "already_checked_in", {"required": ["checked_in_at"]}),
            ]
        },
    )

    type: str = Field(json_schema_extra={"format": "uri"})
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str = Field(json_schema_extra={"pattern": "^[a-z_]+$"})
    errors: dict[str, str] = Field(
        default_factory=dict, description="validation_error: a message for each field (or header) at fault."
    )
    seats: list[SeatLabel] = Field(
        default_factory=list,
        description="seats_unavailable: the requested seats that are not available; "
        "single_seat_gap: the seats the hold would leave alone.",
    )
    limit: int = Field(default=1, ge=1, description="too_many_holds: seats one visitor may hold.")
    held: int = Field(default=0, ge=0, description="too_many_holds: seats held already.")
    checked_in_at: Timestamp | None = Field(
        default=None, description="already_checked_in: when the ticket (or the booking's first) was admitted."
    )


def dump(model: type[Shape], data: Any) -> bytes:
    """``data`` (what the service returned) as JSON, once ``model`` has accepted it.

    A wrong shape fails here, before it reaches a client. The bytes are
    orjson's (webapp/jsonutil.py), as they always were: several times faster
    than pydantic's own writer, and timestamps keep their +00:00 offset.
    """
    model.model_validate(data)
    return dumps(data)
