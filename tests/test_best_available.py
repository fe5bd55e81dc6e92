"""Best available: POST /api/bookings with "quantity" (and "kind"), and the page's #best-available."""

from __future__ import annotations

from collections import Counter

import pytest
from support.api import (
    assert_booking_shape,
    assert_problem,
    contract_client,
    hold_ok,
    start_show,
)
from support.database import lapse_hold
from test_web_pages import booking_id_from, page_of, words

from webapp.extensions import db
from webapp.seatchoice import ranked_blocks
from webapp.seatgaps import Spot


@pytest.fixture
def client(app):
    """Every response in this module is also held to the OpenAPI document."""
    return contract_client(app)


def best(client, show_id: int, quantity, **fields):
    return client.post("/api/bookings", json={"show_id": show_id, "quantity": quantity, **fields})


def best_ok(client, show_id: int, quantity: int, **fields) -> dict:
    response = client.post("/api/bookings", json={"show_id": show_id, "quantity": quantity, **fields})
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()["booking"]
    assert_booking_shape(booking)
    return response.get_json()


def test_two_seats_on_an_empty_10_by_12_show_are_g6_and_g7(client, make_show):
    show = make_show(rows=10, seats_per_row=12)
    held = best_ok(client, show["id"], 2)
    assert held["booking"]["seats"] == ["G6", "G7"]
    assert held["booking"]["status"] == "PENDING"
    assert held["booking"]["extensions_left"] == 1
    # The next pair sits beside them without stranding a seat, still in row G.
    assert best_ok(client, show["id"], 2)["booking"]["seats"] in (["G4", "G5"], ["G8", "G9"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": 2, "seats": ["A1", "A2"]}, "quantity"),
        ({}, "seats"),
        ({"seats": ["A1"], "kind": "premium"}, "kind"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 11}, "quantity"),
        ({"quantity": "2"}, "quantity"),
        ({"quantity": 2, "kind": "companion"}, "kind"),
        ({"quantity": 2, "kind": "balcony"}, "kind"),
    ],
)
def test_exactly_one_of_seats_and_quantity_else_422(client, make_show, body, field):
    show = make_show()
    response = client.post("/api/bookings", json={"show_id": show["id"], **body})
    problem = assert_problem(response, 422, "validation_error")
    assert field in problem["errors"], problem


def test_kind_picks_only_that_kind_and_default_mixes_standard_and_premium(client, make_show):
    show = make_show(layout=["ssss", "sspp", "wcwc"])
    assert best_ok(client, show["id"], 1, kind="wheelchair")["booking"]["seats"] in (["C1"], ["C3"])
    assert best_ok(client, show["id"], 2, kind="premium")["booking"]["seats"] == ["B3", "B4"]
    # Row B (the target of 3 rows) has two standard seats left; four need row A.
    assert best_ok(client, show["id"], 4)["booking"]["seats"] == ["A1", "A2", "A3", "A4"]


def test_no_adjacent_block_is_409_no_adjacent_seats(client, make_show):
    show = make_show(layout=["ss.ss"])
    problem = assert_problem(best(client, show["id"], 3), 409, "no_adjacent_seats")
    assert "3 adjacent" in problem["detail"]
    assert_problem(best(client, show["id"], 2, kind="wheelchair"), 409, "no_adjacent_seats")


def test_lapsed_holds_count_as_available(app, client, make_show):
    show = make_show(rows=1, seats_per_row=2)
    lapsing = hold_ok(client, show["id"], ["A1", "A2"])
    assert_problem(best(client, show["id"], 2), 409, "no_adjacent_seats")
    lapse_hold(app, lapsing["booking"]["id"])
    assert best_ok(client, show["id"], 2)["booking"]["seats"] == ["A1", "A2"]


def test_prefers_a_block_that_strands_nobody(client, make_show):
    show = make_show(rows=1, seats_per_row=8)
    hold_ok(client, show["id"], ["A4"])
    # A2 A3 is as near the centre but would leave A1 alone.
    assert best_ok(client, show["id"], 2)["booking"]["seats"] == ["A5", "A6"]


def test_unknown_or_started_show(app, client, make_show):
    assert_problem(best(client, 999, 2), 404, "show_not_found")
    show = make_show()
    start_show(app, show["id"])
    assert_problem(best(client, show["id"], 2), 409, "show_started")


def test_the_visitor_limit_applies(client, make_show, app_config):
    app_config.set(MAX_HELD_SEATS_PER_VISITOR=3)
    show = make_show(rows=4, seats_per_row=6)
    best_ok(client, show["id"], 2)
    problem = assert_problem(best(client, show["id"], 2), 429, "too_many_holds")
    assert problem["held"] == 2


