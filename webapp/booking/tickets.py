"""Tickets: issued by the confirm, voided by the cancel, checked in at the door.

A ticket's code is the only thing the door sees, so it must be unguessable:
``secrets.token_urlsafe(24)`` is 192 random bits in 32 URL-safe characters.
Codes are stored as they are (the door must look them up, and they are worth
no more than the seat) behind a unique index.

Admission is decided by PostgreSQL, not by code that reads then writes: one
conditional UPDATE stamps ``checked_in_at`` only if it is still NULL, the
ticket is not void and its booking is CONFIRMED. Of any number of
simultaneous scans exactly one finds the row in that state; the others wait
for its row lock, re-check, and find it stamped. Only when the UPDATE
matched nothing does a read say why.

A cancel locks the booking's ticket rows (``lock_for_cancel``) before it
decides, so a scan and a cancel of the same booking are serialised on the
ticket rows: whichever comes second sees what the first did.
"""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from .errors import AlreadyCheckedIn, TicketNotFound, TicketVoid, WrongShow

#: What a code can look like; anything else cannot be a ticket and costs no query.
CODE = re.compile(r"[A-Za-z0-9_-]{22,64}")


def new_code() -> str:
    """192 random bits, 32 URL-safe characters."""
    return secrets.token_urlsafe(24)


def issue_tickets(session: Session, booking_id: uuid.UUID) -> int:
    """One ticket per seat of the booking; call under the confirm's locks. Returns how many were new.

    ``ON CONFLICT DO NOTHING``: a booking that has its tickets keeps them, so
    a repeated confirm never changes a code.
    """
    seats = session.execute(
        text(
            """
            SELECT bs.seat_id, bs.label, b.show_id
            FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id
            WHERE bs.booking_id = :id ORDER BY bs.seat_id
            """
        ),
        {"id": booking_id},
    ).all()
    if not seats:
        return 0
    issued = session.execute(
        text(
            """
            INSERT INTO tickets (booking_id, seat_id, show_id, label, code)
            SELECT :id, seat_id, :show_id, label, code
            FROM unnest(CAST(:seat_ids AS bigint[]), CAST(:labels AS text[]), CAST(:codes AS text[]))
                 AS t(seat_id, label, code)
            ON CONFLICT (booking_id, seat_id) DO NOTHING
            RETURNING id
            """
        ),
        {
            "id": booking_id,
            "show_id": seats[0].show_id,
            "seat_ids": [s.seat_id for s in seats],
            "labels": [s.label for s in seats],
            "codes": [new_code() for _ in seats],
        },
    ).all()
    return len(issued)


def lock_for_cancel(session: Session, booking_id: uuid.UUID) -> datetime | None:
    """Lock the booking's tickets; the first check-in time if one was checked in (then no cancel)."""
    stamps = session.execute(
        text("SELECT checked_in_at FROM tickets WHERE booking_id = :id ORDER BY id FOR UPDATE"),
        {"id": booking_id},
    ).scalars()
    checked_in = [stamp for stamp in stamps if stamp is not None]
    return min(checked_in) if checked_in else None


def void_tickets(session: Session, booking_id: uuid.UUID) -> None:
    """The booking is being cancelled: its tickets admit nobody any more."""
    session.execute(
        text(
            """
            UPDATE tickets SET voided_at = statement_timestamp()
            WHERE booking_id = :id AND voided_at IS NULL AND checked_in_at IS NULL
            """
        ),
        {"id": booking_id},
    )


def check_in(session: Session, code: str, show_id: int | None = None) -> dict[str, Any]:
    """Admit the ticket's holder, once. Raises (having written nothing) when the door must say no.

    With ``show_id`` a ticket for another show is refused (``WrongShow``)
    before anything is written.
    """
    if not CODE.fullmatch(code):
        raise TicketNotFound("No ticket has that code.")
    admitted = session.execute(
        text(
            """
            UPDATE tickets t SET checked_in_at = statement_timestamp()
            FROM bookings b
            WHERE t.code = :code AND t.checked_in_at IS NULL AND t.voided_at IS NULL
              AND (CAST(:show_id AS bigint) IS NULL OR t.show_id = :show_id)
              AND b.id = t.booking_id AND b.status = 'CONFIRMED'
            RETURNING t.label, t.show_id, t.booking_id, t.checked_in_at
            """
        ),
        {"code": code, "show_id": show_id},
    ).one_or_none()
    if admitted is not None:
        return {
            "result": "admitted",
            "seat": admitted.label,
            "show_id": admitted.show_id,
            "booking_id": str(admitted.booking_id),
            "checked_in_at": admitted.checked_in_at,
        }
    raise _refusal(session, code, show_id)


def _refusal(session: Session, code: str, show_id: int | None) -> Exception:
    """Why the UPDATE admitted nobody: one read, after the fact."""
    ticket = session.execute(
        text(
            """
            SELECT t.label, t.show_id, t.checked_in_at, t.voided_at, b.status, sh.title
            FROM tickets t JOIN bookings b ON b.id = t.booking_id JOIN shows sh ON sh.id = t.show_id
            WHERE t.code = :code
            """
        ),
        {"code": code},
    ).one_or_none()
    if ticket is None:
        return TicketNotFound("No ticket has that code.")
    if ticket.voided_at is not None or ticket.status != "CONFIRMED":
        return TicketVoid(f"Seat {ticket.label}: the booking was cancelled, so the ticket is void.")
    if show_id is not None and ticket.show_id != show_id:
        return WrongShow(f"Seat {ticket.label} is for show {ticket.show_id}, {ticket.title!r}.")
    if ticket.checked_in_at is not None:
        return AlreadyCheckedIn(
            f"Seat {ticket.label} was checked in already.", checked_in_at=ticket.checked_in_at
        )
    # Nothing left that could refuse it: only a concurrent change between the two statements.
    return TicketVoid(f"Seat {ticket.label} cannot be checked in now.")


def booking_tickets(session: Session, booking_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tickets of a booking with what a printed ticket says: seat, kind, price."""
    rows = session.execute(
        text(
            """
            SELECT t.label, t.code, t.checked_in_at, s.kind, s.price
            FROM tickets t JOIN seats s ON s.id = t.seat_id
            WHERE t.booking_id = :id ORDER BY t.seat_id
            """
        ),
        {"id": booking_id},
    ).all()
    return [
        {"seat": r.label, "code": r.code, "checked_in_at": r.checked_in_at, "kind": r.kind, "price": r.price}
        for r in rows
    ]


def door_shows(session: Session, hours_back: int = 12) -> list[dict[str, Any]]:
    """Shows the door may be checking in: starting from ``hours_back`` ago on, with admitted / sold."""
    rows = session.execute(
        text(
            """
            SELECT sh.id, sh.title, sh.starts_at, sh.auditorium,
                   count(t.id) FILTER (WHERE b.status = 'CONFIRMED') AS sold,
                   count(t.id) FILTER (WHERE t.checked_in_at IS NOT NULL) AS admitted
            FROM shows sh
            LEFT JOIN tickets t ON t.show_id = sh.id
            LEFT JOIN bookings b ON b.id = t.booking_id
            WHERE sh.starts_at > now() - make_interval(hours => :hours)
            GROUP BY sh.id
            ORDER BY sh.starts_at, sh.id
            LIMIT 200
            """
        ),
        {"hours": hours_back},
    ).all()
    return [row._asdict() for row in rows]
