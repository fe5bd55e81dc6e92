"""Failures a client can act on, as the domain sees them: a code, a title, a detail.

No HTTP here: ``webapp.problems`` maps each ``code`` to a status and renders
the answer (problem+json or an HTML page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar


class DomainError(Exception):
    """An expected failure a client can act on; ``extras`` travel with the answer."""

    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extras: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extras = extras


class ValidationFailed(DomainError):
    code, title = "validation_error", "The request is not valid"

    def __init__(self, errors: dict[str, str], detail: str | None = None) -> None:
        detail = detail or "; ".join(f"{field}: {message}" for field, message in errors.items())
        super().__init__(detail, errors=errors)


class ShowNotFound(DomainError):
    code, title = "show_not_found", "No such show"


class AuditoriumNotFound(DomainError):
    code, title = "auditorium_not_found", "No such auditorium"


class CompanionWithoutWheelchair(DomainError):
    code, title = "companion_without_wheelchair", "A companion seat needs a wheelchair space"


class ShowStarted(DomainError):
    code, title = "show_started", "The show has already started"


class ShowCancelled(DomainError):
    code, title = "show_cancelled", "The show was cancelled"


class BookingNotFound(DomainError):
    code, title = "booking_not_found", "No such booking"


class SeatsUnavailable(DomainError):
    code, title = "seats_unavailable", "Some seats are not available"

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__(
            f"Not available: {', '.join(labels)}. Pick other seats and try again.",
            seats=list(labels),
        )


class TooManyHolds(DomainError):
    code, title = "too_many_holds", "Too many seats held at once"


class HoldExpired(DomainError):
    code, title = "hold_expired", "The hold has expired"


class BookingCancelled(DomainError):
    code, title = "booking_cancelled", "The booking was cancelled"


class IdempotencyKeyReused(DomainError):
    code, title = "idempotency_key_reused", "Idempotency-Key reused with another body"


class AuthenticationRequired(DomainError):
    code, title = "authentication_required", "Authentication required"


class Forbidden(DomainError):
    code, title = "forbidden", "Not allowed"


class SingleSeatGap(DomainError):
    code, title = "single_seat_gap", "The hold would leave a single seat alone"

    def __init__(self, labels: Sequence[str]) -> None:
        each = " each" if len(labels) > 1 else ""
        stranded = f"{', '.join(labels)} would{each} be left alone"
        super().__init__(
            f"This show does not sell seats that leave a single seat alone: {stranded}. "
            "Include it in your selection, or pick seats next to it or further along.",
            seats=list(labels),
        )


class NoAdjacentSeats(DomainError):
    code, title = "no_adjacent_seats", "No adjacent seats left"


class ExtensionLimit(DomainError):
    code, title = "extension_limit", "The hold cannot be extended again"


class BookingNotPending(DomainError):
    code, title = "booking_not_pending", "The booking is no longer a hold"


class TicketNotFound(DomainError):
    code, title = "ticket_not_found", "No such ticket"


class AlreadyCheckedIn(DomainError):
    """A second scan of a ticket, or a cancel after the door let someone in; carries ``checked_in_at``."""

    code, title = "already_checked_in", "Already checked in"


class TicketVoid(DomainError):
    code, title = "ticket_void", "The ticket is void: its booking was cancelled"


class WrongShow(DomainError):
    code, title = "wrong_show", "The ticket is for another show"
