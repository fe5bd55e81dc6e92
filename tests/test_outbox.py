"""The confirmation outbox as the request paths write it (no worker involved)."""

from __future__ import annotations

from sqlalchemy import text
from support.api import bearer, hold_ok

from webapp.extensions import db


def outbox_rows(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(text("SELECT booking_id::text, status FROM outbox")).all()
        return [tuple(row) for row in rows]


def hold(client, show_id, email=None):
    """Hold seat A1; returns the booking id and its Authorization header."""
    held = hold_ok(client, show_id, ["A1"], email=email)
    return held["booking"]["id"], bearer(held["token"])


def test_confirm_owes_one_message_and_repeats_owe_nothing_more(app, client, make_show):
    booking_id, auth = hold(client, make_show()["id"], email="ana@example.com")
    for _ in range(3):
        assert client.post(f"/api/bookings/{booking_id}/confirm", headers=auth).status_code == 200
    assert outbox_rows(app) == [(booking_id, "PENDING")]


def test_booking_without_email_owes_nothing(app, client, make_show):
    booking_id, auth = hold(client, make_show()["id"])
    assert client.post(f"/api/bookings/{booking_id}/confirm", headers=auth).status_code == 200
    assert outbox_rows(app) == []


def test_cancel_before_delivery_withdraws_the_message(app, client, make_show):
    booking_id, auth = hold(client, make_show()["id"], email="ana@example.com")
    assert client.post(f"/api/bookings/{booking_id}/confirm", headers=auth).status_code == 200
    assert client.post(f"/api/bookings/{booking_id}/cancel", headers=auth).status_code == 200
    assert outbox_rows(app) == []
