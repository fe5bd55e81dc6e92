"""The shapes of the check-in endpoint, apart from schemas.py so that each stays short.

The booking's own ``Ticket`` lives in schemas.py beside ``Booking``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from ..validation import MAX_ID, whole_number
from .fields import SEAT_LABEL_PATTERN, checked
from .schemas import RequestBody, Shape, ShowId, Timestamp


class CheckinRequest(RequestBody):
    """A scanned or typed ticket code, and optionally the show the door is letting in."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"code": "q3Yl9m0S2cV1xN8bZ7rT4uW6aE5dH2kP", "show_id": 1}]},
    )

    code: str = Field(
        min_length=1,
        max_length=256,
        description="The ticket's code as read from its QR code. Anything that is no ticket's "
        "code is 404 ticket_not_found.",
    )
    show_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        description="With it, a ticket for another show is refused (409 wrong_show).",
        json_schema_extra={"format": "int64"},
    )

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value: Any) -> str:
        # Scanners often send a trailing newline or spaces; the code itself has none.
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value.strip()

    @field_validator("show_id", mode="before")
    @classmethod
    def _show_id(cls, value: Any) -> int | None:
        return None if value is None else checked(whole_number, value, 1, MAX_ID)


class CheckinResult(Shape):
    """The door lets the ticket's holder in: the first scan of a valid ticket."""

    result: Literal["admitted"]
    seat: str = Field(json_schema_extra={"pattern": SEAT_LABEL_PATTERN})
    show_id: ShowId
    booking_id: str = Field(json_schema_extra={"format": "uuid"})
    checked_in_at: Timestamp = Field(description="When the database admitted it.")
