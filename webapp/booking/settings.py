"""The few settings the booking service needs, passed in rather than read from the app."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BookingSettings:
    #: How long a hold lasts before it lapses.
    hold_seconds: int
    #: Seats one visitor may hold at once; 0 turns the limit off.
    max_held_seats_per_visitor: int
    #: How long an Idempotency-Key is remembered.
    idempotency_ttl_seconds: int
    #: Whether the connection prepares repeated statements (DB_PREPARED_STATEMENTS):
    #: only then can the hold statement run on a generic plan instead of being planned
    #: afresh each time (see ``holds._GENERIC_PLAN``).
    prepared_statements: bool = True
    #: How many times a hold may be extended (by another hold_seconds from then).
    max_hold_extensions: int = 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BookingSettings:
        """The settings out of a config mapping (``load_config``'s keys)."""
        return cls(
            hold_seconds=config["HOLD_SECONDS"],
            max_held_seats_per_visitor=config["MAX_HELD_SEATS_PER_VISITOR"],
            idempotency_ttl_seconds=config["IDEMPOTENCY_TTL_SECONDS"],
            prepared_statements=config.get("DB_PREPARED_STATEMENTS", True),
            max_hold_extensions=config["MAX_HOLD_EXTENSIONS"],
        )
