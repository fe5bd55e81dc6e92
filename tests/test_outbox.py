"""The confirmation outbox as the request paths write it (no worker involved)."""

from __future__ import annotations

from sqlalchemy import text

from webapp.extensions import db


def outbox_rows(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(text("SELECT booking_id::text, status FROM outbox")).all()
        return [tuple(row) for row in rows]


def hold(client, show_id, email=None):
    body = {"show_id": show_id, "seats": ["A1"], **({"email": email} if email else {})}
    response = client.post("/api/bookings", json=body)
    assert response.status_code == 201
    data = response.get_json()
    return data["booking"]["id"], {"Authorization": f"Bearer {data['token']}"}


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
