"""Extending a hold: POST /api/bookings/{id}/extend, "extensions_left", and the page's #extend-hold."""

from __future__ import annotations

import pytest
from support.api import (
    assert_problem,
    bearer,
    contract_client,
    hold_ok,
    seat_statuses,
    stored_booking,
    timestamp,
)
from support.database import lapse_hold
from test_web_pages import booking_id_from, hold_via_page, page_of

from webapp import create_app
from webapp.extensions import db


@pytest.fixture
def client(app):
    return contract_client(app)


def extend(client, held: dict):
    return client.post(f"/api/bookings/{held['booking']['id']}/extend", headers=bearer(held["token"]))


def seat_expiries(app, booking_id: str) -> set:
    with app.app_context():
        rows = db.session.execute(
            db.text("SELECT hold_expires_at FROM seats WHERE booking_id = :id"), {"id": booking_id}
        ).all()
        db.session.rollback()
    return {row.hold_expires_at for row in rows}


def test_extend_sets_a_new_expiry_on_the_booking_and_its_seats_once(app, client, make_show):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1", "A2"])
    assert held["booking"]["extensions_left"] == 1
    before = timestamp(held["booking"]["hold_expires_at"])
    response = extend(client, held)
    assert response.status_code == 200
    booking = response.get_json()
    assert booking["status"] == "PENDING"
    assert booking["extensions_left"] == 0
    after = timestamp(booking["hold_expires_at"])
    assert after > before
    assert seat_expiries(app, booking["id"]) == {after}
    seats = client.get(f"/api/shows/{show['id']}/seats").get_json()["seats"]
    assert {timestamp(s["hold_expires_at"]) for s in seats if s["seat"] in ("A1", "A2")} == {after}
    read = client.get(f"/api/bookings/{booking['id']}", headers=bearer(held["token"])).get_json()
    assert read["extensions_left"] == 0
    problem = assert_problem(extend(client, held), 409, "extension_limit")
    assert "extended" in problem["detail"]


@pytest.mark.parametrize("allowed", [0, 2])
def test_max_hold_extensions_is_configurable(app, make_show, allowed):
    # Another app on the same database, configured differently.
    other = create_app({**{k: app.config[k] for k in _SHARED}, "MAX_HOLD_EXTENSIONS": allowed})
    client = contract_client(other)
    try:
        show = make_show()
        held = hold_ok(client, show["id"], ["A1"])
        assert held["booking"]["extensions_left"] == allowed
        for left in reversed(range(allowed)):
            assert extend(client, held).get_json()["extensions_left"] == left
        assert_problem(extend(client, held), 409, "extension_limit")
    finally:
        with other.app_context():
            db.engine.dispose()


_SHARED = (
    "SQLALCHEMY_DATABASE_URI",
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "RQ_QUEUE",
    "ADMIN_TOKEN",
    "SECRET_KEY",
    "MAILBOX_DIR",
    "TESTING",
    "APP_ENV",
    "WTF_CSRF_ENABLED",
)


def test_a_lapsed_hold_is_expired_and_409_hold_expired(app, client, make_show):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1"])
    lapse_hold(app, held["booking"]["id"])
    assert_problem(extend(client, held), 409, "hold_expired")
    assert stored_booking(app, held["booking"]["id"]).status == "EXPIRED"  # written, like confirm does
    assert seat_statuses(client, show["id"])["A1"] == "AVAILABLE"
    assert_problem(extend(client, held), 409, "hold_expired")


def test_confirmed_or_cancelled_is_409_booking_not_pending(client, make_show):
    show = make_show()
    confirmed = hold_ok(client, show["id"], ["A1"])
    url = f"/api/bookings/{confirmed['booking']['id']}/confirm"
    assert client.post(url, headers=bearer(confirmed["token"])).status_code == 200
    assert_problem(extend(client, confirmed), 409, "booking_not_pending")
    cancelled = hold_ok(client, show["id"], ["A2"])
    client.post(f"/api/bookings/{cancelled['booking']['id']}/cancel", headers=bearer(cancelled["token"]))
    assert_problem(extend(client, cancelled), 409, "booking_not_pending")
    booking = client.get(f"/api/bookings/{cancelled['booking']['id']}", headers=bearer(cancelled["token"]))
    assert booking.get_json()["extensions_left"] == 0


def test_the_token_is_required(client, make_show):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1"])
    url = f"/api/bookings/{held['booking']['id']}/extend"
    assert_problem(client.post(url), 401, "authentication_required")
    assert_problem(client.post(url, headers=bearer("wrong")), 403, "forbidden")
    assert_problem(client.post("/api/bookings/nope/extend", headers=bearer("x")), 404, "booking_not_found")


# --- the page ---------------------------------------------------------------------------


def test_the_booking_page_offers_more_time_once(app, make_show):
    visitor = app.test_client()
    show = make_show()
    booking_id = booking_id_from(hold_via_page(visitor, show["id"], ["A1"]))
    page = page_of(visitor.get(f"/bookings/{booking_id}"))
    button = page.one("button", id="extend-hold")
    form = page.one("form", id="extend-form")
    assert form.get("action") == f"/bookings/{booking_id}/extend"
    assert form.get("hx-target") == "#booking-panel"
    assert button.get("type") == "submit"

    # Without JavaScript: a plain POST and a redirect back, the button gone.
    response = visitor.post(f"/bookings/{booking_id}/extend")
    assert response.status_code == 303
    shown = visitor.get(f"/bookings/{booking_id}")
    assert "Extended: you have more time to confirm." in shown.get_data(as_text=True)
    assert page_of(shown).all(id="extend-hold") == []

    # With htmx: the panel comes back, saying why nothing changed.
    panel = visitor.post(f"/bookings/{booking_id}/extend", headers={"HX-Request": "true"})
    assert panel.status_code == 200
    fragment = page_of(panel)
    assert fragment.one("section", id="booking-panel")
    assert "extended as often as allowed" in fragment.one(id="panel-notice").text
