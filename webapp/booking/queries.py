"""Reads: shows with their seat counts, seat listings, bookings, the database clock.

Lapsed holds read as AVAILABLE seats and EXPIRED bookings here, whether or
not the expiry job has written them yet.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..seatplan import KINDS
from .errors import AuthenticationRequired, BookingNotFound, Forbidden, ShowCancelled, ShowNotFound
from .paging import Page, PageRequest, bad_cursor, page_of
from .tokens import token_matches

_SEAT_STATUS_SQL = """
    CASE WHEN s.status = 'HELD' AND s.hold_expires_at <= now() THEN 'AVAILABLE'
         ELSE s.status END"""

_STATS_SQL = f"""
    SELECT count(*) AS total,
           count(*) FILTER (WHERE {_SEAT_STATUS_SQL} = 'AVAILABLE') AS available,
           count(*) FILTER (WHERE {_SEAT_STATUS_SQL} = 'HELD') AS held,
           count(*) FILTER (WHERE s.status = 'BOOKED') AS booked,
           (SELECT count(*) FROM tickets t
            WHERE t.show_id = min(s.show_id) AND t.checked_in_at IS NOT NULL) AS checked_in
    FROM seats s"""

_SHOW_COLUMNS = (
    "sh.id, sh.title, sh.starts_at, sh.auditorium, sh.rows, sh.seats_per_row, "
    "sh.layout, sh.prices, sh.currency, sh.no_single_seat_gaps, sh.status"
)


def _show_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "starts_at": row.starts_at,
        "auditorium": row.auditorium,
        "rows": row.rows,
        "seats_per_row": row.seats_per_row,
        "layout": list(row.layout),
        # In the order of the kinds (PostgreSQL's jsonb keeps keys in its own order).
        "prices": None if row.prices is None else {k: row.prices[k] for k in KINDS if k in row.prices},
        "currency": row.currency,
        "no_single_seat_gaps": row.no_single_seat_gaps,
        "status": row.status,
        "stats": {
            "total": row.total,
            "available": row.available,
            "held": row.held,
            "booked": row.booked,
            "checked_in": row.checked_in,
        },
    }


def list_upcoming_shows(session: Session) -> list[dict[str, Any]]:
    """Every upcoming show, soonest first (the pages; the API takes them a page at a time)."""
    return upcoming_shows_page(session, PageRequest(limit=2**31 - 2)).items


def upcoming_shows_page(session: Session, page: PageRequest) -> Page:
    """Upcoming shows, soonest first, a page at a time (keyset on starts_at, id)."""
    after_starts, after_id = page.after if page.after else (None, None)
    if after_id is not None and not after_id.isdigit():
        raise bad_cursor()
    rows = session.execute(
        text(
            f"""
            SELECT {_SHOW_COLUMNS}, st.*
            FROM shows sh
            CROSS JOIN LATERAL ({_STATS_SQL} WHERE s.show_id = sh.id) st
            WHERE sh.starts_at > now()
              AND (CAST(:after_starts AS timestamptz) IS NULL
                   OR (sh.starts_at, sh.id) > (:after_starts, CAST(:after_id AS bigint)))
            ORDER BY sh.starts_at, sh.id
            LIMIT :limit
            """
        ),
        {"after_starts": after_starts, "after_id": after_id, "limit": page.limit + 1},
    ).all()
    return page_of(rows, page, _show_json, "starts_at")


def get_show(session: Session, show_id: int) -> dict[str, Any]:
    row = session.execute(
        text(
            f"""
            SELECT {_SHOW_COLUMNS}, st.*
            FROM shows sh
            CROSS JOIN LATERAL ({_STATS_SQL} WHERE s.show_id = sh.id) st
            WHERE sh.id = :show_id
            """
        ),
        {"show_id": show_id},
    ).one_or_none()
    if row is None:
        raise ShowNotFound(f"There is no show {show_id}.")
    return _show_json(row)


def seat_stats(session: Session, show_id: int) -> dict[str, int]:
    """Seat counts by status (the show's stats less its check-ins, which are no seat status)."""
    stats = get_show(session, show_id)["stats"]
    return {key: stats[key] for key in ("total", "available", "held", "booked")}


def list_seats(session: Session, show_id: int) -> list[dict[str, Any]]:
    """Seats in row-major order, with lapsed holds shown as AVAILABLE."""
    rows = session.execute(
        text(
            f"""
            SELECT s.label, s.row, s.number, s.col, s.kind, s.price, {_SEAT_STATUS_SQL} AS status,
                   CASE WHEN s.status = 'HELD' AND s.hold_expires_at > now()
                        THEN s.hold_expires_at END AS hold_expires_at
            FROM seats s WHERE s.show_id = :show_id
            ORDER BY s.row, s.number
            """
        ),
        {"show_id": show_id},
    ).all()
    if not rows:
        require_show(session, show_id)
    return [
        {
            "seat": r.label,
            "row": r.row,
            "number": r.number,
            "column": r.col,
            "kind": r.kind,
            "price": r.price,
            "status": r.status,
            "hold_expires_at": r.hold_expires_at,
        }
        for r in rows
    ]


def database_now(session: Session) -> datetime:
    """The database's clock. Holds lapse and shows start by it, so anything
    that compares with ``hold_expires_at`` or ``starts_at`` must use it too:
    this server's own clock may be off (the fault suite skews it on purpose)."""
    return session.execute(text("SELECT statement_timestamp()")).scalar_one()


def require_show(session: Session, show_id: int) -> None:
    found = session.execute(text("SELECT 1 FROM shows WHERE id = :id"), {"id": show_id}).first()
    if found is None:
        raise ShowNotFound(f"There is no show {show_id}.")


def require_scheduled_show(session: Session, show_id: int) -> None:
    """Raise ShowNotFound or ShowCancelled: why a hold on this show found no seat to lock."""
    status = session.execute(text("SELECT status FROM shows WHERE id = :id"), {"id": show_id}).scalar()
    if status is None:
        raise ShowNotFound(f"There is no show {show_id}.")
    if status == "CANCELLED":
        raise ShowCancelled(f"Show {show_id} was cancelled; its seats can no longer be held.")


_BOOKING_SELECT = """
    SELECT b.id, b.show_id, b.token_hash,
           CASE WHEN b.status = 'PENDING' AND b.hold_expires_at <= now()
                THEN 'EXPIRED' ELSE b.status END AS status,
           b.hold_expires_at, b.created_at, b.confirmed_at, b.cancelled_at,
           CASE WHEN b.status = 'PENDING' AND b.hold_expires_at <= now()
                THEN b.hold_expires_at ELSE b.expired_at END AS expired_at,
           b.email, b.visitor, b.total, b.currency,
           CASE WHEN b.status = 'PENDING' AND b.hold_expires_at > now()
                THEN b.extensions_left ELSE 0 END AS extensions_left,
           ARRAY(SELECT bs.label FROM booking_seats bs
                 WHERE bs.booking_id = b.id ORDER BY bs.seat_id) AS seats,
           ARRAY(SELECT t.label FROM tickets t
                 WHERE t.booking_id = b.id AND b.status = 'CONFIRMED' ORDER BY t.seat_id) AS ticket_seats,
           ARRAY(SELECT t.code FROM tickets t
                 WHERE t.booking_id = b.id AND b.status = 'CONFIRMED' ORDER BY t.seat_id) AS ticket_codes,
           ARRAY(SELECT t.checked_in_at FROM tickets t
                 WHERE t.booking_id = b.id AND b.status = 'CONFIRMED' ORDER BY t.seat_id) AS ticket_checkins
    FROM bookings b"""


def _tickets(row: Any, with_codes: bool) -> list[dict[str, Any]]:
    """The tickets of a CONFIRMED booking (the select leaves the others none)."""
    if not hasattr(row, "ticket_seats"):  # a row from elsewhere (e.g. an idempotent replay's own)
        return []
    return [
        {"seat": seat, "code": code if with_codes else None, "checked_in_at": checked_in_at}
        for seat, code, checked_in_at in zip(
            row.ticket_seats, row.ticket_codes, row.ticket_checkins, strict=True
        )
    ]


def booking_json(row: Any, with_codes: bool = True) -> dict[str, Any]:
    """A booking as every caller sees it (the API's Booking shape), from any row-like object.

    ``with_codes=False`` leaves the ticket codes out (null): they admit
    whoever shows them, so only the token holder is given them.
    """
    return {
        "id": str(row.id),
        "show_id": row.show_id,
        "status": row.status,
        "seats": list(row.seats),
        "total": row.total,
        "currency": row.currency,
        "hold_expires_at": row.hold_expires_at,
        "created_at": row.created_at,
        "confirmed_at": row.confirmed_at,
        "cancelled_at": row.cancelled_at,
        "expired_at": row.expired_at,
        "extensions_left": row.extensions_left,
        "tickets": _tickets(row, with_codes),
    }


def admin_booking_json(row: Any) -> dict[str, Any]:
    """A booking in an admin listing: who is in, but not the codes that would let anyone in."""
    return booking_json(row, with_codes=False)


def _load_booking(session: Session, booking_id: uuid.UUID) -> Any:
    row = session.execute(text(_BOOKING_SELECT + " WHERE b.id = :id"), {"id": booking_id}).one_or_none()
    if row is None:
        raise BookingNotFound(f"There is no booking {booking_id}.")
    return row


def authorize_booking(session: Session, booking_id: uuid.UUID, token: str | None) -> dict[str, Any]:
    """The booking, if ``token`` is its token (compared in constant time).

    A missing token is refused before the booking is looked up, so that
    asking without one reveals nothing about which bookings exist.
    """
    if not token:
        raise AuthenticationRequired("A booking token is required.")
    row = _load_booking(session, booking_id)
    if not token_matches(row.token_hash, token):
        raise Forbidden("That token does not belong to this booking.")
    return booking_json(row)


def get_booking(session: Session, booking_id: uuid.UUID) -> dict[str, Any]:
    """The booking, for callers that authorised the reader some other way."""
    return booking_json(_load_booking(session, booking_id))


def list_show_bookings(
    session: Session, show_id: int, status: str | None = None, page: PageRequest | None = None
) -> Page:
    """A show's bookings, oldest first, a page at a time (keyset on created_at, id)."""
    require_show(session, show_id)
    page = page or PageRequest()
    after_created, after_id = page.after if page.after else (None, None)
    if after_id is not None:
        try:
            after_id = str(uuid.UUID(after_id))
        except ValueError:
            raise bad_cursor() from None
    rows = session.execute(
        text(
            f"""
            SELECT * FROM ({_BOOKING_SELECT} WHERE b.show_id = :show_id
                AND (CAST(:after_created AS timestamptz) IS NULL
                     OR (b.created_at, b.id) > (:after_created, CAST(:after_id AS uuid)))) x
            WHERE CAST(:status AS text) IS NULL OR x.status = :status
            ORDER BY x.created_at, x.id
            LIMIT :limit
            """
        ),
        {
            "show_id": show_id,
            "status": status,
            "after_created": after_created,
            "after_id": after_id,
            "limit": page.limit + 1,
        },
    ).all()
    return page_of(rows, page, admin_booking_json, "created_at")
