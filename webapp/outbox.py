"""The transactional outbox: messages owed to customers, and their delivery state.

A confirm writes its message row in its own transaction, so the message
exists exactly when the confirm does. Delivery happens later, in a worker,
and is recorded with conditional updates:

* ``claim`` moves a due PENDING row into a lease (``next_attempt_at`` pushed
  past the longest a delivery may take) and bumps ``attempts``. Of several
  jobs for one row (a retry, a duplicate, a relay racing the first enqueue)
  only one wins the claim; the others find nothing due and stop.
* ``attempts`` after the claim is the claim's token: ``mark_sent`` and
  ``record_failure`` only touch the row if no later claim took it over, so a
  worker that outlived its lease cannot overwrite the newer attempt's result.
* A worker that dies after claiming leaves the row leased; once the lease
  runs out the relay hands it to another worker. Delivery itself is
  idempotent (webapp/mail.py) so that redelivery cannot show a second message.

Like the booking service (webapp/booking/), nothing here commits: the caller
owns the transaction, and nothing here knows the app or the job queue. A new
message is announced with the ``message_owed`` signal after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from .events import message_owed, on_commit
from .models import OutboxKind, OutboxStatus

#: Backoff never grows beyond a day, however many attempts are allowed.
MAX_BACKOFF_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Claim:
    """A delivery in progress, with everything the message needs."""

    outbox_id: int
    #: ``attempts`` after this claim; proves the row is still ours when recording the outcome.
    attempt: int
    booking_id: uuid.UUID
    email: str
    show_title: str
    starts_at: datetime
    auditorium: str | None
    seats: list[str]
    #: The booking's total in minor units of ``currency`` (None for an unpriced show).
    total: int | None = None
    currency: str | None = None
    #: What the message says: an ``OutboxKind`` value.
    kind: str = OutboxKind.BOOKING_CONFIRMED.value
    #: (seat label, ticket code) of each ticket, in seat order.
    tickets: tuple[tuple[str, str], ...] = ()

    @property
    def message_key(self) -> str:
        """Names this message for good, across attempts: the mailbox file and the Message-ID."""
        return f"{self.kind.replace('_', '-')}-{self.booking_id}"


def enqueue_confirmation(session: Session, booking_id: uuid.UUID) -> int | None:
    """Owe the booking its confirmation message, in the caller's transaction.

    Returns the new outbox id, or None when nothing is owed: the booking has
    no email, or its message was written already. After the commit, and only
    then, a delivery job is enqueued; should Redis be down at that moment, the
    relay job finds the row later. ``message_owed`` carries the announcement
    to whoever delivers (webapp/jobs.py connects to it).
    """
    outbox_id = session.execute(
        text(
            """
            INSERT INTO outbox (booking_id, kind)
            SELECT id, :kind FROM bookings WHERE id = :id AND email IS NOT NULL
            ON CONFLICT (booking_id, kind) DO NOTHING
            RETURNING id
            """
        ),
        {"id": booking_id, "kind": OutboxKind.BOOKING_CONFIRMED.value},
    ).scalar_one_or_none()
    if outbox_id is not None:
        on_commit(session, lambda: message_owed.send(outbox_id, outbox_id=outbox_id))
    return outbox_id


def enqueue_show_cancelled(session: Session, booking_ids: Sequence[uuid.UUID]) -> list[int]:
    """Owe each of these (just cancelled) bookings one "show cancelled" message, if it has an e-mail.

    One row per booking and kind (the unique constraint): a repeated cancel
    cannot owe a second message. Announced after the commit, like confirmations.
    """
    if not booking_ids:
        return []
    outbox_ids = (
        session.execute(
            text(
                """
            INSERT INTO outbox (booking_id, kind)
            SELECT id, :kind FROM bookings WHERE id = ANY(:ids) AND email IS NOT NULL
            ON CONFLICT (booking_id, kind) DO NOTHING
            RETURNING id
            """
            ),
            {"ids": list(booking_ids), "kind": OutboxKind.SHOW_CANCELLED.value},
        )
        .scalars()
        .all()
    )
    for outbox_id in outbox_ids:
        on_commit(session, lambda outbox_id=outbox_id: message_owed.send(outbox_id, outbox_id=outbox_id))
    return list(outbox_ids)


def withdraw_confirmations(session: Session, booking_ids: Sequence[uuid.UUID]) -> None:
    """``withdraw_confirmation`` for many bookings at once (a cancelled show)."""
    if booking_ids:
        session.execute(
            text("DELETE FROM outbox WHERE booking_id = ANY(:ids) AND kind = :kind AND status = 'PENDING'"),
            {"ids": list(booking_ids), "kind": OutboxKind.BOOKING_CONFIRMED.value},
        )


def withdraw_confirmation(session: Session, booking_id: uuid.UUID) -> None:
    """Nothing is owed any more: the booking was cancelled before its message went out.

    A delivery already under way may still arrive; its final conditional
    update then finds no row, which is harmless.
    """
    session.execute(
        text("DELETE FROM outbox WHERE booking_id = :id AND kind = :kind AND status = 'PENDING'"),
        {"id": booking_id, "kind": OutboxKind.BOOKING_CONFIRMED.value},
    )


def claim(session: Session, outbox_id: int, *, lease_seconds: int, max_attempts: int) -> Claim | None:
    """Take the row for one delivery attempt, or None if it is not ours to deliver now."""
    row = session.execute(
        text(
            """
            WITH claimed AS (
                UPDATE outbox
                SET attempts = attempts + 1,
                    next_attempt_at = now() + make_interval(secs => :lease)
                WHERE id = :id AND status = 'PENDING' AND next_attempt_at <= now()
                  AND attempts < :max_attempts
                RETURNING id, booking_id, attempts, kind
            )
            SELECT c.id, c.attempts, c.kind, b.id AS booking_id, b.email, b.total, b.currency,
                   sh.title, sh.starts_at, sh.auditorium,
                   ARRAY(SELECT bs.label FROM booking_seats bs
                         WHERE bs.booking_id = b.id ORDER BY bs.seat_id) AS seats,
                   ARRAY(SELECT t.label FROM tickets t
                         WHERE t.booking_id = b.id ORDER BY t.seat_id) AS ticket_seats,
                   ARRAY(SELECT t.code FROM tickets t
                         WHERE t.booking_id = b.id ORDER BY t.seat_id) AS ticket_codes
            FROM claimed c
            JOIN bookings b ON b.id = c.booking_id
            JOIN shows sh ON sh.id = b.show_id
            """
        ),
        {"id": outbox_id, "lease": lease_seconds, "max_attempts": max_attempts},
    ).one_or_none()
    if row is None:
        return None
    return Claim(
        outbox_id=row.id,
        kind=row.kind,
        attempt=row.attempts,
        booking_id=row.booking_id,
        email=row.email,
        show_title=row.title,
        starts_at=row.starts_at,
        auditorium=row.auditorium,
        seats=list(row.seats),
        total=row.total,
        currency=row.currency,
        tickets=tuple(zip(row.ticket_seats, row.ticket_codes, strict=True)),
    )


def mark_sent(session: Session, claimed: Claim) -> bool:
    """Record the delivery; False if a later claim has taken the row over meanwhile."""
    updated = session.execute(
        text(
            """
            UPDATE outbox SET status = 'SENT', sent_at = now()
            WHERE id = :id AND status = 'PENDING' AND attempts = :attempt
            RETURNING id
            """
        ),
        {"id": claimed.outbox_id, "attempt": claimed.attempt},
    ).first()
    return updated is not None


def record_failure(
    session: Session, claimed: Claim, error: str, *, backoff_seconds: float, max_attempts: int
) -> str | None:
    """Schedule the next attempt (backoff doubling from ``backoff_seconds``) or give up.

    Returns the row's new status (PENDING or DEAD), or None if a later claim
    owns the row.
    """
    return session.execute(
        text(
            """
            UPDATE outbox
            SET last_error = :error,
                status = CASE WHEN attempts >= :max_attempts THEN 'DEAD' ELSE 'PENDING' END,
                next_attempt_at = CASE WHEN attempts >= :max_attempts THEN now()
                    ELSE now() + make_interval(secs => least(:cap, :base * power(2, attempts - 1)))
                END
            WHERE id = :id AND status = 'PENDING' AND attempts = :attempt
            RETURNING status
            """
        ),
        {
            "id": claimed.outbox_id,
            "attempt": claimed.attempt,
            "error": error[:2000],
            "base": backoff_seconds,
            "cap": MAX_BACKOFF_SECONDS,
            "max_attempts": max_attempts,
        },
    ).scalar_one_or_none()


@dataclass(frozen=True)
class DueMessage:
    outbox_id: int
    attempts: int


def due_messages(session: Session, *, max_attempts: int, limit: int = 500) -> list[DueMessage]:
    """PENDING rows whose next attempt is due: never enqueued, failed earlier, or lease run out."""
    rows = session.execute(
        text(
            """
            SELECT id, attempts FROM outbox
            WHERE status = 'PENDING' AND next_attempt_at <= now() AND attempts < :max_attempts
            ORDER BY next_attempt_at
            LIMIT :limit
            """
        ),
        {"max_attempts": max_attempts, "limit": limit},
    ).all()
    return [DueMessage(row.id, row.attempts) for row in rows]


def bury_abandoned(session: Session, *, max_attempts: int) -> list[Any]:
    """Mark DEAD the rows whose last allowed attempt was claimed and never reported back.

    Their workers died mid-delivery every time; the claim that would exceed
    the limit is never made, so they would otherwise stay PENDING for ever.
    """
    return session.execute(
        text(
            """
            UPDATE outbox
            SET status = 'DEAD',
                last_error = coalesce(last_error || '; ', '')
                             || 'the last attempt never reported back (worker lost)'
            WHERE status = 'PENDING' AND next_attempt_at <= now() AND attempts >= :max_attempts
            RETURNING id, booking_id, attempts
            """
        ),
        {"max_attempts": max_attempts},
    ).all()


def status_counts(session: Session) -> dict[str, int]:
    counts = {status.value: 0 for status in OutboxStatus}
    for row in session.execute(text("SELECT status, count(*) AS n FROM outbox GROUP BY status")):
        counts[row.status] = row.n
    return counts


def dead_messages(session: Session, limit: int = 20) -> list[Any]:
    return session.execute(
        text(
            """
            SELECT o.id, o.booking_id, o.kind, o.attempts, o.last_error, o.created_at, b.email
            FROM outbox o JOIN bookings b ON b.id = o.booking_id
            WHERE o.status = 'DEAD'
            ORDER BY o.id DESC
            LIMIT :limit
            """
        ),
        {"limit": limit},
    ).all()
