"""Cancelling a show: the show, its live bookings and its seats, in the caller's transaction.

The lock order is what makes "no hold survives a cancel" true (see the
``scheduled`` CTE of ``holds._LOCK_AND_HOLD``): the show row FOR UPDATE
first, which waits for every hold in flight (they hold it FOR KEY SHARE) and
makes every later hold wait and then see CANCELLED; then the show's taken
seats in id order (as every writer takes seats), then the bookings. Confirm
and cancel of one booking take seats before the booking too, so nothing
here can deadlock with them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from .. import outbox
from ..events import mark_seats_changed
from .errors import ShowNotFound
from .expiry import expire_bookings
from .queries import get_show


def cancel_show(session: Session, show_id: int) -> dict[str, Any]:
    """SCHEDULED -> CANCELLED with every live booking cancelled; a repeat changes nothing.

    Lapsed holds are expired (lazy expiry: they were EXPIRED already to every
    reader), unexpired holds and confirmed bookings are cancelled and their
    seats released, and each cancelled booking with an e-mail address is owed
    one "show cancelled" message through the outbox. Returns the show.
    """
    status = session.execute(
        text("SELECT status FROM shows WHERE id = :id FOR UPDATE"), {"id": show_id}
    ).scalar()
    if status is None:
        raise ShowNotFound(f"There is no show {show_id}.")
    if status == "CANCELLED":
        return get_show(session, show_id)

    session.execute(
        text("SELECT id FROM seats WHERE show_id = :id AND status <> 'AVAILABLE' ORDER BY id FOR UPDATE"),
        {"id": show_id},
    )
    lapsed_sql = """
        SELECT id FROM bookings
        WHERE show_id = :id AND status = 'PENDING' AND hold_expires_at <= statement_timestamp()
    """
    lapsed = session.execute(text(lapsed_sql), {"id": show_id}).scalars().all()
    expire_bookings(session, lapsed)
    cancelled = session.execute(
        text(
            """
            WITH cancelled AS (
                UPDATE bookings SET status = 'CANCELLED', cancelled_at = statement_timestamp()
                WHERE show_id = :id AND status IN ('PENDING', 'CONFIRMED')
                RETURNING id, status
            ), freed AS (
                UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, hold_expires_at = NULL
                WHERE show_id = :id AND booking_id IN (SELECT id FROM cancelled)
                RETURNING id
            ), voided AS (
                -- Tickets admit nobody any more; one already used stays checked in.
                UPDATE tickets SET voided_at = statement_timestamp()
                WHERE booking_id IN (SELECT id FROM cancelled)
                  AND checked_in_at IS NULL AND voided_at IS NULL
            ), show AS (
                UPDATE shows SET status = 'CANCELLED', cancelled_at = statement_timestamp()
                WHERE id = :id RETURNING id
            )
            -- Data-modifying CTEs run to completion whether read or not: the
            -- show is cancelled even when it has no live booking.
            SELECT id, (SELECT count(*) FROM freed) AS freed, (SELECT count(*) FROM show) AS shows
            FROM cancelled
            """
        ),
        {"id": show_id},
    ).all()
    booking_ids = [row.id for row in cancelled]
    # A confirmation not yet sent is no longer wanted: the cancellation replaces it.
    outbox.withdraw_confirmations(session, booking_ids)
    outbox.enqueue_show_cancelled(session, booking_ids)
    mark_seats_changed(session, show_id)
    return get_show(session, show_id)
