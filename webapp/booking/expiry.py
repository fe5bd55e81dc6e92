"""Expiring lapsed holds: by the expiry job in batches, and by any writer that meets one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..events import mark_seats_changed


def expire_bookings(session: Session, booking_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Mark lapsed PENDING bookings EXPIRED and free their seats.

    The caller must already hold the row locks on those bookings' seats.
    Returns the ids actually expired (others were already settled).
    """
    rows = session.execute(
        text(
            """
            WITH expired AS (
                UPDATE bookings SET status = 'EXPIRED', expired_at = statement_timestamp()
                WHERE id = ANY(:ids) AND status = 'PENDING'
                  AND hold_expires_at <= statement_timestamp()
                RETURNING id, show_id
            ), freed AS (
                UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, hold_expires_at = NULL
                WHERE booking_id = ANY(:ids) AND booking_id IN (SELECT id FROM expired)
                RETURNING id
            )
            SELECT id, show_id, (SELECT count(*) FROM freed) AS freed FROM expired
            """
        ),
        {"ids": list(booking_ids)},
    ).all()
    for show_id in {row.show_id for row in rows}:
        mark_seats_changed(session, show_id)
    return [row.id for row in rows]


def expire_overdue_holds(session: Session, batch_size: int = 1000) -> int:
    """Expire one batch of lapsed holds; returns how many bookings it expired.

    Everything is locked with SKIP LOCKED: several workers take disjoint
    batches of the backlog, and a hold, confirm or cancel in flight is never
    waited on (that request settles the booking itself). Because this never
    waits, taking the booking row before its seats cannot deadlock with the
    seats-then-booking order of the request paths. A booking is expired only
    when all of its seats were locked here.
    """
    due = """
        WITH due AS (
            SELECT id FROM bookings
            WHERE status = 'PENDING' AND hold_expires_at <= now()
            ORDER BY hold_expires_at
            LIMIT :batch
            FOR UPDATE SKIP LOCKED
        ), held AS (
            -- Index lookups whatever the statistics say: right after a bulk
            -- of holds the planner would otherwise hash-join a scan of seats.
            -- OFFSET 0 keeps the LATERAL subquery a per-booking index probe.
            SELECT s.id, s.booking_id FROM due
            CROSS JOIN LATERAL (SELECT id, booking_id FROM seats WHERE booking_id = due.id OFFSET 0) s
        ), locked AS (
            SELECT id FROM seats
            WHERE id = ANY(ARRAY(SELECT id FROM held))
              AND booking_id = ANY(ARRAY(SELECT id FROM due))
            ORDER BY id
            FOR UPDATE SKIP LOCKED
        )
        SELECT d.id FROM due d
        WHERE NOT EXISTS (
            SELECT 1 FROM held h
            WHERE h.booking_id = d.id AND h.id NOT IN (SELECT id FROM locked)
        )
    """
    booking_ids = session.execute(text(due), {"batch": batch_size}).scalars().all()
    if not booking_ids:
        return 0
    return len(expire_bookings(session, booking_ids))
