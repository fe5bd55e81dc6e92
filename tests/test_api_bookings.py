"""JSON API contract for bookings: hold, idempotency, confirm, cancel, auth, lazy expiry, admin list."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from support.api import (
    assert_booking_shape,
    assert_problem,
    bearer,
    contract_client,
    count_bookings,
    hold,
    hold_ok,
    lapse_hold,
    now_utc,
    seat_statuses,
    start_show,
    stored_booking,
    timestamp,
    wait_until_database_time,
)

# --- holding ---------------------------------------------------------------------


@pytest.fixture
def client(app):
    """Every response in this module is also held to the OpenAPI document."""
    return contract_client(app)


def test_hold_201_shape_and_location(client, make_show):
    show = make_show()
    response = hold(client, show["id"], ["b2", " A1 "], email="ana@example.com")
    assert response.status_code == 201
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"booking", "token"}
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    booking = body["booking"]
    assert_booking_shape(booking)
    assert booking["show_id"] == show["id"]
    assert booking["status"] == "PENDING"
    assert sorted(booking["seats"]) == ["A1", "B2"]  # normalised labels
    assert booking["confirmed_at"] is None
    assert booking["cancelled_at"] is None
    assert booking["expired_at"] is None
    assert timestamp(booking["hold_expires_at"]) > timestamp(booking["created_at"])
    assert response.headers["Location"] == f"/api/bookings/{booking['id']}"
    assert "Idempotent-Replayed" not in response.headers

    fetched = client.get(response.headers["Location"], headers=bearer(body["token"]))
    assert fetched.status_code == 200
    assert fetched.get_json() == booking


def test_hold_conflict_lists_only_unavailable_seats(client, make_show):
    show = make_show()
    hold_ok(client, show["id"], ["A1", "A2"])
    response = hold(client, show["id"], ["A3", "A2", "A1"])
    problem = assert_problem(response, 409, "seats_unavailable")
    assert sorted(problem["seats"]) == ["A1", "A2"]
    # All or nothing: A3 was not held by the failed request.
    assert seat_statuses(client, show["id"])["A3"] == "AVAILABLE"


def test_taken_seats_are_refused_by_redis_until_a_cancel_frees_them(app, client, make_show, redis_conn):
    show = make_show()
    first = hold_ok(client, show["id"], ["A1", "A2"])
    key = f"{app.config['REDIS_KEY_PREFIX']}seatlock:{{show:{show['id']}}}:A1"
    assert redis_conn.get(key) == b"taken"  # the commit left a marker, not a deleted lock
    assert 0 < redis_conn.pttl(key) <= app.config["SEAT_TAKEN_TTL_MS"]
    problem = assert_problem(hold(client, show["id"], ["A2", "A1"]), 409, "seats_unavailable")
    assert problem["seats"] == ["A2", "A1"]

    cancelled = client.post(f"/api/bookings/{first['booking']['id']}/cancel", headers=bearer(first["token"]))
    assert cancelled.status_code == 200
    assert redis_conn.exists(key) == 0  # at once, not when the marker would lapse
    assert hold_ok(client, show["id"], ["A1", "A2"])["booking"]["seats"] == ["A1", "A2"]


def test_after_a_show_cancel_holds_hear_show_cancelled_not_taken(app, client, make_show, admin_headers):
    show = make_show()
    hold_ok(client, show["id"], ["C1", "C2"])  # marked taken in Redis for a moment
    assert client.post(f"/api/shows/{show['id']}/cancel", headers=admin_headers).status_code == 200
    assert_problem(hold(client, show["id"], ["C1", "C2"]), 409, "show_cancelled")


def test_a_taken_marker_never_outlives_its_hold(app, app_config, client, make_show, redis_conn):
    """Lazy expiry as before: the moment a hold lapses its seats can be held, Redis or not."""
    app_config.set(HOLD_SECONDS=1)  # shorter than SEAT_TAKEN_TTL_MS (2 s)
    show = make_show()
    first = hold_ok(client, show["id"], ["B1"])["booking"]
    key = f"{app.config['REDIS_KEY_PREFIX']}seatlock:{{show:{show['id']}}}:B1"
    assert redis_conn.get(key) == b"taken"
    assert 0 < redis_conn.pttl(key) <= 1000
    wait_until_database_time(app, first["hold_expires_at"])
    second = hold_ok(client, show["id"], ["B1"])["booking"]  # no 409 from a marker left behind
    assert second["id"] != first["id"]
    assert stored_booking(app, first["id"]).status == "EXPIRED"


def test_hold_of_booked_seat_is_409(client, make_show):
    show = make_show()
    first = hold_ok(client, show["id"], ["C1"])
    client.post(f"/api/bookings/{first['booking']['id']}/confirm", headers=bearer(first["token"]))
    problem = assert_problem(hold(client, show["id"], ["C1"]), 409, "seats_unavailable")
    assert problem["seats"] == ["C1"]


@pytest.mark.parametrize(
    ("seats", "needle"),
    [
        (["Z9"], "Z9"),  # row beyond the layout
        (["A5"], "A5"),  # number beyond the row
        (["A1", "Q1"], "Q1"),
        (["A1", "a1"], "A1"),  # duplicates, case-insensitive
        (["B2", "B2"], "B2"),
        ([], "non-empty"),
        (["A0"], "A0"),
        (["AA1"], "AA1"),
        (["1A"], "1A"),
        ([""], "seat label"),
        ([1], "seat label"),
        ([None], "seat label"),
        (["\u017f1"], "seat label"),  # the long s upper-cases to "S"
        ("A1", "list"),
        ({"A1": True}, "list"),
    ],
)
def test_hold_bad_seat_lists_are_422(app, client, make_show, seats, needle):
    show = make_show(rows=3, seats_per_row=4)
    problem = assert_problem(hold(client, show["id"], seats), 422, "validation_error")
    assert set(problem["errors"]) == {"seats"}
    assert needle in problem["errors"]["seats"]
    assert count_bookings(app) == 0


def test_hold_too_many_seats_is_422(app, client, make_show, app_config):
    show = make_show(rows=2, seats_per_row=10)
    eleven = [f"A{n}" for n in range(1, 11)] + ["B1"]
    problem = assert_problem(hold(client, show["id"], eleven), 422, "validation_error")
    assert "10" in problem["errors"]["seats"]
    assert hold(client, show["id"], eleven[:10]).status_code == 201

    app_config.set(MAX_SEATS_PER_BOOKING=2)
    problem = assert_problem(hold(client, show["id"], ["B1", "B2", "B3"], visitor="10.0.0.2"), 422)
    assert "at most 2" in problem["errors"]["seats"]
    assert hold(client, show["id"], ["B1", "B2"], visitor="10.0.0.2").status_code == 201


@pytest.mark.parametrize(
    ("body", "bad_fields"),
    [
        ({"show_id": 1, "seats": ["A1"], "email": "nope"}, {"email"}),
        ({"show_id": 1, "seats": ["A1"], "email": "a@b"}, {"email"}),
        ({"show_id": 1, "seats": ["A1"], "email": "a b@c.de"}, {"email"}),
        ({"show_id": 1, "seats": ["A1"], "email": 5}, {"email"}),
        ({"show_id": 1, "seats": ["A1"], "email": "   "}, {"email"}),
        ({"show_id": 1, "seats": ["A1"], "email": "a@b.c" + "x" * 260}, {"email"}),
        ({"seats": ["A1"]}, {"show_id"}),
        ({"show_id": "1", "seats": ["A1"]}, {"show_id"}),
        ({"show_id": True, "seats": ["A1"]}, {"show_id"}),
        ({"show_id": 1.5, "seats": ["A1"]}, {"show_id"}),
        ({"show_id": 0, "seats": ["A1"]}, {"show_id"}),
        ({"show_id": 2**63, "seats": ["A1"]}, {"show_id"}),
        ({"show_id": None, "seats": ["A1"]}, {"show_id"}),
        ({"show_id": 1}, {"seats"}),
        ({"show_id": 1, "seats": ["A1"], "price": 3}, {"price"}),
        ({"show_id": "x", "seats": "y", "email": "z", "w": 1}, {"show_id", "seats", "email", "w"}),
    ],
)
def test_hold_validation_errors(app, client, make_show, body, bad_fields):
    make_show()  # show 1 exists, so only the named fields are at fault
    response = client.post("/api/bookings", json=body)
    problem = assert_problem(response, 422, "validation_error")
    assert set(problem["errors"]) == bad_fields
    assert count_bookings(app) == 0


def test_hold_accepts_null_or_empty_email(client, make_show):
    show = make_show()
    assert hold(client, show["id"], ["A1"], email=None).status_code == 201
    assert hold(client, show["id"], ["A2"], email="").status_code == 201


def test_hold_unknown_show_is_404(client, make_show):
    make_show()
    assert_problem(hold(client, 999, ["A1"]), 404, "show_not_found")
    assert_problem(hold(client, 2**63 - 1, ["A1"]), 404, "show_not_found")


def test_hold_on_started_show_is_409(app, client, make_show):
    show = make_show()
    start_show(app, show["id"])
    assert_problem(hold(client, show["id"], ["A1"]), 409, "show_started")
    assert count_bookings(app) == 0


# --- per-visitor limit -----------------------------------------------------------


def test_too_many_holds_per_visitor(app, client, make_show):
    assert app.config["MAX_HELD_SEATS_PER_VISITOR"] == 10
    show = make_show(rows=3, seats_per_row=10)
    first = hold_ok(client, show["id"], [f"A{n}" for n in range(1, 7)])
    hold_ok(client, show["id"], ["B1", "B2", "B3", "B4"])

    problem = assert_problem(hold(client, show["id"], ["C1"]), 429, "too_many_holds")
    assert problem["limit"] == 10
    assert problem["held"] == 10
    assert seat_statuses(client, show["id"])["C1"] == "AVAILABLE"

    # Another client address has its own allowance.
    assert hold(client, show["id"], ["C1"], visitor="10.0.0.2").status_code == 201

    # Confirmed seats are no longer "held": confirming frees the allowance.
    client.post(f"/api/bookings/{first['booking']['id']}/confirm", headers=bearer(first["token"]))
    assert hold(client, show["id"], ["C2", "C3"]).status_code == 201


def test_lapsed_and_cancelled_holds_do_not_count_towards_the_limit(app, client, make_show):
    show = make_show(rows=3, seats_per_row=10)
    lapsed = hold_ok(client, show["id"], [f"A{n}" for n in range(1, 11)])
    assert_problem(hold(client, show["id"], ["B1"]), 429, "too_many_holds")
    lapse_hold(app, lapsed["booking"]["id"])
    cancelled = hold_ok(client, show["id"], [f"B{n}" for n in range(1, 11)])
    client.post(f"/api/bookings/{cancelled['booking']['id']}/cancel", headers=bearer(cancelled["token"]))
    assert hold(client, show["id"], [f"C{n}" for n in range(1, 11)]).status_code == 201


def test_limit_zero_turns_the_limit_off(app, client, make_show, app_config):
    app_config.set(MAX_HELD_SEATS_PER_VISITOR=0)
    show = make_show(rows=3, seats_per_row=10)
    for row in "ABC":
        hold_ok(client, show["id"], [f"{row}{n}" for n in range(1, 11)])
    assert client.get(f"/api/shows/{show['id']}/seats/stats").get_json()["held"] == 30


# --- Idempotency-Key ---------------------------------------------------------------


def test_idempotent_replay_returns_the_first_answer(app, client, make_show):
    show = make_show()
    key = {"Idempotency-Key": "order-0000000042"}
    first = hold(client, show["id"], ["A1", "A2"], headers=key)
    assert first.status_code == 201
    second = hold(client, show["id"], ["A1", "A2"], headers=key)
    assert second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.get_json()["booking"]["id"] == first.get_json()["booking"]["id"]
    assert second.get_json()["token"] == first.get_json()["token"]
    assert second.get_json() == first.get_json()
    assert second.headers["Location"] == first.headers["Location"]
    assert count_bookings(app) == 1
    assert client.get(f"/api/shows/{show['id']}/seats/stats").get_json()["held"] == 2

    # The replayed token works on the booking.
    token = second.get_json()["token"]
    booking_id = second.get_json()["booking"]["id"]
    assert client.get(f"/api/bookings/{booking_id}", headers=bearer(token)).status_code == 200


def test_idempotency_key_reused_with_another_body(app, client, make_show):
    show = make_show()
    key = {"Idempotency-Key": "order-0000000043"}
    assert hold(client, show["id"], ["A1"], headers=key).status_code == 201
    assert_problem(hold(client, show["id"], ["A2"], headers=key), 422, "idempotency_key_reused")
    assert_problem(
        hold(client, show["id"], ["A1"], headers=key, email="x@example.com"), 422, "idempotency_key_reused"
    )
    assert count_bookings(app) == 1
    # Other keys are independent.
    other_key = {"Idempotency-Key": "order-0000000044"}
    assert hold(client, show["id"], ["A2"], headers=other_key).status_code == 201


def test_failed_holds_are_not_remembered(app, client, make_show):
    show = make_show()
    blocker = hold_ok(client, show["id"], ["A1"])
    key = {"Idempotency-Key": "retry-me-please-0001"}
    assert_problem(hold(client, show["id"], ["A1"], headers=key), 409, "seats_unavailable")
    client.post(f"/api/bookings/{blocker['booking']['id']}/cancel", headers=bearer(blocker["token"]))
    retry = hold(client, show["id"], ["A1"], headers=key)
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    # A failed validation does not claim the key either.
    second_key = {"Idempotency-Key": "second-key-000002"}
    assert_problem(hold(client, show["id"], ["Z1"], headers=second_key), 422)
    assert hold(client, show["id"], ["A2"], headers=second_key).status_code == 201


@pytest.mark.parametrize(
    "key", ["", "short-key", "x" * 15, "x" * 256, "caf\u00e9-0123456789ab", "has a space in it"]
)
def test_bad_idempotency_key_is_422(app, client, make_show, key):
    show = make_show()
    problem = assert_problem(hold(client, show["id"], ["A1"], headers={"Idempotency-Key": key}), 422)
    assert problem["code"] == "validation_error"
    assert "Idempotency-Key" in problem["errors"]
    assert count_bookings(app) == 0


def test_same_key_at_once_holds_once(app, make_show):
    show = make_show()
    barrier = threading.Barrier(4)
    results: list[tuple[int, dict]] = []

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        response = hold(client, show["id"], ["B1", "B2"], headers={"Idempotency-Key": "together-key-00001"})
        results.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [status for status, _ in results] == [201] * 4
    assert len({body["booking"]["id"] for _, body in results}) == 1
    assert len({body["token"] for _, body in results}) == 1
    assert count_bookings(app) == 1


# --- confirm ---------------------------------------------------------------------------


def test_confirm_then_repeat_changes_nothing(client, make_show):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1", "A2"])
    url = f"/api/bookings/{held['booking']['id']}/confirm"
    first = client.post(url, headers=bearer(held["token"]))
    assert first.status_code == 200
    confirmed = first.get_json()
    assert_booking_shape(confirmed)
    assert confirmed["status"] == "CONFIRMED"
    assert timestamp(confirmed["confirmed_at"]) >= timestamp(confirmed["created_at"])
    assert confirmed["seats"] == held["booking"]["seats"]
    statuses = seat_statuses(client, show["id"])
    assert (statuses["A1"], statuses["A2"]) == ("BOOKED", "BOOKED")

    again = client.post(url, headers=bearer(held["token"]))
    assert again.status_code == 200
    assert again.get_json() == confirmed  # confirmed_at unchanged


def test_confirm_after_hold_lapsed_is_409_and_expires(app, client, make_show):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1", "B1"])
    booking_id = held["booking"]["id"]
    lapse_hold(app, booking_id)

    url = f"/api/bookings/{booking_id}/confirm"
    assert_problem(client.post(url, headers=bearer(held["token"])), 409, "hold_expired")
    # The expiry was written, not rolled back with the error.
    assert stored_booking(app, booking_id).status == "EXPIRED"
    booking = client.get(f"/api/bookings/{booking_id}", headers=bearer(held["token"])).get_json()
    assert booking["status"] == "EXPIRED"
    assert booking["expired_at"] is not None
    timestamp(booking["expired_at"])
    assert booking["seats"] == ["A1", "B1"]  # kept for ever
    statuses = seat_statuses(client, show["id"])
    assert (statuses["A1"], statuses["B1"]) == ("AVAILABLE", "AVAILABLE")
    # And again: still 409, nothing else changes.
    assert_problem(client.post(url, headers=bearer(held["token"])), 409, "hold_expired")


def test_confirm_after_short_hold_seconds(app, client, make_show, app_config):
    app_config.set(HOLD_SECONDS=1)
    show = make_show()
    held = hold_ok(client, show["id"], ["A1"])
    booking = held["booking"]
    assert timestamp(booking["hold_expires_at"]) - timestamp(booking["created_at"]) == timedelta(seconds=1)
    wait_until_database_time(app, booking["hold_expires_at"])
    url = f"/api/bookings/{held['booking']['id']}/confirm"
    assert_problem(client.post(url, headers=bearer(held["token"])), 409, "hold_expired")


def test_confirm_cancelled_booking_is_409(client, make_show):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1"])
    base = f"/api/bookings/{held['booking']['id']}"
    assert client.post(f"{base}/cancel", headers=bearer(held["token"])).status_code == 200
    assert_problem(client.post(f"{base}/confirm", headers=bearer(held["token"])), 409, "booking_cancelled")
    assert seat_statuses(client, show["id"])["A1"] == "AVAILABLE"


# --- cancel ------------------------------------------------------------------------------

CANCEL_FORMS = [("POST", "/cancel"), ("DELETE", "")]


def cancel(client, booking_id, token, form):
    method, suffix = form
    return client.open(f"/api/bookings/{booking_id}{suffix}", method=method, headers=bearer(token))


@pytest.mark.parametrize("form", CANCEL_FORMS, ids=["post-cancel", "delete"])
def test_cancel_pending_releases_seats_and_repeat_is_unchanged(client, make_show, form):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1", "A2"])
    first = cancel(client, held["booking"]["id"], held["token"], form)
    assert first.status_code == 200
    cancelled = first.get_json()
    assert_booking_shape(cancelled)
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["cancelled_at"] is not None
    assert cancelled["confirmed_at"] is None
    assert cancelled["seats"] == ["A1", "A2"]
    statuses = seat_statuses(client, show["id"])
    assert (statuses["A1"], statuses["A2"]) == ("AVAILABLE", "AVAILABLE")

    again = cancel(client, held["booking"]["id"], held["token"], form)
    assert again.status_code == 200
    assert again.get_json() == cancelled
    # The released seats can be held again (this also came from the removed test_holds_service.py).
    hold_ok(client, show["id"], ["A2", "A3"])


@pytest.mark.parametrize("form", CANCEL_FORMS, ids=["post-cancel", "delete"])
def test_cancel_confirmed_releases_booked_seats(client, make_show, form):
    show = make_show()
    held = hold_ok(client, show["id"], ["B3"])
    client.post(f"/api/bookings/{held['booking']['id']}/confirm", headers=bearer(held["token"]))
    assert seat_statuses(client, show["id"])["B3"] == "BOOKED"

    response = cancel(client, held["booking"]["id"], held["token"], form)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "CANCELLED"
    assert body["confirmed_at"] is not None  # history kept
    assert body["cancelled_at"] is not None
    assert seat_statuses(client, show["id"])["B3"] == "AVAILABLE"
    # Released at once: someone else can take the seat straight away.
    assert hold(client, show["id"], ["B3"], visitor="10.0.0.2").status_code == 201


@pytest.mark.parametrize("form", CANCEL_FORMS, ids=["post-cancel", "delete"])
def test_cancel_expired_booking_is_409(app, client, make_show, form):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1"])
    lapse_hold(app, held["booking"]["id"])
    assert_problem(cancel(client, held["booking"]["id"], held["token"], form), 409, "hold_expired")
    assert stored_booking(app, held["booking"]["id"]).status == "EXPIRED"
    # Still EXPIRED (not CANCELLED) on a repeat.
    assert_problem(cancel(client, held["booking"]["id"], held["token"], form), 409, "hold_expired")


# --- booking auth -------------------------------------------------------------------------

BOOKING_ENDPOINTS = [
    ("GET", ""),
    ("POST", "/confirm"),
    ("POST", "/cancel"),
    ("DELETE", ""),
]


@pytest.mark.parametrize(("method", "suffix"), BOOKING_ENDPOINTS)
def test_booking_endpoints_need_the_booking_token(app, client, make_show, method, suffix):
    show = make_show()
    mine = hold_ok(client, show["id"], ["A1"])
    theirs = hold_ok(client, show["id"], ["A2"])
    url = f"/api/bookings/{mine['booking']['id']}{suffix}"

    missing = client.open(url, method=method)
    assert_problem(missing, 401, "authentication_required")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert_problem(client.open(url, method=method, headers={"Authorization": "Bearer"}), 401)
    assert_problem(client.open(url, method=method, headers={"Authorization": f"Basic {mine['token']}"}), 401)
    assert_problem(client.open(url, method=method, headers=bearer("wrong")), 403, "forbidden")
    assert_problem(client.open(url, method=method, headers=bearer(theirs["token"])), 403, "forbidden")
    # The admin token is not a booking token; it only cancels (issue 15: admins cancel any booking).
    admin_cancels = method == "DELETE" or suffix == "/cancel"
    if not admin_cancels:
        assert_problem(client.open(url, method=method, headers=bearer(app.config["ADMIN_TOKEN"])), 403)

    unknown = f"/api/bookings/{uuid.uuid4()}{suffix}"
    assert_problem(
        client.open(unknown, method=method, headers=bearer(mine["token"])), 404, "booking_not_found"
    )
    for malformed in ("not-a-uuid", "12345", "%F0%9F%8E%9F", "0" * 40):
        url = f"/api/bookings/{malformed}{suffix}"
        assert_problem(
            client.open(url, method=method, headers=bearer(mine["token"])), 404, "booking_not_found"
        )

    # Nothing changed through all of that.
    assert stored_booking(app, mine["booking"]["id"]).status == "PENDING"
    assert seat_statuses(client, show["id"])["A1"] == "HELD"
    if admin_cancels:  # tests/test_operations.py has the rest of the admin's cancel
        as_admin = client.open(f"/api/bookings/{mine['booking']['id']}{suffix}", method=method,
                               headers=bearer(app.config["ADMIN_TOKEN"]))  # fmt: skip
        assert as_admin.status_code == 200 and as_admin.get_json()["status"] == "CANCELLED"


# --- lazy expiry ----------------------------------------------------------------------------


def test_lazy_expiry_everywhere(app, client, make_show, admin_headers):
    show = make_show(rows=1, seats_per_row=4)
    held = hold_ok(client, show["id"], ["A1", "A2"])
    booking_id = held["booking"]["id"]
    lapse_hold(app, booking_id)  # no job runs in this test

    booking = client.get(f"/api/bookings/{booking_id}", headers=bearer(held["token"])).get_json()
    assert booking["status"] == "EXPIRED"
    assert booking["expired_at"] is not None
    assert timestamp(booking["created_at"]) <= timestamp(booking["expired_at"]) <= now_utc()
    assert stored_booking(app, booking_id).status == "PENDING"  # nothing written yet

    seats = client.get(f"/api/shows/{show['id']}/seats").get_json()["seats"]
    assert [(s["seat"], s["status"], s["hold_expires_at"]) for s in seats[:2]] == [
        ("A1", "AVAILABLE", None),
        ("A2", "AVAILABLE", None),
    ]
    stats = {"total": 4, "available": 4, "held": 0, "booked": 0}
    assert client.get(f"/api/shows/{show['id']}/seats/stats").get_json() == stats
    # The show's stats add the door's count (issue 13).
    assert client.get(f"/api/shows/{show['id']}").get_json()["stats"] == {**stats, "checked_in": 0}
    listed = client.get(f"/api/shows/{show['id']}/bookings?status=EXPIRED", headers=admin_headers).get_json()
    assert [b["id"] for b in listed["bookings"]] == [booking_id]
    pending = client.get(f"/api/shows/{show['id']}/bookings?status=PENDING", headers=admin_headers).get_json()
    assert pending["bookings"] == []

    # Another visitor takes one of the lapsed seats; the old booking is now EXPIRED for real.
    assert hold(client, show["id"], ["A2"], visitor="10.0.0.2").status_code == 201
    row = stored_booking(app, booking_id)
    assert row.status == "EXPIRED"
    assert row.expired_at is not None
    statuses = seat_statuses(client, show["id"])
    assert (statuses["A1"], statuses["A2"]) == ("AVAILABLE", "HELD")
    after = client.get(f"/api/bookings/{booking_id}", headers=bearer(held["token"])).get_json()
    assert after["status"] == "EXPIRED"
    assert after["seats"] == ["A1", "A2"]


# --- admin list ------------------------------------------------------------------------------


def test_admin_lists_bookings_with_status_filter_and_no_tokens(app, client, make_show, admin_headers):
    show = make_show()
    other_show = make_show()
    pending = hold_ok(client, show["id"], ["A1"])
    confirmed = hold_ok(client, show["id"], ["A2"])
    client.post(f"/api/bookings/{confirmed['booking']['id']}/confirm", headers=bearer(confirmed["token"]))
    cancelled = hold_ok(client, show["id"], ["A3"])
    client.delete(f"/api/bookings/{cancelled['booking']['id']}", headers=bearer(cancelled["token"]))
    expired = hold_ok(client, show["id"], ["A4"])
    lapse_hold(app, expired["booking"]["id"])
    elsewhere = hold_ok(client, other_show["id"], ["A1"])

    url = f"/api/shows/{show['id']}/bookings"
    response = client.get(url, headers=admin_headers)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"bookings"}
    everything = [pending, confirmed, cancelled, expired]
    assert [b["id"] for b in body["bookings"]] == [h["booking"]["id"] for h in everything]
    for booking in body["bookings"]:
        assert_booking_shape(booking)
    text = response.get_data(as_text=True)
    for secret in [h["token"] for h in [*everything, elsewhere]]:
        assert secret not in text
    assert "token" not in text
    assert elsewhere["booking"]["id"] not in text

    for status, source in [
        ("PENDING", pending),
        ("CONFIRMED", confirmed),
        ("CANCELLED", cancelled),
        ("EXPIRED", expired),
    ]:
        filtered = client.get(f"{url}?status={status}", headers=admin_headers).get_json()["bookings"]
        assert [b["id"] for b in filtered] == [source["booking"]["id"]]
        assert filtered[0]["status"] == status


@pytest.mark.parametrize("status", ["pending", "BOGUS", "", "CONFIRMED;DROP"])
def test_admin_list_bad_status_is_422(client, make_show, admin_headers, status):
    show = make_show()
    response = client.get(
        f"/api/shows/{show['id']}/bookings", query_string={"status": status}, headers=admin_headers
    )
    problem = assert_problem(response, 422, "validation_error")
    assert set(problem["errors"]) == {"status"}


def test_admin_list_auth_and_unknown_show(client, make_show, admin_headers):
    show = make_show()
    url = f"/api/shows/{show['id']}/bookings"
    assert_problem(client.get(url), 401, "authentication_required")
    assert_problem(client.get(url, headers=bearer("nope")), 403, "forbidden")
    held = hold_ok(client, show["id"], ["A1"])
    assert_problem(client.get(url, headers=bearer(held["token"])), 403, "forbidden")
    assert_problem(client.get("/api/shows/999/bookings", headers=admin_headers), 404, "show_not_found")
    assert_problem(client.get("/api/shows/abc/bookings", headers=admin_headers), 404, "show_not_found")
