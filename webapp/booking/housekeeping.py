"""Keeping tables small, run by the cleanup_orphans job; one batch per call."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session


def cleanup_orphan_bookings(session: Session, min_age_seconds: int, batch_size: int = 1000) -> int:
    """Delete one batch of PENDING bookings that never had a seat; returns how many.

    A booking is an orphan only if no seat was ever recorded for it in
    ``booking_seats`` (the permanent record), no seat points at it and no
    message is owed for it. Booking history is never deleted: the foreign key
    from ``booking_seats`` would refuse it even if this query were wrong.
    The age guard leaves alone a booking whose transaction is still at work.
    """
    return len(
        session.execute(
            text(
                """
                DELETE FROM bookings WHERE id IN (
                    SELECT b.id FROM bookings b
                    WHERE b.status = 'PENDING'
                      AND b.created_at <= now() - make_interval(secs => :min_age)
                      AND NOT EXISTS (SELECT 1 FROM booking_seats bs WHERE bs.booking_id = b.id)
                      AND NOT EXISTS (SELECT 1 FROM seats s WHERE s.booking_id = b.id)
                      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.booking_id = b.id)
                    ORDER BY b.created_at
                    LIMIT :batch
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING id
                """
            ),
            {"min_age": min_age_seconds, "batch": batch_size},
        ).all()
    )


def purge_idempotency_keys(session: Session, ttl_seconds: int, batch_size: int = 1000) -> int:
    """Delete one batch of Idempotency-Key records older than ``ttl_seconds``; returns how many.

    Expired records are already ignored by ``hold_seats``; this only keeps the table small.
    """
    return len(
        session.execute(
            text(
                """
                DELETE FROM idempotency_keys WHERE key_hash IN (
                    SELECT key_hash FROM idempotency_keys
                    WHERE created_at <= now() - make_interval(secs => :ttl)
                    ORDER BY created_at
                    LIMIT :batch
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING key_hash
                """
            ),
            {"ttl": ttl_seconds, "batch": batch_size},
        ).all()
    )
