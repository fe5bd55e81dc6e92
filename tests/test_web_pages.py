"""The moviegoer and admin pages through Flask's test client (no JavaScript).

The browser tests in tests/browser cover what needs a real browser (live
updates, the countdown, keyboard use); these cover the server's side of the
same contract: hooks, the no-JavaScript flow, privacy, CSRF, headers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import ConfigOverrides
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from support.api import timestamp, wait_until_database_time
from support.database import lapse_hold

from webapp.extensions import db

ROOT = Path(__file__).resolve().parent.parent
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.text = ""

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())


class Page(HTMLParser):
    """Just enough of a DOM to find elements by attribute and read their text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag not in VOID_TAGS:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i].tag == tag:
                del self._open[i:]
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data

    def all(self, tag: str | None = None, **attrs: str | bool) -> list[Element]:
        found = []
        for element in self.elements:
            if tag is not None and element.tag != tag:
                continue
            ok = True
            for name, want in attrs.items():
                name = name.rstrip("_").replace("_", "-")  # class_ -> class, data_seat -> data-seat
                have = element.attrs.get(name)
                ok = ok and (name in element.attrs if want is True else have == want)
            if ok:
                found.append(element)
        return found

    def one(self, tag: str | None = None, **attrs: str | bool) -> Element:
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"expected one {tag} {attrs}, found {len(found)}"
        return found[0]

    def seat(self, label: str) -> Element:
        return self.one("button", data_seat=label)


def page_of(response) -> Page:
    assert response.mimetype == "text/html", response.mimetype
    return Page(response.get_data(as_text=True))


def words(element: Element) -> str:
    return " ".join(element.text.split())


def hold_via_api(client: FlaskClient, show_id: int, seats: list[str]) -> dict[str, Any]:
    response = client.post("/api/bookings", json={"show_id": show_id, "seats": seats})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def hold_via_page(client: FlaskClient, show_id: int, seats: list[str], email: str = "") -> Any:
    return client.post(f"/shows/{show_id}/hold", data={"seats": seats, "email": email})


