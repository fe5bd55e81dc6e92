"""The single-seat-gap rule: "no_single_seat_gaps" on shows, 409 single_seat_gap on holds."""

from __future__ import annotations

import pytest
from racing import fire_together
from support.api import assert_problem, contract_client, hold, hold_ok
from support.database import forget_taken_seats
from test_web_pages import page_of, words

from webapp.extensions import db


@pytest.fixture
def client(app):
    return contract_client(app)


def test_the_flag_defaults_to_false_and_is_in_the_show_json(client, make_show):
    assert make_show()["no_single_seat_gaps"] is False
    show = make_show(no_single_seat_gaps=True)
    assert show["no_single_seat_gaps"] is True
    assert client.get(f"/api/shows/{show['id']}").get_json()["no_single_seat_gaps"] is True


def test_the_flag_must_be_a_boolean(client, make_show, admin_headers):
    body = {"title": "T", "starts_at": "2099-01-01T20:00:00Z", "rows": 1, "seats_per_row": 3}
    response = client.post("/api/shows", json={**body, "no_single_seat_gaps": "yes"}, headers=admin_headers)
    assert "no_single_seat_gaps" in assert_problem(response, 422, "validation_error")["errors"]


def test_a_hold_that_strands_a_seat_is_refused_naming_it(client, make_show):
    show = make_show(rows=1, seats_per_row=6, no_single_seat_gaps=True)
    problem = assert_problem(hold(client, show["id"], ["A2"]), 409, "single_seat_gap")
    assert problem["seats"] == ["A1"]
    problem = assert_problem(hold(client, show["id"], ["A2", "A4"]), 409, "single_seat_gap")
    assert problem["seats"] == ["A1", "A3"]
    # Nothing was held by the refusals.
    assert {s["status"] for s in client.get(f"/api/shows/{show['id']}/seats").get_json()["seats"]} == {
        "AVAILABLE"
    }
    hold_ok(client, show["id"], ["A1", "A2"])
    hold_ok(client, show["id"], ["A5", "A6"])
    problem = assert_problem(hold(client, show["id"], ["A3"]), 409, "single_seat_gap")
    assert problem["seats"] == ["A4"]
    hold_ok(client, show["id"], ["A3", "A4"])


def test_gaps_and_row_ends_count_as_not_available_and_old_lone_seats_do_not_count(client, make_show):
    show = make_show(layout=["ss.sss", "s.sss"], no_single_seat_gaps=True)
    # A2 alone would sit between A1's hold and the aisle.
    assert assert_problem(hold(client, show["id"], ["A1"]), 409, "single_seat_gap")["seats"] == ["A2"]
    # A3 would sit between the aisle and a held A4, A5 between A4 and the row's end.
    assert assert_problem(hold(client, show["id"], ["A4"]), 409, "single_seat_gap")["seats"] == ["A3", "A5"]
    hold_ok(client, show["id"], ["A1", "A2"])
    hold_ok(client, show["id"], ["A3"])
    # B1 is alone from the start (a row end and an aisle): not this hold's doing.
    hold_ok(client, show["id"], ["B2", "B3", "B4"])


def test_shows_without_the_rule_allow_stranding(client, make_show):
    show = make_show(rows=1, seats_per_row=3)
    hold_ok(client, show["id"], ["A2"])


def test_best_available_on_a_rule_show_never_strands(client, make_show):
    show = make_show(rows=1, seats_per_row=3, no_single_seat_gaps=True)
    body = {"show_id": show["id"], "quantity": 2}
    # A1 A2 or A2 A3 would each leave one seat alone: no block qualifies.
    assert_problem(client.post("/api/bookings", json=body), 409, "no_adjacent_seats")
    held = client.post("/api/bookings", json={**body, "quantity": 3})
    assert held.status_code == 201


def test_the_check_is_made_under_row_locks_so_two_holds_cannot_together_strand(app, make_show, live_server):
    """A1..A5 on a rule show: A2 alone is fine, A4 alone is fine, both together strand A3.

    Fired at the same instant at a real gunicorn many times over: never are
    both held, and the loser is told single_seat_gap naming A3.
    """
    import requests

    show = make_show(rows=1, seats_per_row=5, no_single_seat_gaps=True)
    url = f"{live_server.url}/api/bookings"
    for _ in range(10):
        answers = fire_together(
            [
                lambda: requests.post(url, json={"show_id": show["id"], "seats": ["A1", "A2"]}, timeout=60),
                lambda: requests.post(url, json={"show_id": show["id"], "seats": ["A4", "A5"]}, timeout=60),
            ]
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409).json()
        assert refused["code"] == "single_seat_gap" and refused["seats"] == ["A3"]
        with app.app_context():
            db.session.execute(
                db.text(
                    "UPDATE bookings SET status = 'CANCELLED', cancelled_at = now() "
                    "WHERE show_id = :id AND status = 'PENDING'"
                ),
                {"id": show["id"]},
            )
            db.session.execute(
                db.text(
                    "UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, hold_expires_at = NULL "
                    "WHERE show_id = :id"
                ),
                {"id": show["id"]},
            )
            db.session.commit()
        # Freed by SQL, not by a cancel: the seats' taken markers (webapp/locks.py) go too.
        forget_taken_seats(app)


def test_the_page_highlights_the_seats_a_refused_hold_would_strand(app, make_show):
    visitor = app.test_client()
    show = make_show(rows=1, seats_per_row=6, no_single_seat_gaps=True)
    page = page_of(visitor.get(f"/shows/{show['id']}"))
    assert page.one("section", class_="seatmap-panel").get("data-no-single-seat-gaps") is not None
    assert words(page.one(id="gap-warning")) == ""
    response = visitor.post(f"/shows/{show['id']}/hold", data={"seats": ["A2"]})
    assert response.status_code == 409
    page = page_of(response)
    assert "seat--stranded" in page.seat("A1").classes
    assert "A1" in words(page.one(id="gap-warning"))
    assert page.one(id="gap-warning").get("aria-live") == "polite"
    assert page.seat("A2").get("aria-pressed") == "true"  # the selection is kept
