"""JSON API contract for seat plans (issue 11): auditoriums, layouts, kinds, prices, totals."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import (
    BOOKING_FIELDS,
    assert_problem,
    bearer,
    contract_client,
    hold,
    hold_ok,
    run_sql,
)

STARTS = "2099-01-01T20:00:00+00:00"
PRICES = {"standard": 950, "premium": 1400, "wheelchair": 950, "companion": 500}
HALL = ["ss.ss", "pp.pp", "wc.cw"]


@pytest.fixture
def client(app):
    """Every response in this module is also held to the OpenAPI document."""
    return contract_client(app)


def create_auditorium(client, admin_headers, name: str = "Screen 1", layout: Any = None) -> Any:
    return client.post(
        "/api/auditoriums", json={"name": name, "layout": layout or HALL}, headers=admin_headers
    )


def create_show(client, admin_headers, **fields: Any) -> Any:
    return client.post(
        "/api/shows", json={"title": "Plan", "starts_at": STARTS, **fields}, headers=admin_headers
    )


def created_show(client, admin_headers, **fields: Any) -> dict[str, Any]:
    response = create_show(client, admin_headers, **fields)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- auditoriums ------------------------------------------------------------------


def test_create_and_list_auditoriums(client, admin_headers):
    response = create_auditorium(client, admin_headers)
    assert response.status_code == 201
    body = response.get_json()
    assert body == {"id": body["id"], "name": "Screen 1", "layout": HALL, "capacity": 12}
    assert response.headers["Location"] == f"/api/auditoriums/{body['id']}"
    assert client.get(response.headers["Location"], headers=admin_headers).get_json() == body
    create_auditorium(client, admin_headers, name="Atrium", layout=["sss"])
    listed = client.get("/api/auditoriums", headers=admin_headers)
    assert listed.status_code == 200
    assert [a["name"] for a in listed.get_json()["auditoriums"]] == ["Atrium", "Screen 1"]


def test_auditorium_rows_are_stripped_of_surrounding_whitespace(client, admin_headers):
    body = create_auditorium(client, admin_headers, layout=["  ss.ss ", "pp"]).get_json()
    assert body["layout"] == ["ss.ss", "pp"]


def test_auditoriums_are_admin_only(client, admin_headers):
    assert_problem(client.get("/api/auditoriums"), 401, "authentication_required")
    assert_problem(client.get("/api/auditoriums", headers=bearer("nope")), 403, "forbidden")
    assert_problem(client.post("/api/auditoriums", json={"name": "x", "layout": HALL}), 401)
    assert_problem(client.get("/api/auditoriums/1", headers=admin_headers), 404, "auditorium_not_found")
    assert_problem(client.get("/api/auditoriums/x", headers=admin_headers), 404, "auditorium_not_found")


def test_auditorium_names_are_unique_ignoring_case(client, admin_headers):
    assert create_auditorium(client, admin_headers, name="Screen 1").status_code == 201
    problem = assert_problem(
        create_auditorium(client, admin_headers, name="screen 1"), 422, "validation_error"
    )
    assert set(problem["errors"]) == {"name"}


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"layout": HALL}, "name", "is required"),
        ({"name": "A"}, "layout", "is required"),
        ({"name": " ", "layout": HALL}, "name", "blank"),
        ({"name": "A", "layout": HALL, "extra": 1}, "extra", "unknown field"),
        ({"name": "A", "layout": "ss.ss"}, "layout", "must be a list"),
        ({"name": "A", "layout": []}, "layout", "must be a list"),
        ({"name": "A", "layout": ["ss", "sx"]}, "layout", "row B, position 2: 'x' is not a seat"),
        ({"name": "A", "layout": ["s s"]}, "layout", "row A, position 2"),
        ({"name": "A", "layout": ["s" * 51]}, "layout", "row A has 51 positions"),
        ({"name": "A", "layout": ["s"] * 27}, "layout", "at most 26"),
        ({"name": "A", "layout": ["..", "."]}, "layout", "has no seats"),
        ({"name": "A", "layout": ["ss", None]}, "layout", "row B (item 2) must be a string"),
        ({"name": "A", "layout": ["ss", ""]}, "layout", "row B is empty"),
    ],
)
def test_malformed_auditoriums_are_422_naming_the_fault(client, admin_headers, body, field, says):
    problem = assert_problem(
        client.post("/api/auditoriums", json=body, headers=admin_headers), 422, "validation_error"
    )
    assert says in problem["errors"][field], problem


# --- shows with plans ---------------------------------------------------------------


def test_show_in_an_auditorium_copies_its_plan_and_prices_its_seats(app, client, admin_headers):
    hall = create_auditorium(client, admin_headers).get_json()
    show = created_show(client, admin_headers, auditorium_id=hall["id"], prices=PRICES, currency="EUR")
    assert show["layout"] == HALL
    assert show["auditorium"] == "Screen 1"
    assert show["rows"] == 3 and show["seats_per_row"] == 5
    assert show["prices"] == PRICES and show["currency"] == "EUR"
    assert show["stats"]["total"] == 12
    seats = client.get(f"/api/shows/{show['id']}/seats").get_json()["seats"]
    assert [(s["seat"], s["column"], s["kind"], s["price"]) for s in seats[:4]] == [
        ("A1", 1, "standard", 950),
        ("A2", 2, "standard", 950),
        ("A3", 4, "standard", 950),
        ("A4", 5, "standard", 950),
    ]
    assert [(s["seat"], s["column"], s["kind"]) for s in seats[8:]] == [
        ("C1", 1, "wheelchair"),
        ("C2", 2, "companion"),
        ("C3", 4, "companion"),
        ("C4", 5, "wheelchair"),
    ]
    # Editing the auditorium later never changes a show on sale.
    run_sql(app, """UPDATE auditoriums SET layout = '["s"]' WHERE id = :id""", id=hall["id"])
    assert client.get(f"/api/shows/{show['id']}").get_json()["layout"] == HALL


def test_show_name_given_wins_over_the_auditoriums(client, admin_headers):
    hall = create_auditorium(client, admin_headers).get_json()
    show = created_show(client, admin_headers, auditorium_id=hall["id"], auditorium="Screen 1 (3D)")
    assert show["auditorium"] == "Screen 1 (3D)"
    assert show["prices"] is None and show["currency"] is None


def test_show_with_its_own_layout(client, admin_headers):
    show = created_show(client, admin_headers, layout=["..ss", "ss.ss"])
    assert show["layout"] == ["..ss", "ss.ss"]
    assert show["seats_per_row"] == 5
    seats = client.get(f"/api/shows/{show['id']}/seats").get_json()["seats"]
    assert [(s["seat"], s["column"]) for s in seats] == [
        ("A1", 3),
        ("A2", 4),
        ("B1", 1),
        ("B2", 2),
        ("B3", 4),
        ("B4", 5),
    ]
    assert all(s["price"] is None for s in seats)


def test_a_rectangle_keeps_working_and_is_its_layout(client, admin_headers):
    show = created_show(client, admin_headers, rows=2, seats_per_row=3)
    assert show["layout"] == ["sss", "sss"]
    assert show["prices"] is None and show["currency"] is None


def test_prices_without_currency_are_in_euros(client, admin_headers):
    show = created_show(client, admin_headers, rows=1, seats_per_row=2, prices={"standard": 800})
    assert show["currency"] == "EUR"


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"layout": ["sx"]}, "layout", "row A, position 2: 'x' is not a seat"),
        ({"layout": ["ss", "s.s", "s?"]}, "layout", "row C, position 2"),
        ({"layout": [".."]}, "layout", "has no seats"),
        ({"layout": "ss"}, "layout", "must be a list"),
        ({"layout": ["ss"], "rows": 2}, "layout", "not rows too"),
        ({"layout": ["ss"], "auditorium_id": 1}, "layout", "not auditorium_id too"),
        ({"auditorium_id": 999}, "auditorium_id", "there is no auditorium 999"),
        ({"auditorium_id": "one"}, "auditorium_id", "must be the id"),
        ({"auditorium_id": 0}, "auditorium_id", "must be the id"),
        ({}, "rows", "is required"),
        ({"layout": ["sp"], "prices": {"standard": 900}}, "prices", "no price for premium"),
        ({"rows": 1, "seats_per_row": 1, "prices": {"premium": 900}}, "prices", "no price for standard"),
        ({"layout": ["s"], "prices": {"vip": 900}}, "prices", "'vip' is not a seat kind"),
        ({"layout": ["s"], "prices": {"standard": -1}}, "prices", "from 0 to"),
        ({"layout": ["s"], "prices": {"standard": 9.5}}, "prices", "whole number"),
        ({"layout": ["s"], "prices": {"standard": True}}, "prices", "whole number"),
        ({"layout": ["s"], "prices": {}}, "prices", "must give a price"),
        ({"layout": ["s"], "prices": [950]}, "prices", "must be an object"),
        ({"layout": ["s"], "prices": {"standard": 1}, "currency": "eur"}, "currency", "ISO 4217"),
        ({"layout": ["s"], "prices": {"standard": 1}, "currency": "ABC"}, "currency", "ISO 4217"),
    ],
)
def test_bad_plans_and_prices_are_422_naming_the_fault(client, admin_headers, fields, field, says):
    problem = assert_problem(create_show(client, admin_headers, **fields), 422, "validation_error")
    assert says in problem["errors"][field], problem


def test_prices_must_cover_every_kind_in_the_auditorium(client, admin_headers):
    hall = create_auditorium(client, admin_headers).get_json()
    problem = assert_problem(
        create_show(client, admin_headers, auditorium_id=hall["id"], prices={"standard": 1, "premium": 2}),
        422,
        "validation_error",
    )
    assert problem["errors"] == {"prices": problem["errors"]["prices"]}
    assert "wheelchair, companion" in problem["errors"]["prices"]


# --- holds: totals and the companion rule ---------------------------------------------


def priced_show(client, admin_headers, currency: str = "EUR") -> dict[str, Any]:
    return created_show(client, admin_headers, layout=HALL, prices=PRICES, currency=currency)


def test_a_hold_stores_its_total_from_the_seats_prices(app, client, admin_headers):
    show = priced_show(client, admin_headers)
    held = hold_ok(client, show["id"], ["A1", "B2", "C1", "C2"])["booking"]
    assert set(held) == BOOKING_FIELDS
    assert held["total"] == 950 + 1400 + 950 + 500
    assert held["currency"] == "EUR"
    # A later price change never rewrites what was agreed.
    run_sql(app, "UPDATE seats SET price = price * 2 WHERE show_id = :id", id=show["id"])
    booking_id = held["id"]
    assert hold_ok(client, show["id"], ["A2"])["booking"]["total"] == 1900
    listed = client.get(f"/api/shows/{show['id']}/bookings", headers=admin_headers).get_json()["bookings"]
    assert {b["id"]: b["total"] for b in listed}[booking_id] == 3800


def test_totals_in_a_currency_without_cents(client, admin_headers):
    show = created_show(client, admin_headers, layout=["ss"], prices={"standard": 1800}, currency="JPY")
    held = hold_ok(client, show["id"], ["A1", "A2"])["booking"]
    assert (held["total"], held["currency"]) == (3600, "JPY")


def test_an_unpriced_show_has_no_total(client, make_show):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1"])["booking"]
    assert held["total"] is None and held["currency"] is None


def test_the_total_survives_confirm_and_read(client, admin_headers):
    show = priced_show(client, admin_headers)
    held = hold_ok(client, show["id"], ["B1", "B2"])
    url = f"/api/bookings/{held['booking']['id']}"
    confirmed = client.post(f"{url}/confirm", headers=bearer(held["token"])).get_json()
    assert (confirmed["total"], confirmed["currency"]) == (2800, "EUR")
    assert client.get(url, headers=bearer(held["token"])).get_json()["total"] == 2800


def test_a_companion_seat_needs_a_wheelchair_space_in_the_same_hold(app, client, admin_headers):
    show = priced_show(client, admin_headers)
    problem = assert_problem(hold(client, show["id"], ["C2"]), 422, "companion_without_wheelchair")
    assert "wheelchair" in problem["detail"]
    assert_problem(hold(client, show["id"], ["C2", "A1"]), 422, "companion_without_wheelchair")
    # Nothing was held by the refused requests.
    assert client.get(f"/api/shows/{show['id']}/seats/stats").get_json()["held"] == 0
    assert hold_ok(client, show["id"], ["C1", "C2"])["booking"]["seats"] == ["C1", "C2"]
    assert hold_ok(client, show["id"], ["C4"])["booking"]["total"] == 950  # a wheelchair space alone is fine
    rows = run_sql(app, "SELECT count(*) FROM bookings")
    assert rows[0][0] == 2


def test_seats_beyond_a_gap_are_numbered_on(client, admin_headers):
    show = priced_show(client, admin_headers)
    assert_problem(hold(client, show["id"], ["A5"]), 422, "validation_error")
    assert hold_ok(client, show["id"], ["A3", "A4"])["booking"]["seats"] == ["A3", "A4"]