def test_idempotency_key_replays_and_refuses_another_body(client, make_show):
    show = make_show(rows=4, seats_per_row=6)
    key = {"Idempotency-Key": "best-available-key-1"}
    body = {"show_id": show["id"], "quantity": 2}
    first = client.post("/api/bookings", json=body, headers=key)
    again = client.post("/api/bookings", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    other = client.post("/api/bookings", json={**body, "quantity": 3}, headers=key)
    assert_problem(other, 422, "idempotency_key_reused")
    by_label = client.post("/api/bookings", json={"show_id": show["id"], "seats": ["A1"]}, headers=key)
    assert_problem(by_label, 422, "idempotency_key_reused")


def test_a_block_a_racer_is_holding_is_skipped_for_another(app, client, make_show):
    show = make_show(rows=10, seats_per_row=12)
    with app.app_context():
        locker = app.extensions["seat_locker"]
        lock = locker.acquire(show["id"], ["G6", "G7"])  # a racer mid-hold of the best pair
        try:
            held = best_ok(client, show["id"], 2)
        finally:
            locker.release(lock)
    seats = held["booking"]["seats"]
    assert seats != ["G6", "G7"] and not {"G6", "G7"} & set(seats)
    assert seats[0][0] == seats[1][0] and int(seats[1][1:]) == int(seats[0][1:]) + 1


def test_ranking_agrees_with_the_service_on_a_real_show(app, client, make_show):
    """The service holds the first block the pure ranking gives for the same seats."""
    show = make_show(layout=["ss.ssss.ss", "ss.ssss.ss", "ss.pppp.ss", "ss.ssss.ss"])
    hold_ok(client, show["id"], ["C4", "C5"])
    with app.app_context():
        rows = db.session.execute(
            db.text(
                "SELECT label, row, col, kind, status = 'AVAILABLE' AS free FROM seats WHERE show_id = :id"
            ),
            {"id": show["id"]},
        ).all()
        db.session.rollback()
    spots = [Spot(r.label, r.row, r.col, r.free, r.kind) for r in rows]
    expected = ranked_blocks(spots, 2, rows=4, row_widths={r: 10 for r in "ABCD"})[0].labels
    assert tuple(best_ok(client, show["id"], 2)["booking"]["seats"]) == expected


# --- the page ---------------------------------------------------------------------------


def test_the_page_holds_the_best_seats_without_javascript(app, make_show):
    visitor = app.test_client()
    show = make_show(rows=10, seats_per_row=12)
    page = page_of(visitor.get(f"/shows/{show['id']}"))
    quantity = page.one("select", id="best-quantity")
    assert quantity.get("name") == "quantity"
    assert [o.get("value") for o in page.all("option")][:2] == ["1", "2"]
    button = page.one("button", id="best-available")
    assert button.get("formaction") == f"/shows/{show['id']}/best"
    response = visitor.post(f"/shows/{show['id']}/best", data={"quantity": "2", "email": ""})
    booking_id = booking_id_from(response)
    booking_page = page_of(visitor.get(f"/bookings/{booking_id}"))
    assert words(booking_page.one("dd", class_="facts__seats")) == "G6, G7"


def test_the_page_explains_when_no_block_is_left(app, make_show):
    visitor = app.test_client()
    show = make_show(layout=["ss.ss"])
    response = visitor.post(f"/shows/{show['id']}/best", data={"quantity": "3"})
    assert response.status_code == 409
    assert "no 3 adjacent seats" in words(page_of(response).one(id="map-message"))
    response = visitor.post(f"/shows/{show['id']}/best", data={"quantity": "zero"})
    assert response.status_code == 422


# --- racing at a real gunicorn ----------------------------------------------------------


def test_fifty_parallel_requests_for_two_seats_get_disjoint_adjacent_pairs(app, live_server, figures):
    """10 x 12 seats, 50 simultaneous best-available requests for 2: each gets its own pair.

    Every 201 is two adjacent seats of one row, no seat is in two answers, and
    a 409 is only no_adjacent_seats (none left) or, rarely, seats_unavailable
    (every attempt lost a race). The rows agree with every rule afterwards.
    """
    import requests
    from invariants import assert_api_matches_database, assert_seat_invariants, seat_holders
    from racing import HTTP_TIMEOUT_S, Api, fire_together

    api = Api(live_server.url)
    show_id = api.create_show(rows=10, seats_per_row=12)

    def request_pair():
        body = {"show_id": show_id, "quantity": 2}
        return requests.post(f"{live_server.url}/api/bookings", json=body, timeout=HTTP_TIMEOUT_S)

    responses = fire_together([request_pair] * 50)

    held = [r.json()["booking"] for r in responses if r.status_code == 201]
    refused = [r.json() for r in responses if r.status_code != 201]
    figures.record("pairs held by 50 racers", len(held))
    figures.record("refusals", dict(Counter(r["code"] for r in refused)))
    assert all(r["code"] in ("no_adjacent_seats", "seats_unavailable") for r in refused), refused
    assert len([r for r in refused if r["code"] == "seats_unavailable"]) <= 2, refused
    taken: list[str] = [label for booking in held for label in booking["seats"]]
    assert len(taken) == len(set(taken)), "a seat was handed out twice"
    for booking in held:
        first, second = booking["seats"]
        assert first[0] == second[0] and int(second[1:]) == int(first[1:]) + 1, booking["seats"]
    holders = seat_holders(app, show_id)
    for booking in held:
        assert {holders[label] for label in booking["seats"]} == {booking["id"]}
    # 10 rows of 12 take 5 non-stranding pairs each: 50 fit, and nearly all should be given.
    assert len(held) >= 45, (len(held), refused)
    if any(r["code"] == "no_adjacent_seats" for r in refused):  # then none was left, and none is now
        assert request_pair().json()["code"] == "no_adjacent_seats"
    assert_seat_invariants(app)
    assert_api_matches_database(app, api.get, api.admin_get, show_id)
