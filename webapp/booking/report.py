"""A show's figures for its operators: seats by state, revenue, and the bookings for export.

Lazy expiry applies as everywhere: a lapsed hold counts as available and
its booking reads EXPIRED, whether or not the expiry job has run yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..seatplan import KINDS
from .queries import require_show


def checked_in_count(session: Session, show_id: int) -> int:
    """Tickets of the show admitted at the door (a partial index holds exactly these)."""
    return session.execute(
        text("SELECT count(*) FROM tickets WHERE show_id = :id AND checked_in_at IS NOT NULL"),
        {"id": show_id},
    ).scalar_one()


def show_report(session: Session, show_id: int) -> dict[str, Any]:
    """Capacity, sold, held, available, checked in, and the revenue of the confirmed bookings.

    Revenue is what the bookings were charged: ``total`` sums ``bookings.total``
    (fixed when the seats were held), and ``by_kind`` splits it by the seat
    prices recorded on those bookings' seats. An unpriced show has no revenue
    figures (null total, empty ``by_kind``).
    """
    require_show(session, show_id)
    seats = session.execute(
        text(
            """
            SELECT count(*) AS capacity,
                   count(*) FILTER (WHERE status = 'BOOKED') AS sold,
                   count(*) FILTER (WHERE status = 'HELD' AND hold_expires_at > now()) AS held
            FROM seats WHERE show_id = :id
            """
        ),
        {"id": show_id},
    ).one()
    revenue = session.execute(
        text(
            """
            SELECT sh.currency, sh.prices IS NOT NULL AS priced,
                   (SELECT coalesce(sum(b.total), 0) FROM bookings b
                    WHERE b.show_id = sh.id AND b.status = 'CONFIRMED') AS total
            FROM shows sh WHERE sh.id = :id
            """
        ),
        {"id": show_id},
    ).one()
    by_kind = {
        row.kind: row.amount
        for row in session.execute(
            text(
                """
                SELECT s.kind, coalesce(sum(s.price), 0) AS amount
                FROM bookings b
                JOIN booking_seats bs ON bs.booking_id = b.id
                JOIN seats s ON s.id = bs.seat_id
                WHERE b.show_id = :id AND b.status = 'CONFIRMED'
                GROUP BY s.kind
                """
            ),
            {"id": show_id},
        )
    }
    return {
        "capacity": seats.capacity,
        "sold": seats.sold,
        "held": seats.held,
        "available": seats.capacity - seats.sold - seats.held,
        "checked_in": checked_in_count(session, show_id),
        "revenue": {
            "total": int(revenue.total) if revenue.priced else None,
            "currency": revenue.currency if revenue.priced else None,
            "by_kind": {kind: int(by_kind[kind]) for kind in KINDS if kind in by_kind}
            if revenue.priced
            else {},
        },
    }


def export_bookings(session: Session, show_id: int, batch: int = 500) -> Iterator[Any]:
    """Every booking of the show, oldest first, with its e-mail: for the CSV export.

    Read in keyset pages so that a show with many bookings never sits in memory whole.
    """
    require_show(session, show_id)
    after: tuple[Any, Any] = (None, None)
    while True:
        rows = session.execute(
            text(
                """
                SELECT b.id, b.email, b.total, b.currency, b.created_at, b.confirmed_at, b.cancelled_at,
                       CASE WHEN b.status = 'PENDING' AND b.hold_expires_at <= now()
                            THEN 'EXPIRED' ELSE b.status END AS status,
                       ARRAY(SELECT bs.label FROM booking_seats bs
                             WHERE bs.booking_id = b.id ORDER BY bs.seat_id) AS seats
                FROM bookings b
                WHERE b.show_id = :id
                  AND (CAST(:after_created AS timestamptz) IS NULL
                       OR (b.created_at, b.id) > (:after_created, CAST(:after_id AS uuid)))
                ORDER BY b.created_at, b.id
                LIMIT :batch
                """
            ),
            {"id": show_id, "after_created": after[0], "after_id": after[1], "batch": batch},
        ).all()
        yield from rows
        if len(rows) < batch:
            return
        after = (rows[-1].created_at, str(rows[-1].id))
