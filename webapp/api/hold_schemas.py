"""The hold request: seats by label, or best available (``quantity`` and ``kind``).

Its own module beside schemas.py (which holds the base classes and every
other shape) so that neither grows past what one can read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from ..booking.best import BestRequest
from ..booking.holds import HoldRequest as HoldCommand
from ..validation import MAX_ID, email_address, seat_labels, whole_number
from .fields import EMAIL_PATTERN, SEAT_LABEL_IN_PATTERN, checked
from .schemas import RequestBody

#: The kinds best available can be asked for (a companion seat is never held alone).
BestKind = Literal["standard", "premium", "wheelchair"]

#: Best available: exactly one of seats and quantity; kind only with quantity.
_SEATS_OR_QUANTITY = {
    "oneOf": [
        {"required": ["seats"], "not": {"anyOf": [{"required": ["quantity"]}, {"required": ["kind"]}]}},
        {"required": ["quantity"], "not": {"required": ["seats"]}},
    ]
}


class HoldRequest(RequestBody):
    """Seats to hold, all or none: at most MAX_SEATS_PER_BOOKING of them.

    Either the seats by label, or a ``quantity`` (and optionally a ``kind``)
    for the best available adjacent seats in one row.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            **_SEATS_OR_QUANTITY,
            "examples": [
                {"show_id": 1, "seats": ["A1", "A2"], "email": "ana@example.com"},
                {"show_id": 1, "quantity": 2},
            ],
        },
    )

    show_id: int = Field(ge=1, le=MAX_ID, json_schema_extra={"format": "int64"})
    seats: list[str] | None = Field(
        default=None,
        description=(
            "Distinct labels of seats of the show (case-insensitive); labels the show does not have get 422."
        ),
        json_schema_extra={
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "pattern": SEAT_LABEL_IN_PATTERN},
        },
    )
    quantity: int | None = Field(
        default=None,
        ge=1,
        le=10,
        description="Best available: this many adjacent seats in one row, chosen by the server.",
    )
    kind: BestKind | None = Field(
        default=None,
        description="With quantity: only seats of this kind (default: standard or premium, mixed "
        "if need be). Companion seats go with a wheelchair space: pick those on the map.",
    )
    email: str | None = Field(
        default=None,
        description="Where to send the confirmation; null or empty for none.",
        json_schema_extra={"maxLength": 254, "pattern": EMAIL_PATTERN},
    )

    @field_validator("show_id", mode="before")
    @classmethod
    def _show_id(cls, value: Any) -> int:
        return checked(whole_number, value, 1, MAX_ID)

    @field_validator("seats", mode="before")
    @classmethod
    def _seats(cls, value: Any, info: ValidationInfo) -> list[str]:
        max_seats = (info.context or {}).get("max_seats", 10)
        return list(checked(seat_labels, value, max_seats))

    @field_validator("quantity", mode="before")
    @classmethod
    def _quantity(cls, value: Any, info: ValidationInfo) -> int:
        max_seats = (info.context or {}).get("max_seats", 10)
        return checked(whole_number, value, 1, max_seats)

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        if value is None:  # optional, but when sent it is a kind (as the document says)
            raise PydanticCustomError("invalid", "must be standard, premium or wheelchair")
        return value

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: Any) -> str | None:
        return checked(email_address, value)

    @classmethod
    def check_together(
        cls, body: Mapping[str, Any], missing: dict[str, str], invalid: dict[str, str]
    ) -> None:
        has_seats, has_quantity = body.get("seats") is not None, body.get("quantity") is not None
        if not has_seats and not has_quantity:
            invalid.setdefault("seats", 'must be a non-empty list of seat labels such as ["A1", "A2"]')
        elif has_seats and has_quantity:
            invalid.setdefault("quantity", "give seats or quantity, not both")
        if body.get("kind") is not None and not has_quantity:
            invalid.setdefault("kind", "only with quantity (best available)")

    @property
    def best_available(self) -> bool:
        return self.quantity is not None

    def command(self, visitor: str | None, client_address: str | None = None) -> HoldCommand:
        """The booking service's request, for this visitor at this address."""
        seats = tuple(self.seats or ())
        return HoldCommand(self.show_id, seats, self.email, visitor=visitor, client_address=client_address)

    def best_command(self, visitor: str | None, client_address: str | None = None) -> BestRequest:
        """The best-available request, for this visitor at this address."""
        assert self.quantity is not None
        return BestRequest(
            self.show_id, self.quantity, self.kind, self.email, visitor=visitor, client_address=client_address
        )