def booking_id_from(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    match = re.fullmatch(r".*/bookings/([0-9a-f-]{36})", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def api_seat_status(client: FlaskClient, show_id: int) -> dict[str, str]:
    seats = client.get(f"/api/shows/{show_id}/seats").get_json()["seats"]
    return {seat["seat"]: seat["status"] for seat in seats}


@contextmanager
def configured(app: Flask, **settings: Any) -> Iterator[None]:
    """Change app settings for a block of one test (the app is shared by the session)."""
    overrides = ConfigOverrides(app)
    overrides.set(**settings)
    try:
        yield
    finally:
        overrides.restore()


@pytest.fixture
def visitor(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def other_visitor(app: Flask) -> FlaskClient:
    return app.test_client()


# --- the show list and the seat map ------------------------------------------------


def test_index_lists_upcoming_shows_linking_to_their_maps(visitor, make_show):
    late = make_show(title="Late Show", starts_at="2099-01-02T21:00:00+00:00")
    early = make_show(title="Early Show", rows=2, seats_per_row=5, auditorium="Hall 2")
    hold_via_api(visitor, early["id"], ["A1"])

    response = visitor.get("/")
    assert response.status_code == 200
    page = page_of(response)
    links = page.all("a", data_show_id=True)
    assert [link.get("data-show-id") for link in links] == [str(early["id"]), str(late["id"])]
    assert links[0].get("href") == f"/shows/{early['id']}"
    assert words(links[0]) == "Early Show"
    body = response.get_data(as_text=True)
    assert "9 of 10 seats free" in body  # a held seat is not free
    assert "12 of 12 seats free" in body
    assert "Hall 2" in body


def test_seat_map_has_every_seat_as_a_named_button_with_its_status(visitor, make_show):
    show = make_show(rows=3, seats_per_row=4)
    hold_via_api(visitor, show["id"], ["B2"])
    booked = hold_via_api(visitor, show["id"], ["C4"])
    visitor.post(
        f"/api/bookings/{booked['booking']['id']}/confirm",
        headers={"Authorization": f"Bearer {booked['token']}"},
    )

    response = visitor.get(f"/shows/{show['id']}")
    assert response.status_code == 200
    page = page_of(response)
    seats = page.all("button", data_seat=True)
    assert [s.get("data-seat") for s in seats] == [f"{r}{n}" for r in "ABC" for n in range(1, 5)]
    assert page.seat("A1").get("data-status") == "AVAILABLE"
    assert page.seat("A1").get("aria-label") == "Row A, seat 1, standard, available"
    assert page.seat("B2").get("data-status") == "HELD"
    assert page.seat("B2").get("aria-label") == "Row B, seat 2, standard, held"
    assert page.seat("C4").get("data-status") == "BOOKED"
    assert page.seat("C4").get("aria-label") == "Row C, seat 4, standard, booked"
    assert all(s.get("aria-pressed") == "false" for s in seats)
    assert all(s.get("type") == "submit" and s.get("form") == "seat-picker" for s in seats)
    # Row letters, a screen marker and a legend naming every state.
    assert [words(e) for e in page.all("span", class_="row-label")] == ["A", "A", "B", "B", "C", "C"]
    assert words(page.one(class_="screen")) == "Screen"
    assert words(page.one("ul", class_="legend")) == "Available Selected Held Booked"
    hold_button = page.one("button", id="hold-seats")
    assert "disabled" in hold_button.attrs
    # The live refresh polls the partial.
    live = page.one(id="seatmap")
    assert live.get("hx-get") == f"/shows/{show['id']}/seatmap"
    assert live.get("hx-trigger") == "every 1s"


def test_unknown_show_is_an_html_error_page_not_a_traceback(visitor):
    for path in ("/shows/999999", "/shows/abc", "/bookings/not-a-uuid", f"/bookings/{uuid.uuid4()}"):
        response = visitor.get(path)
        assert response.status_code == 404, path
        page = page_of(response)
        assert page.one("section", class_="error-page").get("data-error-code") in {
            "show_not_found",
            "booking_not_found",
        }
        assert "Traceback" not in response.get_data(as_text=True)


# --- picking and holding without JavaScript --------------------------------------


def test_without_javascript_a_seat_click_toggles_it_through_the_query_string(visitor, make_show):
    show = make_show(rows=2, seats_per_row=3)
    hold_via_api(visitor, show["id"], ["B3"])
    url = f"/shows/{show['id']}"

    page = page_of(visitor.get(url, query_string={"toggle": "A1"}))
    assert page.seat("A1").get("aria-pressed") == "true"
    assert [i.get("value") for i in page.all("input", name="selected")] == ["A1"]
    assert [i.get("value") for i in page.all("input", name="seats")] == ["A1"]

    page = page_of(visitor.get(url, query_string={"selected": "A1", "toggle": "A2"}))
    assert page.seat("A1").get("aria-pressed") == "true"
    assert page.seat("A2").get("aria-pressed") == "true"
    hold_button = page.one("button", id="hold-seats")
    assert "disabled" not in hold_button.attrs
    assert words(hold_button) == "Hold 2 seats"
    assert words(page.one(id="selected-count")) == "2"

    page = page_of(visitor.get(url, query_string=[("selected", "A1"), ("selected", "A2"), ("toggle", "A1")]))
    assert page.seat("A1").get("aria-pressed") == "false"
    assert page.seat("A2").get("aria-pressed") == "true"

    response = visitor.get(url, query_string={"selected": "A2", "toggle": "B3"})
    page = page_of(response)
    assert page.seat("B3").get("aria-pressed") == "false"
    assert "Seat B3 is held" in response.get_data(as_text=True)


def test_the_seat_limit_per_booking_is_enforced_visibly(app, visitor, make_show):
    show = make_show(rows=2, seats_per_row=3)
    with configured(app, MAX_SEATS_PER_BOOKING=2):
        response = visitor.get(f"/shows/{show['id']}", query_string={"selected": "A1,A2", "toggle": "A3"})
        page = page_of(response)
        assert page.seat("A3").get("aria-pressed") == "false"
        assert "at most 2 seats" in response.get_data(as_text=True)
        assert "hidden" not in page.one(id="selection-limit").attrs
        assert page.one("section", data_seat_picker=True).get("data-max-seats") == "2"
        refused = hold_via_page(visitor, show["id"], ["A1", "A2", "A3"])
        assert refused.status_code == 422
        assert "at most 2 seats" in refused.get_data(as_text=True)


def test_without_javascript_hold_confirm_and_cancel_work_through_plain_forms(app, visitor, make_show):
    show = make_show(rows=2, seats_per_row=3)
    response = hold_via_page(visitor, show["id"], ["A1", "A2"], email="ana@example.com")
    booking_id = booking_id_from(response)
    assert api_seat_status(visitor, show["id"])["A1"] == "HELD"

    page = page_of(visitor.get(f"/bookings/{booking_id}"))
    status = page.one(data_booking_status=True)
    assert status.get("data-booking-status") == "PENDING"
    assert words(status) == "PENDING"
    countdown = page.one(id="countdown")
    assert 0 < int(words(countdown)) <= 10  # HOLD_SECONDS is 10 under APP_ENV=test
    assert 0 < int(countdown.get("data-ms-left")) <= 10_000
    assert page.one("button", id="confirm-booking").get("type") == "submit"
    assert page.one("button", id="cancel-booking").get("type") == "submit"
    assert "A1, A2" in words(page.one("dd", class_="facts__seats"))
    with app.app_context(), db.engine.connect() as conn:
        email = conn.execute(text("SELECT email FROM bookings WHERE id = :id"), {"id": booking_id}).scalar()
    assert email == "ana@example.com"

    confirmed = visitor.post(f"/bookings/{booking_id}/confirm")
    assert confirmed.status_code == 303
    assert confirmed.headers["Location"].endswith(f"/bookings/{booking_id}")
    response = visitor.get(f"/bookings/{booking_id}")
    page = page_of(response)
    assert page.one(data_booking_status=True).get("data-booking-status") == "CONFIRMED"
    assert "Booked: A1, A2" in response.get_data(as_text=True)
    assert page.all(id="confirm-booking") == []
    assert api_seat_status(visitor, show["id"])["A2"] == "BOOKED"

    assert visitor.post(f"/bookings/{booking_id}/cancel").status_code == 303
    page = page_of(visitor.get(f"/bookings/{booking_id}"))
    assert page.one(data_booking_status=True).get("data-booking-status") == "CANCELLED"
    assert page.all(id="cancel-booking") == []
    assert api_seat_status(visitor, show["id"])["A1"] == "AVAILABLE"

    listing = page_of(visitor.get("/bookings"))
    links = [a.get("href") for a in listing.all("a", class_="booking-list__link")]
    assert links == [f"/bookings/{booking_id}"]


def test_a_conflict_stays_on_the_map_naming_and_highlighting_the_taken_seat(
    visitor, other_visitor, make_show
):
    show = make_show(rows=2, seats_per_row=3)
    booking_id_from(hold_via_page(visitor, show["id"], ["A1"]))

    response = hold_via_page(other_visitor, show["id"], ["A1", "A2"], email="bo@example.com")
    assert response.status_code == 409
    page = page_of(response)
    message = words(page.one(id="map-message"))
    assert "A1" in message and "just taken" in message
    assert "seat--conflict" in page.seat("A1").classes
    assert page.seat("A1").get("data-status") == "HELD"
    assert page.seat("A2").get("aria-pressed") == "true"  # the rest of the pick survives
    assert [i.get("value") for i in page.all("input", name="seats")] == ["A2"]
    assert page.one("input", id="email").get("value") == "bo@example.com"
    # The live refresh keeps the highlight.
    assert page.one(id="seatmap").get("hx-get") == f"/shows/{show['id']}/seatmap?taken=A1"


def test_holding_nothing_or_past_the_per_visitor_limit_explains_on_the_map(app, visitor, make_show):
    show = make_show(rows=3, seats_per_row=4)
    empty = hold_via_page(visitor, show["id"], [])
    assert empty.status_code == 422
    assert "Pick at least one seat" in empty.get_data(as_text=True)

    bad_email = hold_via_page(visitor, show["id"], ["A1"], email="not-an-address")
    assert bad_email.status_code == 422
    assert page_of(bad_email).one(id="email-error")

    with configured(app, MAX_HELD_SEATS_PER_VISITOR=2):
        booking_id_from(hold_via_page(visitor, show["id"], ["A1", "A2"]))
        response = hold_via_page(visitor, show["id"], ["B1"])
        assert response.status_code == 429
        assert "at most 2 may be held at once" in response.get_data(as_text=True)
        assert page_of(response).seat("B1").get("aria-pressed") == "true"
        # Someone else (another browser, at another address) is not limited by this visitor's holds.
        someone_else = app.test_client()
        someone_else.environ_base["REMOTE_ADDR"] = "10.0.0.9"
        booking_id_from(hold_via_page(someone_else, show["id"], ["B1"]))


# --- the booking page --------------------------------------------------------------


def test_a_lapsed_hold_shows_expired_and_cannot_be_confirmed(app, visitor, make_show):
    show = make_show()
    booking_id = booking_id_from(hold_via_page(visitor, show["id"], ["A1"]))
    lapse_hold(app, booking_id, ago="1 second")

    page = page_of(visitor.get(f"/bookings/{booking_id}"))
    assert page.one(data_booking_status=True).get("data-booking-status") == "EXPIRED"
    assert words(page.one(id="countdown")) == "expired"
    assert page.all(id="confirm-booking") == []

    panel = page_of(visitor.get(f"/bookings/{booking_id}/panel"))
    assert panel.one("section", id="booking-panel").get("hx-trigger") == "hold-lapsed"
    assert panel.one(data_booking_status=True).get("data-booking-status") == "EXPIRED"

    # A confirm sent from a page opened before the hold lapsed.
    response = visitor.post(f"/bookings/{booking_id}/confirm", follow_redirects=True)
    assert response.status_code == 200
    assert "lapsed" in response.get_data(as_text=True)
    with app.app_context(), db.engine.connect() as conn:
        stored = conn.execute(text("SELECT status FROM bookings WHERE id = :id"), {"id": booking_id}).scalar()
    assert stored == "EXPIRED"  # the expiry the confirm found was committed


def test_only_the_visitor_who_made_a_booking_can_see_or_act_on_it(visitor, other_visitor, make_show):
    show = make_show()
    booking_id = booking_id_from(hold_via_page(visitor, show["id"], ["A1"]))

    for response in (
        other_visitor.get(f"/bookings/{booking_id}"),
        other_visitor.get(f"/bookings/{booking_id}/panel"),
        other_visitor.post(f"/bookings/{booking_id}/confirm"),
        other_visitor.post(f"/bookings/{booking_id}/cancel"),
    ):
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert "data-booking-status" not in body and "confirm-booking" not in body
    assert page_of(other_visitor.get("/bookings")).all("a", class_="booking-list__link") == []
    page = page_of(visitor.get(f"/bookings/{booking_id}"))
    assert page.one(data_booking_status=True).get("data-booking-status") == "PENDING"


def test_a_forged_session_cookie_is_not_accepted(app, visitor, make_show):
    show = make_show()
    booking_id = booking_id_from(hold_via_page(visitor, show["id"], ["A1"]))
    intruder = app.test_client()
    # A cookie signed with another key, claiming the booking with a made-up token.
    from flask.sessions import SecureCookieSessionInterface

    other = Flask("other")
    other.secret_key = "not-the-secret"
    serializer = SecureCookieSessionInterface().get_signing_serializer(other)
    forged = serializer.dumps({"bookings": {booking_id: "made-up"}})
    intruder.set_cookie("session", forged)
    assert intruder.get(f"/bookings/{booking_id}").status_code == 404


# --- the live map partial -------------------------------------------------------------


def test_seatmap_partial_answers_304_until_a_seat_changes(app, visitor, make_show):
    show = make_show(rows=2, seats_per_row=2)
    url = f"/shows/{show['id']}/seatmap"
    first = visitor.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"
    assert len(page_of(first).all("button", data_seat=True)) == 4
    assert "<html" not in first.get_data(as_text=True)  # a fragment, not a page

    again = visitor.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""

    with configured(app, HOLD_SECONDS=1):
        held = hold_via_api(visitor, show["id"], ["A2"])
    changed = visitor.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert page_of(changed).seat("A2").get("data-status") == "HELD"
    assert visitor.get(url, headers={"If-None-Match": changed.headers["ETag"]}).status_code == 304

    # A hold that runs out frees its seat by time alone: nothing writes, yet
    # the tag changes (no cached answer outlives the hold it saw) and the map
    # shows the seat available again: once the database's clock says so (with
    # a little room for the cache's TTL rounding), well before the 2 s cap.
    lapsed_at = timestamp(held["booking"]["hold_expires_at"])
    wait_until_database_time(app, lapsed_at + timedelta(milliseconds=250))
    lapsed = visitor.get(url, headers={"If-None-Match": changed.headers["ETag"]})
    assert lapsed.status_code == 200
    assert page_of(lapsed).seat("A2").get("data-status") == "AVAILABLE"


def test_the_full_page_carries_the_etag_of_the_partial_it_polls(visitor, make_show):
    show = make_show(rows=2, seats_per_row=2)
    page = page_of(visitor.get(f"/shows/{show['id']}", query_string={"selected": "A1"}))
    etag = page.one(id="seatmap").get("data-etag")
    # The page rendered the selection, but the tag is that of the map without
    # it (what polls fetch): the first poll is a 304.
    response = visitor.get(f"/shows/{show['id']}/seatmap", headers={"If-None-Match": f'"{etag}"'})
    assert response.status_code == 304


# --- admin --------------------------------------------------------------------------


def sign_in(client: FlaskClient, token: str = "test-admin-token") -> Any:
    return client.post("/admin/sign-in", data={"token": token})


def test_admin_is_disabled_with_a_clear_message_without_admin_token(app, visitor):
    with configured(app, ADMIN_TOKEN=None):
        response = visitor.get("/admin")
        assert response.status_code == 403
        assert "ADMIN_TOKEN" in response.get_data(as_text=True)
        assert page_of(response).one(data_admin_disabled=True)
        assert sign_in(visitor).status_code == 403


def test_admin_sign_in_needs_the_token_and_sign_out_ends_it(visitor, make_show):
    make_show(title="Admin Sees This")
    page = page_of(visitor.get("/admin"))
    assert page.one("input", name="token").get("type") == "password"
    assert "Admin Sees This" not in visitor.get("/admin").get_data(as_text=True)
    assert visitor.get("/admin/shows/1").status_code == 200  # the sign-in form, not the bookings
    assert "admin-bookings" not in visitor.get("/admin/shows/1").get_data(as_text=True)

    wrong = sign_in(visitor, "wrong-token")
    assert wrong.status_code == 403
    assert "not the admin token" in wrong.get_data(as_text=True)

    assert sign_in(visitor).status_code == 303
    dashboard = visitor.get("/admin")
    assert "Admin Sees This" in dashboard.get_data(as_text=True)
    assert dashboard.headers["Cache-Control"] == "no-store"

    assert visitor.post("/admin/sign-out").status_code == 303
    assert "Admin Sees This" not in visitor.get("/admin").get_data(as_text=True)
    assert visitor.post("/admin/shows", data={"title": "x"}).status_code == 401


def test_admin_session_ends_when_the_admin_token_changes(app, visitor):
    assert sign_in(visitor).status_code == 303
    with configured(app, ADMIN_TOKEN="rotated-token"):
        assert page_of(visitor.get("/admin")).all("input", name="token")


def test_admin_creates_a_show_with_inline_validation_errors(visitor):
    sign_in(visitor)
    bad = visitor.post(
        "/admin/shows",
        data={"title": "  ", "starts_at": "2099-05-01T19:30", "timezone": "Mars/Olympus", "rows": "30"},
    )
    assert bad.status_code == 422
    page = page_of(bad)
    errors = {e.get("data-field-error"): words(e) for e in page.all(data_field_error=True)}
    assert errors["title"] == "Title is required"
    assert errors["rows"] == "Rows must be between 1 and 26"
    assert errors["seats_per_row"] == "Seats per row is required"
    assert "time zone" in errors["timezone"]
    assert page.one("input", name="rows").get("value") == "30"  # what was typed stays
    assert page.one("input", name="rows").get("aria-invalid") == "true"

    good = visitor.post(
        "/admin/shows",
        data={
            "title": "Premiere",
            "starts_at": "2099-05-01T19:30",
            "timezone": "Europe/Paris",
            "rows": "4",
            "seats_per_row": "6",
            "auditorium": "Hall 1",
        },
    )
    assert good.status_code == 303
    shows = visitor.get("/api/shows").get_json()["shows"]
    assert [(s["title"], s["starts_at"], s["rows"], s["seats_per_row"]) for s in shows] == [
        ("Premiere", "2099-05-01T17:30:00+00:00", 4, 6)
    ]
    dashboard = page_of(visitor.get("/admin"))
    row = dashboard.one("tr", data_admin_show_id=str(shows[0]["id"]))
    assert "Premiere" in words(row) and "24" in words(row)


def test_admin_lists_a_shows_bookings_with_a_status_filter(visitor, other_visitor, make_show):
    show = make_show()
    pending = booking_id_from(hold_via_page(other_visitor, show["id"], ["A1"]))
    by_api = hold_via_api(other_visitor, show["id"], ["B1"])
    confirmed = booking_id_from(hold_via_page(other_visitor, show["id"], ["A2", "A3"]))
    other_visitor.post(f"/bookings/{confirmed}/confirm")
    sign_in(visitor)

    page = page_of(visitor.get(f"/admin/shows/{show['id']}"))
    rows = page.all("tr", data_admin_booking_id=True)
    assert {(r.get("data-admin-booking-id"), r.get("data-status")) for r in rows} == {
        (pending, "PENDING"),
        (confirmed, "CONFIRMED"),
        (by_api["booking"]["id"], "PENDING"),
    }
    filtered = page_of(visitor.get(f"/admin/shows/{show['id']}", query_string={"status": "CONFIRMED"}))
    assert [r.get("data-admin-booking-id") for r in filtered.all("tr", data_admin_booking_id=True)] == [
        confirmed
    ]
    assert visitor.get(f"/admin/shows/{show['id']}", query_string={"status": "NOPE"}).status_code == 422
    body = visitor.get(f"/admin/shows/{show['id']}").get_data(as_text=True)
    assert by_api["token"] not in body  # tokens are never shown, not even to admins


# --- CSRF and security headers -----------------------------------------------------


def test_forms_are_rejected_without_a_csrf_token_when_csrf_is_on(app, visitor, make_show):
    show = make_show()
    with configured(app, WTF_CSRF_ENABLED=True):
        forged = hold_via_page(visitor, show["id"], ["A1"])
        assert forged.status_code == 400
        assert page_of(forged).one("section", class_="error-page").get("data-error-code") == "csrf_failed"
        assert sign_in(visitor).status_code == 400

        page = page_of(visitor.get(f"/shows/{show['id']}"))
        token = page.one("input", name="csrf_token").get("value")
        body_headers = page.one("body").get("hx-headers:inherited")
        assert json.loads(body_headers or "") == {"X-CSRFToken": token}
        response = visitor.post(f"/shows/{show['id']}/hold", data={"seats": ["A1"], "csrf_token": token})
        booking_id = booking_id_from(response)

        booking_page = page_of(visitor.get(f"/bookings/{booking_id}"))
        forms = [f for f in booking_page.all("form") if f.get("method") == "post"]
        assert len(forms) == 3  # confirm, cancel, and more time (extend)
        assert visitor.post(f"/bookings/{booking_id}/confirm").status_code == 400
        confirmed = visitor.post(f"/bookings/{booking_id}/confirm", headers={"X-CSRFToken": token})
        assert confirmed.status_code == 303
    # The API stays token-authenticated and CSRF-exempt.
    assert api_seat_status(visitor, show["id"])["A1"] == "BOOKED"


@pytest.mark.parametrize("path", ["/", "/shows/1", "/api/shows", "/static/app.js", "/no/such/page", "/admin"])
def test_every_response_carries_the_security_headers(visitor, make_show, path):
    make_show()
    response = visitor.get(path)
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite_lax(visitor, make_show):
    show = make_show()
    response = hold_via_page(visitor, show["id"], ["A1"])
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_pages_have_no_inline_script_or_style_and_load_htmx_locally(visitor, make_show):
    show = make_show()
    booking_id = booking_id_from(hold_via_page(visitor, show["id"], ["A1"]))
    visitor.post("/admin/sign-in", data={"token": "test-admin-token"})
    for path in ("/", f"/shows/{show['id']}", f"/bookings/{booking_id}", "/bookings", "/admin"):
        html = visitor.get(path).get_data(as_text=True)
        page = Page(html)
        scripts = page.all("script")
        assert scripts, path
        assert all(s.get("src") and s.text.strip() == "" for s in scripts), path
        assert not [e for e in page.elements if "style" in e.attrs], path
        assert not page.all("style"), path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
        for script in scripts:
            src = script.get("src") or ""
            assert src.startswith("/static/"), src
            assert visitor.get(src).status_code == 200, src
    htmx = [s.get("src") for s in Page(visitor.get("/").get_data(as_text=True)).all("script")]
    assert any(re.match(r"/static/vendor/htmx-\d+\.\d+\.\d+\.min\.js\?v=", src or "") for src in htmx)


def test_every_htmx_attribute_in_the_templates_is_explained_by_a_comment():
    for template in sorted((ROOT / "templates").rglob("*.html")):
        lines = template.read_text().splitlines()
        for number, line in enumerate(lines):
            if re.search(r"\shx-[a-z]", re.sub(r"\{#.*?#\}", "", line)):
                comment = lines[number - 1].strip() if number else ""
                assert comment.startswith("{#") and comment.endswith("#}"), f"{template.name}:{number + 1}"
