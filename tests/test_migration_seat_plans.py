"""Migrations 0005 (seat plans) and 0007 (tickets) on a database that holds bookings from before them.

A scratch database is migrated to 0002, filled the way the old code wrote
it (rectangular shows, held, confirmed, cancelled and expired bookings, their
permanent seat records and an owed confirmation), then upgraded: every show
becomes the layout of its rectangle, every seat keeps its id, status and
holder and gains its column and kind, and no booking is lost or changed.
The old holds then settle normally and new holds work on the migrated show.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from conftest import ADMIN_TOKEN, BASE_DATABASE_URL, ROOT, _admin_dsn
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from webapp import create_app
from webapp.booking.tokens import hash_token
from webapp.extensions import db

MIGRATIONS = str(ROOT / "migrations")


@pytest.fixture
def old_app(test_env: dict[str, str]) -> Iterator[Flask]:
    """An app on a database of its own, migrated only to 0002 (before seat plans)."""
    name = f"marquee_migration_{os.getpid()}_{secrets.token_hex(3)}"
    admin = _admin_dsn(BASE_DATABASE_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(BASE_DATABASE_URL).set(drivername="postgresql+psycopg", database=name)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "REDIS_URL": test_env["REDIS_URL"],
            "REDIS_KEY_PREFIX": test_env["REDIS_KEY_PREFIX"] + "migration:",
            "RQ_QUEUE": test_env["RQ_QUEUE"],
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "SECRET_KEY": "test",
            "TESTING": True,
            "APP_ENV": "test",
            "MAILBOX_DIR": test_env["MAILBOX_DIR"],
        }
    )
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0002")
    try:
        yield app
    finally:
        with app.app_context():
            db.engine.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sql(app: Flask, statement: str, **params: Any) -> list[Any]:
    with app.app_context():
        result = db.session.execute(text(statement), params)
        rows = result.all() if result.returns_rows else []
        db.session.commit()
        return rows


def old_booking(app: Flask, show_id: int, labels: list[str], status: str, token: str) -> uuid.UUID:
    """A booking as the pre-0005 code wrote it: booking row, seat holder, permanent record."""
    booking_id = uuid.uuid4()
    seat_status = {"PENDING": "HELD", "CONFIRMED": "BOOKED"}.get(status, "AVAILABLE")
    stamps = {
        "PENDING": "NULL, NULL, NULL",
        "CONFIRMED": "now(), NULL, NULL",
        "CANCELLED": "NULL, now(), NULL",
        "EXPIRED": "NULL, NULL, now()",
    }[status]
    sql(
        app,
        f"""
        WITH b AS (
            INSERT INTO bookings (id, show_id, status, token_hash, email, hold_expires_at,
                                  confirmed_at, cancelled_at, expired_at)
            VALUES (:id, :show_id, :status, :token_hash, 'old@example.com',
                    now() + interval '1 hour', {stamps})
            RETURNING id
        ), held AS (
            UPDATE seats SET status = :seat_status,
                             booking_id = CASE WHEN :seat_status = 'AVAILABLE' THEN NULL ELSE :id END,
                             hold_expires_at = CASE WHEN :seat_status = 'HELD'
                                                    THEN now() + interval '1 hour' END
            WHERE show_id = :show_id AND label = ANY(:labels)
            RETURNING id, label
        )
        INSERT INTO booking_seats (booking_id, seat_id, label, booking_status)
        SELECT :id, s.id, s.label, :status FROM seats s
        WHERE s.show_id = :show_id AND s.label = ANY(:labels)
        """,
        id=booking_id,
        show_id=show_id,
        status=status,
        seat_status=seat_status,
        labels=labels,
        token_hash=hash_token(token),
    )
    return booking_id


def snapshot(app: Flask) -> dict[str, Any]:
    return {
        "bookings": sql(
            app,
            "SELECT id, show_id, status, email, hold_expires_at, confirmed_at, cancelled_at, expired_at "
            "FROM bookings ORDER BY id",
        ),
        "booking_seats": sql(
            app, "SELECT booking_id, seat_id, label, booking_status FROM booking_seats ORDER BY 1, 2"
        ),
        "seats": sql(
            app, "SELECT id, show_id, label, status, booking_id, hold_expires_at FROM seats ORDER BY id"
        ),
        "outbox": sql(app, "SELECT id, booking_id, status FROM outbox ORDER BY id"),
    }


def test_migration_keeps_every_booking_and_makes_rectangles_into_layouts(old_app):
    app = old_app
    sql(
        app,
        """
        INSERT INTO shows (title, starts_at, auditorium, rows, seats_per_row) VALUES
            ('Old One', now() + interval '1 day', 'Screen 1', 3, 4),
            ('Old Two', now() + interval '2 days', NULL, 2, 5);
        INSERT INTO seats (show_id, row, number)
        SELECT sh.id, chr(64 + r), n FROM shows sh,
               LATERAL generate_series(1, sh.rows) r, LATERAL generate_series(1, sh.seats_per_row) n
        ORDER BY sh.id, r, n
        """,
    )
    one, two = (row.id for row in sql(app, "SELECT id FROM shows ORDER BY id"))
    pending = old_booking(app, one, ["A1", "A2"], "PENDING", "pending-token")
    confirmed = old_booking(app, one, ["B3"], "CONFIRMED", "confirmed-token")
    old_booking(app, one, ["C1"], "CANCELLED", "cancelled-token")
    old_booking(app, two, ["A5"], "EXPIRED", "expired-token")
    sql(app, "INSERT INTO outbox (booking_id, kind) VALUES (:id, 'booking_confirmed')", id=confirmed)
    before = snapshot(app)

    with app.app_context():
        upgrade(directory=MIGRATIONS)

    assert snapshot(app) == before  # not a booking, seat or record lost or changed
    shows = sql(
        app, "SELECT id, layout, prices, currency, auditorium_id, rows, seats_per_row FROM shows ORDER BY id"
    )
    assert [(s.layout, s.prices, s.currency, s.auditorium_id) for s in shows] == [
        (["ssss", "ssss", "ssss"], None, None, None),
        (["sssss", "sssss"], None, None, None),
    ]
    seats = sql(app, "SELECT number, col, kind, price FROM seats")
    assert all(s.col == s.number and s.kind == "standard" and s.price is None for s in seats)
    totals = sql(app, "SELECT total, currency FROM bookings")
    assert {(t.total, t.currency) for t in totals} == {(None, None)}

    # The migrated show serves as before: the old hold confirms, the API reads
    # the new shapes, new holds work, and the database still refuses a double booking.
    client = app.test_client()
    confirm = client.post(
        f"/api/bookings/{pending}/confirm", headers={"Authorization": "Bearer pending-token"}
    )
    assert confirm.status_code == 200, confirm.get_json()
    assert (confirm.get_json()["status"], confirm.get_json()["total"]) == ("CONFIRMED", None)
    show = client.get(f"/api/shows/{one}").get_json()
    assert show["layout"] == ["ssss", "ssss", "ssss"]
    assert show["stats"] == {"total": 12, "available": 9, "held": 0, "booked": 3, "checked_in": 0}
    seat = client.get(f"/api/shows/{one}/seats").get_json()["seats"][0]
    assert (seat["seat"], seat["column"], seat["kind"], seat["price"], seat["status"]) == (
        "A1",
        1,
        "standard",
        None,
        "BOOKED",
    )
    held = client.post("/api/bookings", json={"show_id": one, "seats": ["C1", "C2"]})
    assert held.status_code == 201, held.get_json()
    assert client.post("/api/bookings", json={"show_id": one, "seats": ["B3"]}).status_code == 409


def test_migration_downgrades_and_upgrades_again(old_app):
    app = old_app
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        downgrade(directory=MIGRATIONS, revision="0002")
        upgrade(directory=MIGRATIONS)
    assert sql(app, "SELECT count(*) FROM auditoriums")[0][0] == 0


def test_bookings_confirmed_before_tickets_get_theirs(old_app):
    """Migration 0007: a booking confirmed before tickets existed gets one per seat; the door admits it."""
    app = old_app
    sql(
        app,
        """
        INSERT INTO shows (title, starts_at, auditorium, rows, seats_per_row)
        VALUES ('Old Three', now() + interval '1 day', NULL, 2, 3);
        INSERT INTO seats (show_id, row, number)
        SELECT sh.id, chr(64 + r), n FROM shows sh,
               LATERAL generate_series(1, sh.rows) r, LATERAL generate_series(1, sh.seats_per_row) n
        ORDER BY sh.id, r, n
        """,
    )
    [show] = [row.id for row in sql(app, "SELECT id FROM shows")]
    confirmed = old_booking(app, show, ["A1", "A2"], "CONFIRMED", "confirmed-token")
    for labels, status in ((["A3"], "PENDING"), (["B1"], "CANCELLED"), (["B2"], "EXPIRED")):
        old_booking(app, show, labels, status, f"{status.lower()}-token")

    with app.app_context():
        upgrade(directory=MIGRATIONS)

    tickets = sql(app, "SELECT booking_id, show_id, label, code FROM tickets ORDER BY label")
    assert [(t.booking_id, t.show_id, t.label) for t in tickets] == [
        (confirmed, show, "A1"),
        (confirmed, show, "A2"),
    ]
    assert len({t.code for t in tickets}) == 2 and all(len(t.code) == 32 for t in tickets)

    client = app.test_client()
    booking = client.get(f"/api/bookings/{confirmed}", headers={"Authorization": "Bearer confirmed-token"})
    assert [(t["seat"], t["code"]) for t in booking.get_json()["tickets"]] == [
        (t.label, t.code) for t in tickets
    ]
    admitted = client.post(
        "/api/checkins", json={"code": tickets[0].code}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert (admitted.status_code, admitted.get_json()["seat"]) == (200, "A1")
