"""Checks that the database and the API tell one consistent story about seats.

Used after concurrency tests and after every step of the state machine: a
race that slips past the service code shows up here as a seat with two live
bookings, a seat pointing at a booking that does not list it, or an API
answer that disagrees with the rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import text

from webapp.booking.paging import encode_cursor
from webapp.extensions import db

#: ``get(path) -> (status_code, json_body)``, over a Flask test client or real HTTP.
JsonGetter = Callable[[str], tuple[int, Any]]

_LIVE = "(b.status = 'CONFIRMED' OR (b.status = 'PENDING' AND b.hold_expires_at > now()))"

# Each query returns the offending rows; every one of them must come back empty.
SEAT_INVARIANT_VIOLATIONS: dict[str, str] = {
    "a seat is in two live (PENDING-unexpired or CONFIRMED) bookings": f"""
        SELECT bs.seat_id, array_agg(b.id::text) AS bookings
        FROM booking_seats bs JOIN bookings b ON b.id = bs.booking_id
        WHERE {_LIVE}
        GROUP BY bs.seat_id HAVING count(*) > 1""",
    "a HELD/BOOKED seat points at a booking that does not match it": """
        SELECT s.id, s.label, s.status, b.id AS booking, b.status AS booking_status
        FROM seats s
        LEFT JOIN bookings b ON b.id = s.booking_id
        LEFT JOIN booking_seats bs ON bs.booking_id = s.booking_id AND bs.seat_id = s.id
        WHERE s.status <> 'AVAILABLE'
          AND (b.id IS NULL
               OR b.show_id <> s.show_id
               OR bs.seat_id IS NULL
               OR (s.status = 'HELD' AND (b.status <> 'PENDING'
                                          OR s.hold_expires_at IS DISTINCT FROM b.hold_expires_at))
               OR (s.status = 'BOOKED' AND b.status <> 'CONFIRMED'))""",
    "an AVAILABLE seat still names a booking": """
        SELECT s.id, s.label, s.booking_id FROM seats s
        WHERE s.status = 'AVAILABLE' AND (s.booking_id IS NOT NULL OR s.hold_expires_at IS NOT NULL)""",
    # A PENDING booking, lapsed or not, keeps its seats until someone expires
    # it: nobody may take them without expiring it first.
    "a PENDING or CONFIRMED booking lost a seat it lists": """
        SELECT b.id, b.status, bs.label, s.status AS seat_status, s.booking_id AS seat_holder
        FROM bookings b
        JOIN booking_seats bs ON bs.booking_id = b.id
        JOIN seats s ON s.id = bs.seat_id
        WHERE b.status IN ('PENDING', 'CONFIRMED') AND s.booking_id IS DISTINCT FROM b.id""",
    "booking_seats disagrees with its booking": """
        SELECT bs.booking_id, bs.label, bs.booking_status, b.status, s.label AS seat_label
        FROM booking_seats bs
        JOIN bookings b ON b.id = bs.booking_id
        JOIN seats s ON s.id = bs.seat_id
        WHERE bs.booking_status <> b.status OR s.label <> bs.label OR s.show_id <> b.show_id""",
    "a booking has no seats": """
        SELECT b.id FROM bookings b
        WHERE NOT EXISTS (SELECT 1 FROM booking_seats bs WHERE bs.booking_id = b.id)""",
    "timestamps disagree with the status": """
        SELECT id, status FROM bookings
        WHERE (status = 'CONFIRMED') <> (confirmed_at IS NOT NULL AND cancelled_at IS NULL)
              AND status <> 'CANCELLED'
           OR (status = 'CANCELLED' AND confirmed_at IS NOT NULL AND confirmed_at > cancelled_at)""",
}


def assert_seat_invariants(app: Flask) -> None:
    """Fail with the offending rows if any seat/booking invariant is broken."""
    problems: list[str] = []
    with app.app_context():
        try:
            for description, sql in SEAT_INVARIANT_VIOLATIONS.items():
                rows = db.session.execute(text(sql)).all()
                if rows:
                    problems.append(f"{description}: {[tuple(r) for r in rows[:10]]}")
        finally:
            db.session.rollback()
    assert not problems, "\n".join(problems)


def seat_holders(app: Flask, show_id: int) -> dict[str, str | None]:
    """Label -> id of the booking the seat row points at (None when AVAILABLE)."""
    with app.app_context():
        rows = db.session.execute(
            text("SELECT label, booking_id FROM seats WHERE show_id = :id"), {"id": show_id}
        ).all()
        db.session.rollback()
    return {row.label: (str(row.booking_id) if row.booking_id else None) for row in rows}


def database_view(app: Flask, show_id: int) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """What readers must be told, computed from the rows with lazy expiry applied.

    Returns (label -> seat status, booking id -> {"status", "seats"}).
    """
    with app.app_context():
        seats = db.session.execute(
            text(
                """
                SELECT label, CASE WHEN status = 'HELD' AND hold_expires_at <= now()
                                   THEN 'AVAILABLE' ELSE status END AS status
                FROM seats WHERE show_id = :id
                """
            ),
            {"id": show_id},
        ).all()
        bookings = db.session.execute(
            text(
                """
                SELECT b.id::text AS id,
                       CASE WHEN b.status = 'PENDING' AND b.hold_expires_at <= now()
                            THEN 'EXPIRED' ELSE b.status END AS status,
                       ARRAY(SELECT bs.label FROM booking_seats bs
                             WHERE bs.booking_id = b.id ORDER BY bs.seat_id) AS seats
                FROM bookings b WHERE b.show_id = :id
                """
            ),
            {"id": show_id},
        ).all()
        db.session.rollback()
    return (
        {row.label: row.status for row in seats},
        {row.id: {"status": row.status, "seats": list(row.seats)} for row in bookings},
    )


def assert_api_matches_database(app: Flask, get: JsonGetter, admin_get: JsonGetter, show_id: int) -> None:
    """The seat listing, the stats and the admin booking list agree with the rows.

    Call it when no request is in flight: it compares snapshots taken a few
    milliseconds apart.
    """
    db_seats, db_bookings = database_view(app, show_id)

    status, listing = get(f"/api/shows/{show_id}/seats")
    assert status == 200, listing
    api_seats = {seat["seat"]: seat["status"] for seat in listing["seats"]}
    assert api_seats == db_seats
    for seat in listing["seats"]:
        assert (seat["hold_expires_at"] is not None) == (seat["status"] == "HELD"), seat

    status, stats = get(f"/api/shows/{show_id}/seats/stats")
    assert status == 200, stats
    counts = Counter(db_seats.values())
    assert stats == {
        "total": len(db_seats),
        "available": counts["AVAILABLE"],
        "held": counts["HELD"],
        "booked": counts["BOOKED"],
    }

    status, show = get(f"/api/shows/{show_id}")
    assert status == 200, show
    # The show's stats add the door's count (issue 13), which no more than the booked seats can reach.
    assert {key: value for key, value in show["stats"].items() if key != "checked_in"} == stats
    assert 0 <= show["stats"]["checked_in"] <= stats["booked"]

    # Every page of the admin list (200 a page, the most; webapp/booking/paging.py). The cursor
    # is opaque to clients; the test builds it the way the server does from the page's last item.
    api_bookings: dict[str, dict[str, Any]] = {}
    path = f"/api/shows/{show_id}/bookings?limit=200"
    while True:
        status, listed = admin_get(path)
        assert status == 200, listed
        page = listed["bookings"]
        for booking in page:
            assert "token" not in booking
            api_bookings[booking["id"]] = {"status": booking["status"], "seats": booking["seats"]}
        if len(page) < 200:
            break
        cursor = encode_cursor(datetime.fromisoformat(page[-1]["created_at"]), page[-1]["id"])
        path = f"/api/shows/{show_id}/bookings?limit=200&cursor={cursor}"
    assert api_bookings == db_bookings
