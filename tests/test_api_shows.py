"""JSON API contract for shows: listing, creating (admin), seat maps, ETags and stats."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from support.api import (
    SEAT_FIELDS,
    SHOW_FIELDS,
    STATS_FIELDS,
    assert_problem,
    bearer,
    contract_client,
    hold_ok,
    lapse_hold,
    run_sql,
    start_show,
    timestamp,
    wait_until_database_time,
)


@pytest.fixture
def client(app):
    """Every response in this module is also held to the OpenAPI document."""
    return contract_client(app)


def test_list_shows_empty(client):
    response = client.get("/api/shows")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"shows": []}


def test_list_shows_upcoming_soonest_first_and_past_excluded(app, client, make_show):
    late = make_show(title="Late", starts_at="2099-03-01T20:00:00+00:00")
    early = make_show(title="Early", starts_at="2098-01-01T20:00:00+00:00")
    middle = make_show(title="Middle", starts_at="2098-06-01T20:00:00+00:00")
    past = make_show(title="Past")
    start_show(app, past["id"])

    shows = client.get("/api/shows").get_json()["shows"]

    assert [show["id"] for show in shows] == [early["id"], middle["id"], late["id"]]
    assert past["id"] not in {show["id"] for show in shows}
    assert shows[0] == early


def test_show_fields_and_types(client, make_show):
    created = make_show(
        rows=2,
        seats_per_row=3,
        title="  Metropolis  ",
        starts_at="2099-05-01T19:30:00+02:00",
        auditorium="One",
    )
    assert set(created) == SHOW_FIELDS
    assert isinstance(created["id"], int) and created["id"] > 0
    assert created["title"] == "Metropolis"  # stripped
    # Stored and returned in UTC, with the offset written out.
    assert created["starts_at"] == "2099-05-01T17:30:00+00:00"
    timestamp(created["starts_at"])
    assert created["auditorium"] == "One"
    assert (created["rows"], created["seats_per_row"]) == (2, 3)
    assert created["stats"] == {"total": 6, "available": 6, "held": 0, "booked": 0, "checked_in": 0}

    fetched = client.get(f"/api/shows/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.mimetype == "application/json"
    assert fetched.get_json() == created


def test_create_show_returns_201_with_location(client, admin_headers):
    body = {"title": "Nosferatu", "starts_at": "2099-01-01T20:00:00Z", "rows": 1, "seats_per_row": 1}
    response = client.post("/api/shows", json=body, headers=admin_headers)
    assert response.status_code == 201
    show = response.get_json()
    assert response.headers["Location"] == f"/api/shows/{show['id']}"
    assert show["auditorium"] is None
    assert client.get(response.headers["Location"]).get_json() == show


@pytest.mark.parametrize(
    "starts_at",
    [
        "2099-01-01t20:00:00z",
        "2099-01-01T21:00:00+01:00",
        "2099-01-01T20:00:00.000+00:00",
        " 2099-01-01T20:00Z ",
    ],
)
def test_create_show_accepts_rfc3339_forms(client, admin_headers, starts_at):
    body = {"title": "T", "starts_at": starts_at, "rows": 1, "seats_per_row": 1}
    response = client.post("/api/shows", json=body, headers=admin_headers)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["starts_at"] == "2099-01-01T20:00:00+00:00"


def test_create_show_accepts_null_auditorium_and_layout_bounds(client, admin_headers):
    for rows, per_row in ((1, 1), (26, 50)):
        body = {
            "title": "Edge",
            "starts_at": "2099-01-01T20:00:00Z",
            "rows": rows,
            "seats_per_row": per_row,
            "auditorium": None,
        }
        response = client.post("/api/shows", json=body, headers=admin_headers)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["stats"]["total"] == rows * per_row


def test_create_show_takes_integral_numbers_as_json_schema_does(client, admin_headers):
    body = {"title": "T", "starts_at": "2099-01-01T20:00:00Z", "rows": 2.0, "seats_per_row": 3.0}
    response = client.post("/api/shows", json=body, headers=admin_headers)
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["rows"], response.get_json()["seats_per_row"]) == (2, 3)


VALID_SHOW = {"title": "Valid", "starts_at": "2099-01-01T20:00:00+00:00", "rows": 3, "seats_per_row": 4}
MISSING = object()


@pytest.mark.parametrize(
    ("changes", "bad_fields"),
    [
        (
            {"title": MISSING, "starts_at": MISSING, "rows": MISSING, "seats_per_row": MISSING},
            {"title", "starts_at", "rows", "seats_per_row"},
        ),
        ({"title": MISSING}, {"title"}),
        ({"title": None}, {"title"}),
        ({"rows": None}, {"rows"}),
        ({"title": 123}, {"title"}),
        ({"title": "   "}, {"title"}),
        ({"title": "x" * 201}, {"title"}),
        ({"title": "x" + " " * 250}, {"title"}),  # maxLength counts what was sent
        ({"title": "\u0958" * 150}, {"title"}),  # NFC doubles it: too long to store
        ({"title": "bad\x00title"}, {"title"}),
        ({"title": "line\nbreak"}, {"title"}),
        ({"rows": True}, {"rows"}),
        ({"seats_per_row": False}, {"seats_per_row"}),
        ({"rows": "3"}, {"rows"}),
        ({"rows": 2.5}, {"rows"}),
        ({"rows": 0}, {"rows"}),
        ({"rows": 27}, {"rows"}),
        ({"rows": -1}, {"rows"}),
        ({"seats_per_row": 0}, {"seats_per_row"}),
        ({"seats_per_row": 51}, {"seats_per_row"}),
        ({"seats_per_row": 2**40}, {"seats_per_row"}),
        ({"starts_at": "2099-01-01T20:00:00"}, {"starts_at"}),  # naive
        ({"starts_at": "2099-01-01"}, {"starts_at"}),  # a date, naive
        ({"starts_at": "tomorrow"}, {"starts_at"}),
        ({"starts_at": 4102444800}, {"starts_at"}),
        ({"starts_at": "3000-01-01T00:00:00Z"}, {"starts_at"}),
        ({"starts_at": "1999-12-31T00:00:00Z"}, {"starts_at"}),
        ({"auditorium": 5}, {"auditorium"}),
        ({"auditorium": ""}, {"auditorium"}),
        ({"auditorium": "a" * 101}, {"auditorium"}),
        ({"price": 12}, {"price"}),  # unknown field
        ({"title": 1, "rows": 99, "extra": True}, {"title", "rows", "extra"}),
    ],
)
def test_create_show_validation_errors(app, client, admin_headers, changes, bad_fields):
    body = {name: value for name, value in {**VALID_SHOW, **changes}.items() if value is not MISSING}
    response = client.post("/api/shows", json=body, headers=admin_headers)
    problem = assert_problem(response, 422, "validation_error")
    assert set(problem["errors"]) == bad_fields
    assert all(isinstance(message, str) and message for message in problem["errors"].values())
    for field in bad_fields:
        assert field in problem["detail"]
    assert run_sql(app, "SELECT count(*) FROM shows")[0][0] == 0


@pytest.mark.parametrize("body", [b"[]", b'["title"]', b'"show"', b"3", b"null", b"true"])
def test_create_show_body_must_be_an_object(client, admin_headers, body):
    response = client.post("/api/shows", data=body, content_type="application/json", headers=admin_headers)
    problem = assert_problem(response, 422, "validation_error")
    assert set(problem["errors"]) == {"body"}


def test_create_show_needs_admin_token(app, client):
    response = client.post("/api/shows", json=VALID_SHOW)
    assert_problem(response, 401, "authentication_required")
    assert response.headers["WWW-Authenticate"] == "Bearer"

    assert_problem(client.post("/api/shows", json=VALID_SHOW, headers=bearer("not-it")), 403, "forbidden")
    basic = {"Authorization": "Basic dGVzdDp0ZXN0"}
    assert_problem(client.post("/api/shows", json=VALID_SHOW, headers=basic), 401)
    assert run_sql(app, "SELECT count(*) FROM shows")[0][0] == 0


def test_admin_api_disabled_without_admin_token(app, client, admin_headers, make_show, app_config):
    show = make_show()
    app_config.set(ADMIN_TOKEN=None)

    problem = assert_problem(
        client.post("/api/shows", json=VALID_SHOW, headers=admin_headers), 403, "forbidden"
    )
    assert "ADMIN_TOKEN" in problem["detail"]
    assert_problem(client.post("/api/shows", json=VALID_SHOW), 401)
    assert_problem(client.get(f"/api/shows/{show['id']}/bookings", headers=admin_headers), 403, "forbidden")
    # An empty bearer must never match an unset token.
    assert_problem(client.post("/api/shows", json=VALID_SHOW, headers={"Authorization": "Bearer "}), 401)
    assert run_sql(app, "SELECT count(*) FROM shows")[0][0] == 1


def test_admin_disabled_in_an_app_created_without_admin_token(app, monkeypatch):
    from webapp import create_app

    monkeypatch.setenv("APP_ENV", "test")
    config = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "REDIS_KEY_PREFIX")}
    other = create_app({**config, "ADMIN_TOKEN": None, "TESTING": True, "SECRET_KEY": "x"})
    try:
        response = other.test_client().post("/api/shows", json=VALID_SHOW, headers=bearer("anything"))
        problem = assert_problem(response, 403, "forbidden")
        assert "disabled" in problem["detail"]
    finally:
        with other.app_context():
            from webapp.extensions import db

            db.engine.dispose()


@pytest.mark.parametrize(
    "show_id", ["999", "0", "-1", "abc", "1.5", "99999999999999999999999", "%D9%A1", "1e3"]
)
def test_unknown_or_malformed_show_ids_are_404(client, make_show, show_id):
    make_show()
    for suffix in ("", "/seats", "/seats/stats"):
        assert_problem(client.get(f"/api/shows/{show_id}{suffix}"), 404, "show_not_found")


def test_seats_row_major_with_statuses(client, make_show):
    show = make_show(rows=2, seats_per_row=11)
    held = hold_ok(client, show["id"], ["B10", "A2"])
    booked = hold_ok(client, show["id"], ["B1"])
    confirm = client.post(f"/api/bookings/{booked['booking']['id']}/confirm", headers=bearer(booked["token"]))
    assert confirm.status_code == 200

    response = client.get(f"/api/shows/{show['id']}/seats")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"show_id", "seats"}
    assert body["show_id"] == show["id"]
    seats = body["seats"]
    expected_labels = [f"{row}{n}" for row in "AB" for n in range(1, 12)]
    assert [seat["seat"] for seat in seats] == expected_labels  # A10 after A9, not after A1
    for seat in seats:
        assert set(seat) == SEAT_FIELDS
        assert seat["row"] == seat["seat"][0]
        assert seat["number"] == int(seat["seat"][1:])
    by_label = {seat["seat"]: seat for seat in seats}
    for label in ("A2", "B10"):
        assert by_label[label]["status"] == "HELD"
        assert by_label[label]["hold_expires_at"] == held["booking"]["hold_expires_at"]
    assert by_label["B1"]["status"] == "BOOKED"
    assert by_label["B1"]["hold_expires_at"] is None
    others = [seat for label, seat in by_label.items() if label not in {"A2", "B10", "B1"}]
    assert all(seat["status"] == "AVAILABLE" and seat["hold_expires_at"] is None for seat in others)
    # Public listing: nothing about bookings.
    assert held["booking"]["id"] not in response.get_data(as_text=True)


def test_seats_etag_and_if_none_match(client, make_show):
    show = make_show()
    url = f"/api/shows/{show['id']}/seats"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["Cache-Control"] == "no-cache"

    again = client.get(url)
    assert again.headers["ETag"] == etag  # nothing changed, same validator

    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.get_data() == b""
    assert not_modified.headers["ETag"] == etag

    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200

    hold_ok(client, show["id"], ["A1"])
    after_hold = client.get(url, headers={"If-None-Match": etag})
    assert after_hold.status_code == 200
    assert after_hold.headers["ETag"] != etag
    assert client.get(url, headers={"If-None-Match": after_hold.headers["ETag"]}).status_code == 304


def test_etag_changes_when_a_hold_lapses(app, client, make_show):
    show = make_show()
    url = f"/api/shows/{show['id']}/seats"
    booking = hold_ok(client, show["id"], ["A1"])["booking"]
    etag = client.get(url).headers["ETag"]
    lapse_hold(app, booking["id"])
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.get_json()["seats"][0]["status"] == "AVAILABLE"


def test_stats_agree_with_seat_listing(client, make_show):
    show = make_show(rows=3, seats_per_row=4)
    hold_ok(client, show["id"], ["A1", "A2", "C4"])
    booked = hold_ok(client, show["id"], ["B1", "B2"])
    client.post(f"/api/bookings/{booked['booking']['id']}/confirm", headers=bearer(booked["token"]))
    cancelled = hold_ok(client, show["id"], ["B3"])
    client.delete(f"/api/bookings/{cancelled['booking']['id']}", headers=bearer(cancelled["token"]))

    seats = client.get(f"/api/shows/{show['id']}/seats").get_json()["seats"]
    counts = Counter(seat["status"] for seat in seats)
    stats_response = client.get(f"/api/shows/{show['id']}/seats/stats")
    assert stats_response.status_code == 200
    stats = stats_response.get_json()
    assert set(stats) == STATS_FIELDS
    assert stats == {"total": 12, "available": 7, "held": 3, "booked": 2}
    assert stats == {
        "total": len(seats),
        "available": counts["AVAILABLE"],
        "held": counts["HELD"],
        "booked": counts["BOOKED"],
    }
    # The show's stats add the door's count (issue 13).
    assert client.get(f"/api/shows/{show['id']}").get_json()["stats"] == {**stats, "checked_in": 0}
    listed = client.get("/api/shows").get_json()["shows"]
    assert listed[0]["stats"] == {**stats, "checked_in": 0}


def test_hold_expiry_is_in_the_future_and_bounded(app, client, make_show):
    show = make_show()
    booking = hold_ok(client, show["id"], ["A1"])["booking"]
    created = timestamp(booking["created_at"])
    expires = timestamp(booking["hold_expires_at"])
    assert expires - created == timedelta(seconds=app.config["HOLD_SECONDS"])


def test_a_cached_seat_listing_ends_when_its_earliest_hold_lapses(app, client, make_show, app_config):
    """No writer touches a lapsing hold, so the cached snapshot must not outlive it."""
    show = make_show()
    url = f"/api/shows/{show['id']}/seats"
    app_config.set(HOLD_SECONDS=1)
    held = hold_ok(client, show["id"], ["A1"])
    first = client.get(url)
    assert first.get_json()["seats"][0]["status"] == "HELD"
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    # Once the hold lapses by the database's clock (with a little room for the
    # cache's own TTL rounding), and well before the snapshot's 2 s cap:
    lapsed_at = timestamp(held["booking"]["hold_expires_at"])
    wait_until_database_time(app, lapsed_at + timedelta(milliseconds=250))
    after = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert after.status_code == 200
    assert after.get_json()["seats"][0]["status"] == "AVAILABLE"


# --- bounded listings -------------------------------------------------------------------


def _next_link(response) -> str | None:
    link = response.headers.get("Link")
    if link is None:
        return None
    url, _, relation = link.partition(";")
    assert relation.strip() == 'rel="next"', link
    return url.strip().strip("<>")


def test_shows_come_a_page_at_a_time_in_order(client, make_show):
    made = [
        make_show(title=f"Show {n}", starts_at=f"2099-01-0{n}T20:00:00+00:00")["id"] for n in (3, 1, 2, 5, 4)
    ]
    first = client.get("/api/shows?limit=2")
    assert [s["title"] for s in first.get_json()["shows"]] == ["Show 1", "Show 2"]
    second = client.get(_next_link(first))
    assert [s["title"] for s in second.get_json()["shows"]] == ["Show 3", "Show 4"]
    last = client.get(_next_link(second))
    assert [s["title"] for s in last.get_json()["shows"]] == ["Show 5"]
    assert _next_link(last) is None
    # Without a limit, 50 a page: all five at once.
    everything = client.get("/api/shows")
    assert sorted(s["id"] for s in everything.get_json()["shows"]) == sorted(made)
    assert "Link" not in everything.headers


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("cursor=nonsense!", "cursor"),
        ("cursor=bm90LWEtY3Vyc29y", "cursor"),
    ],
)
def test_a_bad_page_request_is_422(client, query, field):
    problem = assert_problem(client.get(f"/api/shows?{query}"), 422, "validation_error")
    assert field in problem["errors"]


def test_a_shows_bookings_come_a_page_at_a_time(client, make_show, admin_headers):
    show = make_show()
    for seat in ("A1", "A2", "A3"):
        hold_ok(client, show["id"], [seat])
    first = client.get(f"/api/shows/{show['id']}/bookings?limit=2", headers=admin_headers)
    assert [b["seats"] for b in first.get_json()["bookings"]] == [["A1"], ["A2"]]
    rest = client.get(_next_link(first), headers=admin_headers)
    assert [b["seats"] for b in rest.get_json()["bookings"]] == [["A3"]]
    assert _next_link(rest) is None
    held_only = client.get(f"/api/shows/{show['id']}/bookings?status=PENDING&limit=1", headers=admin_headers)
    assert len(held_only.get_json()["bookings"]) == 1 and _next_link(held_only) is not None
