"""Limits a client cannot dodge: held seats per visitor and address, rate limits, scoped
idempotency keys, database timeouts, bounded nesting (docs/SECURITY.md).

Where the client's address matters the tests talk to a real gunicorn. It trusts one
proxy (TRUSTED_PROXIES=1), so each request says which address it comes from with
X-Forwarded-For, as a load balancer would.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import redis
import requests
from flask import Flask
from racing import seat_row_lock, wait_for_lock_waiters
from support.api import assert_problem, bearer, contract_client, hold, hold_ok
from support.database import libpq_dsn
from support.processes import Server, start_gunicorn, stop_process

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": "Bearer test-admin-token"}


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


@pytest.fixture(scope="module")
def limited_server(app: Flask, test_env: dict[str, str]) -> Iterator[Server]:
    """Limits on, small enough to reach in a test; held seats limited to 4 per visitor."""
    server = start_gunicorn(
        {
            **test_env,
            "TRUSTED_PROXIES": "1",
            "MAX_HELD_SEATS_PER_VISITOR": "4",
            "RATE_LIMIT": "on",
            "RATE_LIMIT_HOLDS": "5 per minute",
            "RATE_LIMIT_SIGN_IN_FAILURES": "10 per 10 minutes",
            "RATE_LIMIT_CHECKINS": "5 per minute",
            # A stuck row lock is given up on quickly.
            "DB_LOCK_TIMEOUT_MS": "300",
        },
        workers=2,
        threads=4,
    )
    yield server
    stop_process(server.process)


@pytest.fixture
def server(limited_server: Server, app: Flask) -> Server:
    """The limited server, on the tables and Redis keys each test starts empty (``app`` resets them)."""
    return limited_server


def make_show(server: Server, rows: int = 3, seats_per_row: int = 6) -> int:
    body = {
        "title": "Limits",
        "starts_at": "2099-01-01T20:00:00+00:00",
        "rows": rows,
        "seats_per_row": seats_per_row,
    }
    response = server.post("/api/shows", json=body, headers={**ADMIN, **from_address("10.9.9.9")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _csrf_token(page: requests.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:300]
    return match.group(1)


def web_hold(server: Server, show_id: int, seats: list[str], address: str) -> requests.Response:
    """A hold from the seat map by a new browser (no cookie yet), as a bot dropping its cookie would."""
    browser = requests.Session()
    page = browser.get(f"{server.url}/shows/{show_id}", headers=from_address(address), timeout=10)
    return browser.post(
        f"{server.url}/shows/{show_id}/hold",
        data={"seats": seats, "csrf_token": _csrf_token(page)},
        headers=from_address(address),
        allow_redirects=False,
        timeout=10,
    )


def held_seats(server: Server, show_id: int) -> list[str]:
    seats = server.get(f"/api/shows/{show_id}/seats").json()["seats"]
    return [seat["seat"] for seat in seats if seat["status"] == "HELD"]


# --- held seats per visitor and per address ------------------------------------------------


def test_dropping_the_cookie_does_not_escape_the_held_seat_limit(server: Server) -> None:
    show_id = make_show(server)
    # Four cookie-less visitors from one address, two seats each, against a limit of 4.
    answers = [web_hold(server, show_id, [f"{row}1", f"{row}2"], "10.1.1.1") for row in "ABC"]
    assert [a.status_code for a in answers] == [303, 303, 429]
    assert "at most 4 may be held at once" in answers[2].text
    assert sorted(held_seats(server, show_id)) == ["A1", "A2", "B1", "B2"]
    # The same address through the API counts too; another address does not.
    over = server.post(
        "/api/bookings", json={"show_id": show_id, "seats": ["C3"]}, headers=from_address("10.1.1.1")
    )
    assert over.status_code == 429 and over.json()["code"] == "too_many_holds"
    elsewhere = web_hold(server, show_id, ["C1", "C2"], "10.1.1.2")
    assert elsewhere.status_code == 303


def test_a_request_over_the_limit_never_locks_a_seat(
    server: Server, database_url: str, test_env: dict[str, str]
) -> None:
    show_id = make_show(server)
    for seats in (["A1", "A2"], ["A3", "A4"]):
        response = server.post(
            "/api/bookings", json={"show_id": show_id, "seats": seats}, headers=from_address("10.2.2.2")
        )
        assert response.status_code == 201
    lock_keys = [
        f"{test_env['REDIS_KEY_PREFIX']}seatlock:{{show:{show_id}}}:{label}" for label in ("B1", "B2")
    ]
    client = redis.Redis.from_url(test_env["REDIS_URL"])
    # Keep the over-limit request waiting inside the limit check (this address's
    # lock), and look at the seats it asked for meanwhile.
    with psycopg.connect(libpq_dsn(database_url)) as conn, ThreadPoolExecutor(max_workers=1) as pool:
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('address:10.2.2.2', 0))")
        over = pool.submit(
            server.post,
            "/api/bookings",
            json={"show_id": show_id, "seats": ["B1", "B2"]},
            headers=from_address("10.2.2.2"),
        )
        wait_for_lock_waiters(database_url, 1)
        assert client.exists(*lock_keys) == 0, "a request being turned away holds seat locks"
        conn.rollback()
        response = over.result(timeout=30)
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_holds"


# --- rate limits -----------------------------------------------------------------------------


def test_holds_are_rate_limited_per_address_with_retry_after(server: Server) -> None:
    show_id = make_show(server, rows=6)
    for row in "ABCDE":  # 5 per minute; each confirmed, so the held-seat limit stays out of the way
        response = server.post(
            "/api/bookings", json={"show_id": show_id, "seats": [f"{row}1"]}, headers=from_address("10.3.3.3")
        )
        assert response.status_code == 201, response.text
        held = response.json()
        confirmed = server.post(
            f"/api/bookings/{held['booking']['id']}/confirm",
            headers={**from_address("10.3.3.3"), "Authorization": f"Bearer {held['token']}"},
        )
        assert confirmed.status_code == 200
    limited = server.post(
        "/api/bookings", json={"show_id": show_id, "seats": ["F1"]}, headers=from_address("10.3.3.3")
    )
    assert limited.status_code == 429
    assert limited.headers["Content-Type"] == "application/problem+json"
    assert limited.json()["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Nothing was held by the refused request; other addresses go on.
    assert "F1" not in held_seats(server, show_id)
    other = server.post(
        "/api/bookings", json={"show_id": show_id, "seats": ["F1"]}, headers=from_address("10.3.3.4")
    )
    assert other.status_code == 201
    # The pages say it in words.
    page = web_hold(server, show_id, ["F2"], "10.3.3.3")
    assert page.status_code == 429
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Too many requests" in page.text
    assert int(page.headers["Retry-After"]) >= 1


def test_the_eleventh_failed_sign_in_is_refused_even_with_the_right_token(server: Server) -> None:
    address = from_address("10.4.4.4")
    browser = requests.Session()
    for _ in range(6):  # the admin sign-in form
        form = browser.get(f"{server.url}/admin", headers=address, timeout=10)
        wrong = browser.post(
            f"{server.url}/admin/sign-in",
            data={"token": f"guess-{secrets.token_hex(4)}", "csrf_token": _csrf_token(form)},
            headers=address,
            timeout=10,
        )
        assert wrong.status_code == 403
    for _ in range(4):  # and bearer tokens on the admin API count too
        wrong = server.get("/api/shows/1/bookings", headers={**address, "Authorization": "Bearer guess"})
        assert wrong.status_code == 403
    eleventh = server.get("/api/shows/1/bookings", headers={**address, **ADMIN})
    assert eleventh.status_code == 429
    assert eleventh.json()["code"] == "rate_limited"
    assert int(eleventh.headers["Retry-After"]) >= 1
    form = browser.get(f"{server.url}/admin", headers=address, timeout=10)
    page = browser.post(
        f"{server.url}/admin/sign-in",
        data={"token": "test-admin-token", "csrf_token": _csrf_token(form)},
        headers=address,
        timeout=10,
    )
    assert page.status_code == 429
    # A missing token guesses nothing and is not counted; another address is not affected.
    assert server.get("/api/shows/1/bookings", headers=from_address("10.4.4.5")).status_code == 401
    assert (
        server.post("/api/shows", json={}, headers={**from_address("10.4.4.5"), **ADMIN}).status_code == 422
    )


def test_check_ins_are_rate_limited_and_wrong_door_tokens_count_as_failed_sign_ins(server: Server) -> None:
    unknown = {"code": "Q" * 32}
    scanner = from_address("10.6.6.1")
    for _ in range(5):  # RATE_LIMIT_CHECKINS: 5 per minute here
        assert server.post("/api/checkins", json=unknown, headers={**scanner, **ADMIN}).status_code == 404
    limited = server.post("/api/checkins", json=unknown, headers={**scanner, **ADMIN})
    assert (limited.status_code, limited.json()["code"]) == (429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1

    address = from_address("10.6.6.2")
    browser = requests.Session()
    for _ in range(6):  # the door page's sign-in form
        form = browser.get(f"{server.url}/admin/checkin", headers=address, timeout=10)
        wrong = browser.post(
            f"{server.url}/admin/checkin/sign-in",
            data={"token": f"guess-{secrets.token_hex(4)}", "csrf_token": _csrf_token(form)},
            headers=address,
            timeout=10,
        )
        assert wrong.status_code == 403
    for _ in range(4):  # and wrong bearer tokens on the check-in API
        guess = {**address, "Authorization": "Bearer guess"}
        assert server.post("/api/checkins", json=unknown, headers=guess).status_code == 403
    eleventh = server.post("/api/checkins", json=unknown, headers={**address, **ADMIN})
    assert (eleventh.status_code, eleventh.json()["code"]) == (429, "rate_limited")


# --- timeouts --------------------------------------------------------------------------------


def test_a_stuck_row_lock_makes_a_hold_answer_busy_instead_of_hanging(
    server: Server, database_url: str
) -> None:
    show_id = make_show(server)
    with seat_row_lock(database_url, show_id, ["A1"]):
        response = server.post(
            "/api/bookings", json={"show_id": show_id, "seats": ["A1"]}, headers=from_address("10.5.5.5")
        )
    assert response.status_code == 503
    assert response.json()["code"] == "busy"
    assert response.headers["Retry-After"] == "1"
    # The lock is gone: the same hold goes through.
    again = server.post(
        "/api/bookings", json={"show_id": show_id, "seats": ["A1"]}, headers=from_address("10.5.5.5")
    )
    assert again.status_code == 201


# --- idempotency keys are the client's own ------------------------------------------------


def test_a_replayed_key_from_another_address_never_returns_the_token(app: Flask, make_show) -> None:
    show_id = make_show()["id"]
    key = {"Idempotency-Key": f"order-{secrets.token_hex(8)}"}
    ana, eve = contract_client(app), contract_client(app)
    ana.environ_base["REMOTE_ADDR"] = "10.6.6.1"
    eve.environ_base["REMOTE_ADDR"] = "10.6.6.2"
    first = hold_ok(ana, show_id, ["A1"], headers=key)
    replay = hold(ana, show_id, ["A1"], headers=key)
    assert replay.status_code == 201 and replay.get_json()["token"] == first["token"]

    stolen = hold(eve, show_id, ["A1"], headers=key)
    assert_problem(stolen, 409, "seats_unavailable")  # a new request, for seats already held
    assert first["token"] not in stolen.get_data(as_text=True)
    # Eve's own request with that key is hers alone, and holds other seats.
    theirs = hold_ok(eve, show_id, ["A2"], headers={"Idempotency-Key": f"order-{secrets.token_hex(8)}"})
    assert theirs["token"] != first["token"]
    assert (
        ana.get(f"/api/bookings/{first['booking']['id']}", headers=bearer(first["token"])).status_code == 200
    )


# --- bounded input ----------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 950, 1020, 5000])
def test_any_nesting_is_a_4xx(client, make_show, depth: int) -> None:
    show_id = make_show()["id"]
    nested = "[" * depth + "]" * depth
    for body in (
        f'{{"show_id": {show_id}, "seats": {nested}}}',
        f'{{"show_id": {show_id}, "seats": ["A1"], "email": {nested}}}',
        f'{{"show_id": {nested}, "seats": ["A1"]}}',
        nested,
    ):
        response = client.post("/api/bookings", data=body, content_type="application/json")
        assert response.status_code in (400, 422), (depth, response.status_code)
        assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "email",
    [
        "Ana <ana@example.com>",
        "ana@example.com, eve@example.com",
        "ana@example.com\r\nBcc: eve@example.com",
        "=?utf-8?q?ana?=@example.com",
        '"ana"@example.com',
        "ana@example.com eve@example.com",
    ],
)
def test_an_email_is_exactly_one_plain_address(client, make_show, email: str) -> None:
    show_id = make_show()["id"]
    problem = assert_problem(hold(client, show_id, ["A1"], email=email), 422, "validation_error")
    assert set(problem["errors"]) == {"email"}
    assert hold(client, show_id, ["A1"], email="ana.b+films@example.co.uk").status_code == 201
