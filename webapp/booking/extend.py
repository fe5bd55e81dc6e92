"""Extending a hold: another ``hold_seconds`` from now, at most ``MAX_HOLD_EXTENSIONS`` times.

Like confirm and cancel it returns a ``Settled`` outcome: a hold found lapsed
is expired here (a write the caller must commit) and reported as
``HoldExpired``. The booking is locked the way settle.py locks it (its seats
in id order, then the booking row), so an extension cannot race a confirm,
a cancel or the expiry job.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..events import mark_seats_changed
from ..models import BookingStatus
from .errors import BookingNotPending, ExtensionLimit, HoldExpired
from .expiry import expire_bookings
from .queries import get_booking
from .settle import Settled, lock_booking

# The new expiry is written on the booking and copied onto its seats in one
# statement; the limit is checked in the same WHERE, under the booking's lock.
_EXTEND = text(
    """
    WITH extended AS (
        UPDATE bookings
        SET hold_expires_at = statement_timestamp() + make_interval(secs => :hold_seconds),
            extensions_left = extensions_left - 1
        WHERE id = :id AND status = 'PENDING' AND extensions_left > 0
        RETURNING id, hold_expires_at
    ), seats AS (
        UPDATE seats SET hold_expires_at = extended.hold_expires_at
        FROM extended WHERE seats.booking_id = extended.id
        RETURNING seats.id
    )
    SELECT id, (SELECT count(*) FROM seats) AS seats FROM extended
    """
)


def extend_hold(session: Session, booking_id: uuid.UUID, token: str | None, hold_seconds: int) -> Settled:
    """PENDING stays PENDING with ``hold_expires_at`` = now + ``hold_seconds``.

    Raises (having written nothing) if the booking is unknown or the token wrong.
    """
    booking = lock_booking(session, booking_id, token)
    if booking.status in (BookingStatus.CONFIRMED, BookingStatus.CANCELLED):
        return Settled(
            None, BookingNotPending(f"This booking is {booking.status}; only a hold can be extended.")
        )
    lapsed = HoldExpired("The hold lapsed before it was extended; the seats were released.")
    if booking.status == BookingStatus.EXPIRED:
        return Settled(None, lapsed)
    if booking.lapsed:
        expire_bookings(session, [booking_id])
        return Settled(None, lapsed)
    extended = session.execute(_EXTEND, {"id": booking_id, "hold_seconds": hold_seconds}).first()
    if extended is None:
        limit = ExtensionLimit("This hold was extended as often as allowed; confirm it or let it go.")
        return Settled(None, limit)
    mark_seats_changed(session, booking.show_id)  # the seat listing shows each hold's expiry
    return Settled(get_booking(session, booking_id))
