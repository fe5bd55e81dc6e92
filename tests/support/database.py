"""The test database and Redis from the outside: one-off SQL, and moving time by SQL."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from webapp.extensions import db

#: Moves a hold's expiry ``:ago`` into the past (as if HOLD_SECONDS had run out), on the
#: booking and its seats alike. Nothing is expired: readers and writers find it lapsed.
#: A booking that is no longer PENDING is left alone (its hold is over already).
LAPSE_HOLD_SQL = """
    WITH b AS (
        UPDATE bookings SET hold_expires_at = now() - CAST(:ago AS interval)
        WHERE id = :id AND status = 'PENDING' RETURNING id, hold_expires_at
    )
    UPDATE seats SET hold_expires_at = (SELECT hold_expires_at FROM b)
    WHERE booking_id = (SELECT id FROM b) AND status = 'HELD'
"""


def libpq_dsn(database_url: str) -> str:
    """A SQLAlchemy URL as a DSN psycopg accepts."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def run_sql(app: Flask, sql: str, **params: Any) -> list[Any]:
    """Run one statement on the test database in its own committed transaction."""
    with app.app_context():
        result = db.session.execute(text(sql), params)
        rows = result.all() if result.returns_rows else []
        db.session.commit()
        return rows


def forget_seat_snapshots(app: Flask) -> None:
    """Drop the cached seat listings after a test moved time by SQL.

    A real lapse ends a cached snapshot's life at the hold's expiry (see
    webapp/seatcache.py); rewriting ``hold_expires_at`` by hand does not.
    """
    client = app.extensions["redis"]
    keys = list(client.scan_iter(match=f"{app.config['REDIS_KEY_PREFIX']}seatmap:*", count=1000))
    if keys:
        client.delete(*keys)


def forget_taken_seats(app: Flask) -> None:
    """Drop the Redis seat keys (locks and taken markers) after a test moved time by SQL.

    A marker lives no longer than the hold it saw (webapp/locks.py); a hold
    lapsed by hand would still be refused as taken for up to SEAT_TAKEN_TTL_MS.
    """
    client = app.extensions["redis"]
    keys = list(client.scan_iter(match=f"{app.config['REDIS_KEY_PREFIX']}seatlock:*", count=1000))
    if keys:
        client.delete(*keys)


def lapse_hold(app: Flask, booking_id: str, ago: str = "0 seconds") -> None:
    """Let a hold run out now (or ``ago``), without any job running; see ``LAPSE_HOLD_SQL``."""
    run_sql(app, LAPSE_HOLD_SQL, id=str(booking_id), ago=ago)
    forget_seat_snapshots(app)
    forget_taken_seats(app)
