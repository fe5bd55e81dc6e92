"""Confirming and cancelling a held booking.

Both return a ``Settled`` outcome instead of raising after a write: when a
confirm or cancel meets a lapsed hold it expires the booking (a change that
must be kept) and reports ``HoldExpired`` in the outcome. The caller commits
in every case, then reports the error if there is one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from .. import outbox
from ..events import mark_seats_changed
from ..models import BookingStatus
from .errors import AlreadyCheckedIn, BookingCancelled, DomainError, HoldExpired
from .expiry import expire_bookings
from .queries import authorize_booking, get_booking
from .tickets import issue_tickets, lock_for_cancel, void_tickets


@dataclass(frozen=True, slots=True)
class Settled:
    """What a confirm or cancel did: the booking as it now is, or why it could not be settled."""

    booking: dict[str, Any] | None
    #: Set when the request failed; whatever was written (an expiry) is still to be committed.
    error: DomainError | None = None


def _lock_booking(session: Session, booking_id: uuid.UUID, token: str | None, as_admin: bool = False) -> Any:
    """Authorise, then lock the booking's seats (in id order) and the booking row.

    ``as_admin``: the caller checked the admin token instead of the booking's.

    Lapse and the confirmed_at / cancelled_at / expired_at stamps use
    statement_timestamp(), not now(): now() is when the transaction began,
    before it waited for these locks, so a confirm queued behind another
    request would accept a hold that lapsed meanwhile (readers already saw it
    EXPIRED) and a cancel queued behind a confirm would be stamped before it.
    """
    if as_admin:
        get_booking(session, booking_id)  # it must exist; the caller has authorised the admin
    else:
        authorize_booking(session, booking_id, token)
    session.execute(
        text("SELECT id FROM seats WHERE booking_id = :id ORDER BY id FOR UPDATE"),
        {"id": booking_id},
    )
    return session.execute(
        text(
            """
            SELECT id, show_id, status, hold_expires_at <= statement_timestamp() AS lapsed
            FROM bookings WHERE id = :id FOR UPDATE
            """
        ),
        {"id": booking_id},
    ).one()


#: The same lock for extend.py: every writer of a booking takes it alike.
lock_booking = _lock_booking


def confirm_booking(session: Session, booking_id: uuid.UUID, token: str | None) -> Settled:
    """PENDING -> CONFIRMED. A repeat is a no-op, so retries and races are safe.

    A lapsed hold is expired here and now, and the outcome says ``HoldExpired``.
    Raises (having written nothing) if the booking is unknown or the token wrong.
    """
    booking = _lock_booking(session, booking_id, token)
    if booking.status == BookingStatus.CANCELLED:
        return Settled(None, BookingCancelled("This booking was cancelled; hold the seats again."))
    lapsed = HoldExpired("The hold lapsed before it was confirmed; the seats were released.")
    if booking.status == BookingStatus.EXPIRED:
        return Settled(None, lapsed)
    if booking.status == BookingStatus.PENDING:
        if booking.lapsed:
            expire_bookings(session, [booking_id])
            return Settled(None, lapsed)
        session.execute(
            text(
                """
                WITH confirmed AS (
                    UPDATE bookings SET status = 'CONFIRMED', confirmed_at = statement_timestamp()
                    WHERE id = :id RETURNING id
                )
                UPDATE seats SET status = 'BOOKED', hold_expires_at = NULL
                WHERE booking_id = (SELECT id FROM confirmed)
                """
            ),
            {"id": booking_id},
        )
        # Under the same locks: the tickets exist exactly when the confirm does.
        issue_tickets(session, booking_id)
        mark_seats_changed(session, booking.show_id)
        # Same transaction as the confirm: the message is owed exactly when the confirm commits.
        outbox.enqueue_confirmation(session, booking_id)
    return Settled(get_booking(session, booking_id))


def cancel_booking(
    session: Session, booking_id: uuid.UUID, token: str | None, *, as_admin: bool = False
) -> Settled:
    """PENDING or CONFIRMED -> CANCELLED, releasing the seats at once and voiding the tickets.

    Repeats are no-ops. A booking with a checked-in ticket is not cancelled
    (``AlreadyCheckedIn``, nothing written): someone is already in the seat;
    that holds for admins too (a whole show is cancelled with cancel_show).

    A lapsed hold cannot be cancelled: it is expired (if not yet) and the
    outcome says ``HoldExpired``. ``as_admin``: the caller has checked the
    admin token instead of the booking's (admins may cancel any booking).
    """
    booking = _lock_booking(session, booking_id, token, as_admin)
    if booking.status == BookingStatus.EXPIRED or (
        booking.status == BookingStatus.PENDING and booking.lapsed
    ):
        if booking.status == BookingStatus.PENDING:
            expire_bookings(session, [booking_id])
        return Settled(None, HoldExpired("The hold had already lapsed; there is nothing to cancel."))
    if booking.status == BookingStatus.CONFIRMED:
        # Locks the tickets too, so a scan at the door and this cancel cannot both win.
        checked_in_at = lock_for_cancel(session, booking_id)
        if checked_in_at is not None:
            return Settled(
                None,
                AlreadyCheckedIn(
                    "A ticket of this booking was checked in at the door; it can no longer be cancelled.",
                    checked_in_at=checked_in_at,
                ),
            )
        void_tickets(session, booking_id)
    if booking.status != BookingStatus.CANCELLED:
        session.execute(
            text(
                """
                WITH cancelled AS (
                    UPDATE bookings SET status = 'CANCELLED', cancelled_at = statement_timestamp()
                    WHERE id = :id RETURNING id
                )
                UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, hold_expires_at = NULL
                WHERE booking_id = (SELECT id FROM cancelled)
                """
            ),
            {"id": booking_id},
        )
        mark_seats_changed(session, booking.show_id)
        if booking.status == BookingStatus.CONFIRMED:
            outbox.withdraw_confirmation(session, booking_id)
    return Settled(get_booking(session, booking_id))
