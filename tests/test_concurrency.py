"""Real parallel HTTP requests against a real gunicorn: the seat rules hold under races.

Every test releases its requests from one barrier, lets gunicorn's workers
and threads interleave them however they like, and then checks both the
answers and the rows (tests/invariants.py).
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

import pytest
import redis
from conftest import ConfigOverrides
from flask import Flask
from invariants import assert_api_matches_database, assert_seat_invariants, seat_holders
from racing import Api, fire_together, lock_waiters, seat_row_lock, wait_for_lock_waiters
from sqlalchemy import text
from support.processes import Server, free_port, start_gunicorn, stop_process


@pytest.fixture
def api(live_server: Server) -> Api:
    return Api(live_server.url)


def lock_keys(prefix: str, show_id: int, labels: list[str]) -> list[str]:
    return [f"{prefix}seatlock:{{show:{show_id}}}:{label}" for label in labels]


def test_fifty_parallel_holds_of_the_same_seats_give_exactly_one_booking(app: Flask, api: Api) -> None:
    show_id = api.create_show(rows=2, seats_per_row=5)

    responses = fire_together([lambda: api.hold(show_id, ["A1", "A2"])] * 50)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 49}, statuses
    for response in responses:
        if response.status_code == 409:
            body = response.json()
            assert body["code"] == "seats_unavailable"
            assert body["seats"] and set(body["seats"]) <= {"A1", "A2"}
    (winner,) = [r.json()["booking"] for r in responses if r.status_code == 201]
    assert winner["seats"] == ["A1", "A2"]
    holders = seat_holders(app, show_id)
    assert holders["A1"] == holders["A2"] == winner["id"]
    assert_seat_invariants(app)
    assert_api_matches_database(app, api.get, api.admin_get, show_id)


@pytest.fixture(scope="module")
def server_without_redis(app: Flask, test_env: dict[str, str]) -> Iterator[Api]:
    """A gunicorn whose Redis is unreachable: every race is decided by PostgreSQL alone."""
    env = {
        **test_env,
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "MAX_HELD_SEATS_PER_VISITOR": "0",
        "WEB_THREADS": "8",
    }
    server = start_gunicorn(env, workers=2, threads=8)
    yield Api(server.url)
    stop_process(server.process)


@pytest.mark.slow
@pytest.mark.parametrize("server", ["live_server", "server_without_redis"])
def test_two_hundred_overlapping_holds_never_share_a_seat(
    app: Flask, server: str, request: pytest.FixtureRequest
) -> None:
    """Through Redis locks (which serialise overlapping requests) and without
    them (where overlapping requests meet on PostgreSQL row locks)."""
    found = request.getfixturevalue(server)
    api = found if isinstance(found, Api) else Api(found.url)
    rows, per_row = 5, 10
    show_id = api.create_show(rows=rows, seats_per_row=per_row)
    labels = [f"{chr(65 + r)}{n}" for r in range(rows) for n in range(1, per_row + 1)]
    rng = random.Random(20240601)
    requests_seats = [rng.sample(labels, rng.randint(1, 4)) for _ in range(200)]

    responses = fire_together([partial(api.hold, show_id, seats) for seats in requests_seats])

    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    won: dict[str, list[str]] = {}
    for seats, response in zip(requests_seats, responses, strict=True):
        body = response.json()
        if response.status_code == 201:
            assert body["booking"]["status"] == "PENDING"
            assert sorted(body["booking"]["seats"]) == sorted(seats)
            won[body["booking"]["id"]] = seats
        else:
            assert body["code"] == "seats_unavailable"
            assert body["seats"] and set(body["seats"]) <= set(seats)

    assert_seat_invariants(app)
    holders = seat_holders(app, show_id)
    # Every successful hold owns exactly the seats it asked for, and nothing
    # else holds a seat: a 409 left no trace behind.
    pointing: dict[str, set[str]] = {}
    for label, booking_id in holders.items():
        if booking_id is not None:
            pointing.setdefault(booking_id, set()).add(label)
    assert pointing == {booking_id: set(seats) for booking_id, seats in won.items()}
    status, listed = api.admin_get(f"/api/shows/{show_id}/bookings")
    assert status == 200
    assert {b["id"] for b in listed["bookings"]} == set(won)
    assert_api_matches_database(app, api.get, api.admin_get, show_id)


@pytest.mark.slow
def test_two_hundred_overlapping_holds_on_a_plan_with_gaps_never_share_a_seat(app: Flask, api: Api) -> None:
    """The same race on a priced plan with aisles, gaps and kinds: seat numbers
    skip the gaps, and every winner's total is the sum of its seats' prices."""
    layout = ["..sssss.sssss..", ".ssssss.ssssss.", "ssspppp.ppppsss", "sssssss.sssssss", "w.sssss.sssss.w"]
    prices = {"standard": 900, "premium": 1350, "wheelchair": 900}
    show_id = api.create_show(layout=layout, prices=prices, currency="EUR")
    status, listing = api.get(f"/api/shows/{show_id}/seats")
    assert status == 200
    price_of = {seat["seat"]: seat["price"] for seat in listing["seats"]}
    labels = sorted(price_of)
    rng = random.Random(20261130)
    requests_seats = [rng.sample(labels, rng.randint(1, 4)) for _ in range(200)]

    responses = fire_together([partial(api.hold, show_id, seats) for seats in requests_seats])

    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    won: dict[str, set[str]] = {}
    for seats, response in zip(requests_seats, responses, strict=True):
        if response.status_code == 201:
            booking = response.json()["booking"]
            assert booking["total"] == sum(price_of[label] for label in seats)
            assert booking["currency"] == "EUR"
            won[booking["id"]] = set(seats)
    assert_seat_invariants(app)
    pointing: dict[str, set[str]] = {}
    for label, booking_id in seat_holders(app, show_id).items():
        if booking_id is not None:
            pointing.setdefault(booking_id, set()).add(label)
    assert pointing == won
    assert_api_matches_database(app, api.get, api.admin_get, show_id)


def test_parallel_confirms_of_one_booking_all_succeed_once(app: Flask, api: Api) -> None:
    show_id = api.create_show(rows=1, seats_per_row=4)
    held = api.hold(show_id, ["A1", "A2"]).json()
    booking_id, token = held["booking"]["id"], held["token"]

    responses = fire_together([lambda: api.act("confirm", booking_id, token)] * 10)

    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    bodies = [r.json() for r in responses]
    assert {b["status"] for b in bodies} == {"CONFIRMED"}
    assert len({b["confirmed_at"] for b in bodies}) == 1
    final = api.booking(booking_id, token)
    assert final["status"] == "CONFIRMED"
    assert final["confirmed_at"] == bodies[0]["confirmed_at"]
    _, listing = api.get(f"/api/shows/{show_id}/seats")
    assert [s["status"] for s in listing["seats"]] == ["BOOKED", "BOOKED", "AVAILABLE", "AVAILABLE"]
    assert_seat_invariants(app)
    assert_api_matches_database(app, api.get, api.admin_get, show_id)


@pytest.mark.slow
def test_cancel_racing_confirm_never_leaves_a_booked_seat_behind(app: Flask, api: Api) -> None:
    rounds = 20
    show_id = api.create_show(rows=rounds, seats_per_row=2)
    outcomes: Counter[str] = Counter()
    for round_number in range(rounds):
        row = chr(65 + round_number)
        seats = [f"{row}1", f"{row}2"]
        held = api.hold(show_id, seats).json()
        booking_id, token = held["booking"]["id"], held["token"]
        actions = ["confirm", "cancel", "confirm", "cancel"]
        if round_number % 2:
            actions.reverse()

        responses = fire_together([partial(api.act, a, booking_id, token) for a in actions])

        confirmed = False
        for action, response in zip(actions, responses, strict=True):
            body = response.json()
            if action == "cancel":
                assert response.status_code == 200, body
                assert body["status"] == "CANCELLED"
            elif response.status_code == 200:
                assert body["status"] == "CONFIRMED"
                confirmed = True
            else:
                assert (response.status_code, body["code"]) == (409, "booking_cancelled"), body
        final = api.booking(booking_id, token)
        assert final["status"] == "CANCELLED"
        # CONFIRMED-then-CANCELLED exactly when some confirm answered 200.
        assert (final["confirmed_at"] is not None) == confirmed, final
        if confirmed:
            confirmed_at = datetime.fromisoformat(final["confirmed_at"])
            assert confirmed_at <= datetime.fromisoformat(final["cancelled_at"])
        holders = seat_holders(app, show_id)
        assert holders[seats[0]] is None and holders[seats[1]] is None
        outcomes["confirmed then cancelled" if confirmed else "cancelled first"] += 1
        assert_seat_invariants(app)
    assert sum(outcomes.values()) == rounds
    _, listing = api.get(f"/api/shows/{show_id}/seats")
    assert {s["status"] for s in listing["seats"]} == {"AVAILABLE"}
    assert_api_matches_database(app, api.get, api.admin_get, show_id)
    print(f"cancel/confirm race outcomes over {rounds} rounds: {dict(outcomes)}")


def test_a_redis_lock_turns_away_racers_while_its_holder_is_in_postgresql(
    app: Flask, api: Api, database_url: str, redis_conn: redis.Redis, redis_prefix: str
) -> None:
    """The control for the expired-lock test below: with the normal TTL, only
    the lock holder reaches PostgreSQL; the others get 409 after the bounded wait."""
    show_id = api.create_show(rows=1, seats_per_row=4)
    seats = ["A1", "A2"]
    with ThreadPoolExecutor(max_workers=6) as pool, seat_row_lock(database_url, show_id, seats):
        first = pool.submit(api.hold, show_id, seats)
        wait_for_lock_waiters(database_url, 1)
        assert redis_conn.exists(*lock_keys(redis_prefix, show_id, seats)) == 2
        racers = [pool.submit(api.hold, show_id, seats) for _ in range(5)]
        turned_away = [future.result(timeout=30) for future in racers]
        assert lock_waiters(database_url) == 1
        assert not first.done()
    assert first.result(timeout=30).status_code == 201
    for response in turned_away:
        assert response.status_code == 409
        assert response.json()["code"] == "seats_unavailable"
        assert response.json()["seats"] == seats
    # Released after the commit, before the answer went out: the locks became
    # markers of seats taken (webapp/locks.py), no longer the holder's.
    assert redis_conn.mget(lock_keys(redis_prefix, show_id, seats)) == [b"taken", b"taken"]
    assert_seat_invariants(app)


@pytest.fixture(scope="module")
def short_lock_server(app: Flask, test_env: dict[str, str]) -> Iterator[Api]:
    """A gunicorn whose seat locks expire after 50 ms, long before a slow transaction ends.

    The wait is long, so every racer eventually takes the (expired) lock and
    goes on to PostgreSQL instead of being turned away by Redis.
    """
    env = {
        **test_env,
        "MAX_HELD_SEATS_PER_VISITOR": "0",
        "SEAT_LOCK_TTL_MS": "50",
        "SEAT_LOCK_WAIT_MS": "5000",
        # Sizes each worker's PostgreSQL pool for its 8 threads: every racer
        # must reach PostgreSQL even if all of them land on one worker.
        "WEB_THREADS": "8",
    }
    server = start_gunicorn(env, workers=2, threads=8)
    yield Api(server.url)
    stop_process(server.process)


@pytest.mark.slow
def test_a_redis_lock_expiring_mid_transaction_cannot_double_book(
    app: Flask,
    short_lock_server: Api,
    database_url: str,
    redis_conn: redis.Redis,
    redis_prefix: str,
) -> None:
    api = short_lock_server
    show_id = api.create_show(rows=1, seats_per_row=4)
    seats = ["A1", "A2"]
    racers = 8
    with ThreadPoolExecutor(max_workers=racers) as pool:
        with seat_row_lock(database_url, show_id, seats):
            started = time.monotonic()
            futures = [pool.submit(api.hold, show_id, seats) for _ in range(racers)]
            # Every racer got past Redis and now waits on the row locks: that
            # is only possible because each lock expired while its owner was
            # still inside its transaction.
            wait_for_lock_waiters(database_url, racers)
            # The last racer's 50 ms lock runs out while it, too, still waits.
            deadline = time.monotonic() + 10
            while redis_conn.exists(*lock_keys(redis_prefix, show_id, seats)):
                assert time.monotonic() < deadline, "the 50 ms seat locks never expired"
                time.sleep(0.01)
            assert not any(future.done() for future in futures)
            assert lock_waiters(database_url) == racers
        responses = [future.result(timeout=60) for future in futures]
        elapsed = time.monotonic() - started

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: racers - 1}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "seats_unavailable"
            assert response.json()["seats"] == seats
    (winner,) = [r.json()["booking"] for r in responses if r.status_code == 201]
    holders = seat_holders(app, show_id)
    assert holders["A1"] == holders["A2"] == winner["id"]
    assert elapsed > 0.05  # the locks' TTL: they ran out before anyone finished
    assert_seat_invariants(app)
    assert_api_matches_database(app, api.get, api.admin_get, show_id)


# --- what "now" means for a request that waited ------------------------------------------
#
# PostgreSQL's now() is the start of the transaction. A confirm or cancel that
# begins, then waits for row locks, must judge and stamp the booking by the
# time it actually got them, or it confirms a hold that lapsed while it
# waited, and records a cancel as older than the confirm it followed.


def test_a_hold_that_lapses_while_its_confirm_waits_is_not_confirmed(
    app: Flask, client, make_show, database_url: str, app_config: ConfigOverrides
) -> None:
    app_config.set(HOLD_SECONDS=1)
    show_id = make_show()["id"]
    held = client.post("/api/bookings", json={"show_id": show_id, "seats": ["A1"]}).get_json()
    booking_url = f"/api/bookings/{held['booking']['id']}"
    auth = {"Authorization": f"Bearer {held['token']}"}

    with ThreadPoolExecutor(max_workers=1) as pool:
        with seat_row_lock(database_url, show_id, ["A1"]):
            confirming = pool.submit(lambda: app.test_client().post(booking_url + "/confirm", headers=auth))
            wait_for_lock_waiters(database_url, 1)  # its transaction began before the hold lapsed
            deadline = time.monotonic() + 10
            while client.get(booking_url, headers=auth).get_json()["status"] != "EXPIRED":
                assert time.monotonic() < deadline, "the hold never lapsed"
                time.sleep(0.05)
        response = confirming.result(timeout=30)

    # Readers were already told EXPIRED; the late confirm must not turn that into CONFIRMED.
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "hold_expired"
    assert client.get(booking_url, headers=auth).get_json()["status"] == "EXPIRED"
    seats = client.get(f"/api/shows/{show_id}/seats").get_json()["seats"]
    assert seats[0]["status"] == "AVAILABLE"
    assert_seat_invariants(app)


def test_a_cancel_that_waited_for_a_confirm_is_stamped_after_it(app: Flask, client, make_show) -> None:
    from webapp.booking import queries, settle
    from webapp.extensions import db

    show_id = make_show()["id"]
    held = client.post("/api/bookings", json={"show_id": show_id, "seats": ["A1"]}).get_json()
    booking_id, token = uuid.UUID(held["booking"]["id"]), held["token"]

    with app.app_context():  # the cancel's transaction: it has begun (it read the booking)...
        queries.authorize_booking(db.session, booking_id, token)
        # ...and the clock has moved on since it began, so that stamping the
        # cancel with the transaction's start would date it before the confirm.
        deadline = time.monotonic() + 5
        while not db.session.execute(text("SELECT clock_timestamp() > now() + interval '1 ms'")).scalar():
            assert time.monotonic() < deadline
        with app.app_context():  # ...when a confirm starts later and commits first
            confirmed = settle.confirm_booking(db.session, booking_id, token).booking
            db.session.commit()
        cancelled = settle.cancel_booking(db.session, booking_id, token).booking
        db.session.commit()

    assert cancelled["status"] == "CANCELLED"
    assert cancelled["confirmed_at"] == confirmed["confirmed_at"]
    assert cancelled["confirmed_at"] < cancelled["cancelled_at"]
    assert_seat_invariants(app)
