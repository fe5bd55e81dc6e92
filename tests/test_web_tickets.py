"""The tickets page and the door page, through Flask's test client (issue 13).

The browser test (tests/browser/test_browser_tickets.py) drives the same pages
with htmx and a real gunicorn; here every answer is checked without JavaScript.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import ADMIN_TOKEN, ConfigOverrides
from flask import Flask
from flask.testing import FlaskClient

DOOR_TOKEN = "test-door-token"


@pytest.fixture
def visitor(app: Flask) -> FlaskClient:
    return app.test_client()


def book(client: FlaskClient, show_id: int, seats: list[str]) -> str:
    """Hold and confirm through the pages; returns the booking id."""
    held = client.post(f"/shows/{show_id}/hold", data={"seats": seats, "email": ""})
    assert held.status_code == 303, held.get_data(as_text=True)[:500]
    booking_id = held.headers["Location"].rsplit("/", 1)[-1]
    assert client.post(f"/bookings/{booking_id}/confirm").status_code == 303
    return booking_id


def ticket_codes(html: str) -> list[str]:
    return re.findall(r'data-ticket-code="([^"]+)"', html)


def result_of(html: str) -> str:
    found = re.search(r'id="checkin-result"[^>]*data-result="([^"]*)"', html)
    assert found, html[:2000]
    return found.group(1)


def scan(client: FlaskClient, code: str, htmx: bool = False, **form: Any):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post("/admin/checkin", data={"code": code, **form}, headers=headers)


def test_the_tickets_page_has_one_qr_per_seat_for_its_visitor_only(app, visitor, make_show):
    show = make_show(title="Ticket Night", auditorium="Hall 2")
    booking_id = book(visitor, show["id"], ["A1", "A2"])
    booking_page = visitor.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert f'href="/bookings/{booking_id}/tickets"' in booking_page

    page = visitor.get(f"/bookings/{booking_id}/tickets")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    codes = ticket_codes(html)
    assert len(codes) == 2 and len(set(codes)) == 2
    assert html.count('<svg viewBox="0 0 ') == 2  # one QR code, drawn server-side, per ticket
    for expected in ("Ticket Night", "Hall 2", "A1", "A2", *codes):
        assert expected in html

    stranger = app.test_client()
    assert stranger.get(f"/bookings/{booking_id}/tickets").status_code == 404
    assert stranger.get("/bookings/not-a-uuid/tickets").status_code == 404


def test_a_pending_booking_has_no_tickets_yet(visitor, make_show):
    show = make_show()
    held = visitor.post(f"/shows/{show['id']}/hold", data={"seats": ["B1"], "email": ""})
    booking_id = held.headers["Location"].rsplit("/", 1)[-1]
    html = visitor.get(f"/bookings/{booking_id}/tickets").get_data(as_text=True)
    assert ticket_codes(html) == []
    assert "Confirm the booking first" in html


def test_the_door_page_needs_a_door_or_admin_sign_in(app, visitor, app_config: ConfigOverrides):
    app_config.set(CHECKIN_TOKEN=DOOR_TOKEN)
    page = visitor.get("/admin/checkin")
    assert 'id="checkin-sign-in"' in page.get_data(as_text=True)
    assert scan(visitor, "x" * 32).status_code == 401
    wrong = visitor.post("/admin/checkin/sign-in", data={"token": "nope"})
    assert wrong.status_code == 403

    assert visitor.post("/admin/checkin/sign-in", data={"token": DOOR_TOKEN}).status_code == 303
    door = visitor.get("/admin/checkin")
    html = door.get_data(as_text=True)
    assert 'id="checkin-code"' in html and "autofocus" in html
    assert door.headers["Permissions-Policy"].startswith("camera=(self)")
    # The door token opens the door page and nothing else of /admin.
    assert "admin-sign-in" in visitor.get("/admin").get_data(as_text=True)
    assert visitor.post("/admin/shows", data={"title": "x"}).status_code == 401
    # Rotating the token signs the door out.
    app_config.set(CHECKIN_TOKEN="rotated")
    assert 'id="checkin-sign-in"' in visitor.get("/admin/checkin").get_data(as_text=True)

    admin = app.test_client()
    assert admin.post("/admin/checkin/sign-in", data={"token": ADMIN_TOKEN}).status_code == 303
    assert 'id="checkin-code"' in admin.get("/admin/checkin").get_data(as_text=True)
    assert "admin-sign-in" not in admin.get("/admin").get_data(as_text=True)

    app_config.set(CHECKIN_TOKEN=None, ADMIN_TOKEN=None)
    assert visitor.get("/admin/checkin").status_code == 403


def test_the_door_admits_once_and_says_why_it_refuses(app, visitor, make_show, app_config):
    app_config.set(CHECKIN_TOKEN=DOOR_TOKEN)
    show = make_show(title="Door Night")
    other = make_show(title="Other Night")
    booking_id = book(visitor, show["id"], ["A1", "A2"])
    code, second = ticket_codes(visitor.get(f"/bookings/{booking_id}/tickets").get_data(as_text=True))
    door = app.test_client()
    door.post("/admin/checkin/sign-in", data={"token": DOOR_TOKEN})

    # Without JavaScript: the whole page, with the answer and the counts for the show.
    first = scan(door, code, show_id=str(show["id"]))
    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert result_of(html) == "admitted"
    assert "ADMITTED" in html and "Door Night" in html and "A1" in html
    assert re.search(r'data-admitted="1" data-sold="2"', html)
    assert re.search(r'<input id="checkin-code"[^>]*\bvalue=', html) is None  # empty for the next scan

    # With htmx: only the partial.
    again = scan(door, code, htmx=True)
    partial = again.get_data(as_text=True)
    assert result_of(partial) == "already_checked_in"
    assert "ALREADY USED" in partial and "<html" not in partial and "data-checked-in-at" in partial

    assert result_of(scan(door, "Z" * 32, htmx=True).get_data(as_text=True)) == "ticket_not_found"
    assert result_of(scan(door, "", htmx=True).get_data(as_text=True)) == "ticket_not_found"
    wrong = scan(door, second, htmx=True, show_id=str(other["id"])).get_data(as_text=True)
    assert result_of(wrong) == "wrong_show" and "WRONG SHOW" in wrong

    void_id = book(visitor, show["id"], ["B1"])
    [void_code] = ticket_codes(visitor.get(f"/bookings/{void_id}/tickets").get_data(as_text=True))
    assert visitor.post(f"/bookings/{void_id}/cancel").status_code == 303
    assert result_of(scan(door, void_code, htmx=True).get_data(as_text=True)) == "ticket_void"

    # The booking page no longer offers to cancel a booking someone is already in with.
    assert 'id="cancel-booking"' not in visitor.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert visitor.post(f"/bookings/{booking_id}/cancel").status_code == 303
    assert "checked in at the door" in visitor.get(f"/bookings/{booking_id}").get_data(as_text=True)


def test_the_admin_show_page_counts_check_ins(app, visitor, make_show, admin_headers):
    show = make_show()
    booking_id = book(visitor, show["id"], ["A1"])
    [code] = ticket_codes(visitor.get(f"/bookings/{booking_id}/tickets").get_data(as_text=True))
    admin = app.test_client()
    admin.post("/admin/sign-in", data={"token": ADMIN_TOKEN})
    before = admin.get(f"/admin/shows/{show['id']}").get_data(as_text=True)
    assert 'data-checked-in="0"' in before
    assert admin.post("/api/checkins", json={"code": code}, headers=admin_headers).status_code == 200
    assert 'data-checked-in="1"' in admin.get(f"/admin/shows/{show['id']}").get_data(as_text=True)
