"""Security properties: secrets at rest, in logs and in comparisons; headers; the hold limit.

* Booking tokens are stored only as their SHA-256 (and, for an idempotent
  replay, masked with a pad only the Idempotency-Key's holder can derive);
  no table, and no Redis key, ever holds a token or a raw Idempotency-Key.
* Every secret comparison goes through ``hmac.compare_digest``.
* A real gunicorn, logging as in production (access log and app log),
  never writes ADMIN_TOKEN, SECRET_KEY, a booking token, an Idempotency-Key
  or a session cookie, through a flow of API and page calls with errors.
* Every kind of response carries the security headers: pages, API, errors,
  static files, the 304s of the WSGI shortcut (webapp/fastpath.py).
* MAX_HELD_SEATS_PER_VISITOR holds under concurrency: parallel holds from
  one address (or one browser session) never squeeze past the limit, and a
  forged X-Forwarded-For does not make another visitor.
"""

from __future__ import annotations

import ast
import hashlib
import hmac
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from flask import Flask
from sqlalchemy import text
from support.api import bearer, hold
from support.processes import ROOT, Server, free_port, start_gunicorn, stop_process

import webapp.fastpath
from webapp.extensions import db
from webapp.security import SECURITY_HEADERS

# --- tokens at rest ------------------------------------------------------------------


def _every_row_as_text(app: Flask) -> str:
    """Every row of every table, as PostgreSQL renders it (bytea as \\x hex)."""
    with app.app_context():
        tables = db.session.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ).scalars()
        dump = []
        for table in tables:
            rows = db.session.execute(text(f'SELECT row_to_json(t)::text FROM "{table}" t')).scalars()
            dump.extend(rows)
        return "\n".join(dump)


def _every_redis_key_and_value(redis_conn: redis.Redis, prefix: str) -> bytes:
    dump = []
    for key in redis_conn.scan_iter(match=f"{prefix}*", count=1000):
        dump.append(key)
        kind = redis_conn.type(key)
        if kind == b"string":
            dump.append(redis_conn.get(key) or b"")
        elif kind == b"hash":
            dump.extend(b"%s=%s" % item for item in redis_conn.hgetall(key).items())
        elif kind == b"list":
            dump.extend(redis_conn.lrange(key, 0, -1))
        elif kind == b"set":
            dump.extend(redis_conn.smembers(key))
        elif kind == b"zset":
            dump.extend(redis_conn.zrange(key, 0, -1))
    return b"\n".join(dump)


def _forms(text_: str) -> list[str]:
    """A secret in every form it could be stored in: as is, and as hex of its bytes (bytea)."""
    return [text_, text_.encode().hex()]


def test_booking_tokens_are_stored_only_as_their_sha256(app, client, make_show, redis_conn, redis_prefix):
    show = make_show(rows=2, seats_per_row=4)
    key = f"order-{secrets.token_hex(8)}"
    first = hold(client, show["id"], ["A1"], headers={"Idempotency-Key": key}, email="ana@example.com")
    assert first.status_code == 201
    token = first.get_json()["token"]
    booking_id = first.get_json()["booking"]["id"]
    # The web pages keep their tokens in the session cookie, never in the database.
    web = app.test_client()
    page_hold = web.post(f"/shows/{show['id']}/hold", data={"seats": ["B1"]})
    assert page_hold.status_code == 303
    with web.session_transaction() as session:
        [(web_booking_id, web_token)] = session["bookings"].items()
    client.post(f"/api/bookings/{booking_id}/confirm", headers=bearer(token))  # writes the outbox too

    with app.app_context():
        stored = dict(db.session.execute(text("SELECT id::text, token_hash FROM bookings")).all())
        idempotency = db.session.execute(text("SELECT key_hash, masked_token FROM idempotency_keys")).one()
    assert stored == {
        booking_id: hashlib.sha256(token.encode()).digest(),
        web_booking_id: hashlib.sha256(web_token.encode()).digest(),
    }
    # The idempotency record keeps what a replay needs, but neither the key nor the token in clear.
    assert len(idempotency.key_hash) == 32 and idempotency.key_hash != key.encode()
    assert idempotency.masked_token != token.encode()
    assert len(idempotency.masked_token) == len(token)

    database = _every_row_as_text(app)
    assert booking_id in database  # the dump does see the rows it searches
    cached = _every_redis_key_and_value(redis_conn, redis_prefix)
    for secret in [token, web_token, key]:
        for form in _forms(secret):
            assert form not in database
            assert form.encode() not in cached

    # Only the key's holder gets the token back.
    replay = hold(client, show["id"], ["A1"], headers={"Idempotency-Key": key}, email="ana@example.com")
    assert replay.status_code == 201 and replay.get_json()["token"] == token


# --- constant-time comparison ----------------------------------------------------------


@pytest.fixture
def compare_digest_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Every call of hmac.compare_digest (still doing the comparison)."""
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    return calls


def test_every_token_check_compares_in_constant_time(
    app, client, make_show, admin_headers, compare_digest_calls
):
    show = make_show()
    held = hold(client, show["id"], ["A1"]).get_json()
    url = f"/api/bookings/{held['booking']['id']}"
    token, wrong = held["token"], "x" * 43
    web = app.test_client()
    web_booking = web.post(f"/shows/{show['id']}/hold", data={"seats": ["B1"]}).headers["Location"]
    with web.session_transaction() as session:
        [web_token] = session["bookings"].values()

    def digest(sent: str) -> bytes:
        return hashlib.sha256(sent.encode()).digest()

    # (what, request, status, the argument compare_digest must have seen)
    checks: list[tuple[str, Callable[[], Any], int, bytes]] = [
        ("booking token, right", lambda: client.get(url, headers=bearer(token)), 200, digest(token)),
        ("booking token, wrong", lambda: client.get(url, headers=bearer(wrong)), 403, digest(wrong)),
        (
            "booking token, confirm",
            lambda: client.post(f"{url}/confirm", headers=bearer(token)),
            200,
            digest(token),
        ),
        ("booking page, session's token", lambda: web.get(web_booking), 200, digest(web_token)),
        (
            "admin token, right",
            lambda: client.get(f"/api/shows/{show['id']}/bookings", headers=admin_headers),
            200,
            b"test-admin-token",
        ),
        (
            "admin token, wrong",
            lambda: client.post("/api/shows", json={}, headers=bearer("nope")),
            403,
            b"nope",
        ),
        (
            "admin sign-in form",
            lambda: app.test_client().post("/admin/sign-in", data={"token": "nope2"}),
            403,
            b"nope2",
        ),
    ]
    for what, call, status, compared in checks:
        compare_digest_calls.clear()
        assert call().status_code == status, what
        assert any(compared in (a, b) for a, b in compare_digest_calls), f"{what}: not via compare_digest"
    # Booking tokens are compared as digests: equal lengths whatever was sent, so no length leak.
    compare_digest_calls.clear()
    client.get(url, headers=bearer("short"))
    assert [(len(a), len(b)) for a, b in compare_digest_calls] == [(32, 32)]


_SECRET_NAME = re.compile(r"token|secret|digest|password", re.IGNORECASE)


def _names_in(node: ast.AST) -> set[str]:
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
        elif isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.add(child.value)  # session["token"] and the like
    return found


def test_no_secret_is_compared_with_equality_operators():
    """== and != stop at the first differing byte; secrets must go through hmac.compare_digest."""
    offenders = []
    for path in sorted((ROOT / "webapp").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare) or not any(
                isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
            ):
                continue
            operands = [node.left, *node.comparators]
            if any(isinstance(o, ast.Constant) and o.value in ("bearer", None) for o in operands):
                continue  # the scheme name, not a secret
            if any(_SECRET_NAME.search(name) for operand in operands for name in _names_in(operand)):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []


# --- no secrets in the logs ---------------------------------------------------------------


def start_logged_gunicorn(env: dict[str, str], log: Path) -> Server:
    """A gunicorn that logs as in production: access log on stdout, errors and app log on stderr."""
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "wsgi:app"],
            cwd=ROOT,
            env={**os.environ, "WEB_THREADS": "4", **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 90  # see support.processes.start_gunicorn
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if server.get("/healthz").status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    stop_process(process)
    raise RuntimeError("gunicorn did not become healthy within 90 s")


def _csrf_token(page: requests.Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def _session_of(cookie: str, secret_key: str) -> dict[str, Any]:
    """Read a Flask session cookie the way the server does."""
    reader = Flask(__name__)
    reader.secret_key = secret_key
    serializer = reader.session_interface.get_signing_serializer(reader)  # type: ignore[attr-defined]
    return serializer.loads(cookie)


def _flow(server: Server, admin_token: str, secret_key: str) -> list[str]:
    """API and page calls, right and wrong; returns every token and cookie it saw."""
    seen: list[str] = []
    admin = bearer(admin_token)
    api = requests.Session()
    created = api.post(
        f"{server.url}/api/shows",
        json={"title": "Log Test", "starts_at": "2099-01-01T20:00:00+00:00", "rows": 3, "seats_per_row": 8},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    show_id = created.json()["id"]
    assert api.get(f"{server.url}/api/shows/{show_id}/bookings", headers=admin).status_code == 200
    assert (
        api.get(f"{server.url}/api/shows/{show_id}/bookings", headers=bearer(admin_token[::-1])).status_code
        == 403
    )

    key = f"key-{secrets.token_hex(12)}"
    seen.append(key)
    held = api.post(
        f"{server.url}/api/bookings",
        json={"show_id": show_id, "seats": ["A1", "A2"], "email": "ana@example.com"},
        headers={"Idempotency-Key": key},
    )
    assert held.status_code == 201, held.text
    token, booking_url = held.json()["token"], f"{server.url}/api/bookings/{held.json()['booking']['id']}"
    seen.append(token)
    other = api.post(f"{server.url}/api/bookings", json={"show_id": show_id, "seats": ["B1"]}).json()
    seen.append(other["token"])
    for headers, status in [
        (bearer(token), 200),
        (bearer(other["token"]), 403),  # someone else's token
        (bearer(token + "x"), 403),
        ({"Authorization": f"Basic {token}"}, 401),
        ({}, 401),
    ]:
        assert api.get(booking_url, headers=headers).status_code == status
    assert api.post(f"{booking_url}/confirm", headers=bearer(token)).status_code == 200
    replay = api.post(
        f"{server.url}/api/bookings",
        json={"show_id": show_id, "seats": ["A1", "A2"], "email": "ana@example.com"},
        headers={"Idempotency-Key": key},
    )
    assert replay.json()["token"] == token
    assert api.delete(booking_url, headers=bearer(token)).status_code == 200
    assert api.post(f"{booking_url}/cancel", headers=bearer(other["token"])).status_code == 403
    assert (
        api.post(
            f"{server.url}/api/bookings", data="{bad json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert api.get(f"{server.url}/api/bookings/{'0' * 8}", headers=bearer(token)).status_code == 404

    # The pages: the session cookie carries the booking tokens, the admin form the admin token.
    browser = requests.Session()
    page = browser.get(f"{server.url}/shows/{show_id}")
    held_page = browser.post(
        f"{server.url}/shows/{show_id}/hold",
        data={"seats": ["C1"], "csrf_token": _csrf_token(page)},
        allow_redirects=False,
    )
    assert held_page.status_code == 303, held_page.text[:500]
    cookie = browser.cookies["session"]
    seen.append(cookie)
    seen.extend(_session_of(cookie, secret_key)["bookings"].values())  # the page's booking token
    booking_page = browser.get(f"{server.url}{held_page.headers['Location']}")
    assert booking_page.status_code == 200
    csrf = _csrf_token(booking_page)
    booking_path = held_page.headers["Location"]
    assert browser.post(f"{server.url}{booking_path}/confirm", data={"csrf_token": csrf}).status_code == 200
    assert browser.post(f"{server.url}{booking_path}/cancel", data={"csrf_token": csrf}).status_code == 200
    sign_in_page = browser.get(f"{server.url}/admin")
    for attempt, status in [("wrong-" + admin_token, 403), (admin_token, 200)]:
        response = browser.post(
            f"{server.url}/admin/sign-in", data={"token": attempt, "csrf_token": _csrf_token(sign_in_page)}
        )
        assert response.status_code == status
    seen.extend(cookie.value for cookie in browser.cookies if cookie.value)
    seen.extend(cookie.value for cookie in api.cookies if cookie.value)
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("redis_up", [True, False], ids=["redis-up", "redis-down"])
def test_logs_never_contain_secrets_or_tokens(app, test_env, tmp_path, redis_up):
    """With Redis down too: the app then logs warnings on every hold and poll."""
    admin_token = f"admin-{secrets.token_urlsafe(24)}"
    secret_key = f"secret-{secrets.token_urlsafe(24)}"
    env = {
        **test_env,
        "ADMIN_TOKEN": admin_token,
        "SECRET_KEY": secret_key,
        "GUNICORN_LOG_LEVEL": "debug",  # stricter than production's info
        "MAX_HELD_SEATS_PER_VISITOR": "0",
    }
    if not redis_up:
        env["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    log = tmp_path / "gunicorn.log"
    server = start_logged_gunicorn(env, log)
    try:
        seen = _flow(server, admin_token, secret_key)
    finally:
        stop_process(server.process)
    logged = log.read_text(errors="replace")

    # The logs were captured: the app's request lines (with booking ids, which
    # are fine; never query strings) and its messages.
    assert "marquee.request: POST /api/bookings 201" in logged, logged[-2000:]
    assert re.search(r"marquee\.request: POST /api/bookings/[0-9a-f-]{36}/confirm 200", logged)
    assert "marquee.request: POST /admin/sign-in 303" in logged
    if not redis_up:
        assert "Redis unreachable" in logged
    secrets_ = {"ADMIN_TOKEN": admin_token, "SECRET_KEY": secret_key}
    secrets_.update({f"seen #{n}": value for n, value in enumerate(seen)})
    assert len(seen) >= 6  # three tokens, the Idempotency-Key, session cookies
    leaked = [name for name, value in secrets_.items() if value in logged]
    assert leaked == []


# --- security headers ------------------------------------------------------------------------


def assert_security_headers(response: Any, what: str) -> None:
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, f"{what}: {name} is {headers.get(name)!r}"
    # Spelled out, so that emptying SECURITY_HEADERS cannot pass unnoticed.
    assert "default-src 'self'" in headers["Content-Security-Policy"], what
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], what
    assert headers["X-Content-Type-Options"] == "nosniff", what
    assert headers["X-Frame-Options"] == "DENY", what
    assert headers["Referrer-Policy"] == "same-origin", what


@pytest.mark.slow
def test_every_kind_of_response_carries_the_security_headers(live_server, make_show, admin_headers):
    show = make_show()
    held = live_server.post("/api/bookings", json={"show_id": show["id"], "seats": ["A1"]}).json()
    seats_url = f"/api/shows/{show['id']}/seats"
    etag = live_server.get(seats_url).headers["ETag"]
    # At once, before the holds below change the seats: answered by the WSGI
    # shortcut while the snapshot is cached, by Flask otherwise.
    not_modified = live_server.get(seats_url, headers={"If-None-Match": etag})
    static = live_server.get("/static/app.js")
    url = live_server.url
    responses: dict[str, tuple[requests.Response, int]] = {
        "page: index": (live_server.get("/"), 200),
        "page: seat map": (live_server.get(f"/shows/{show['id']}"), 200),
        "page: seat map poll": (live_server.get(f"/shows/{show['id']}/seatmap"), 200),
        "page: admin sign-in": (live_server.get("/admin"), 200),
        "page: someone else's booking": (live_server.get(f"/bookings/{held['booking']['id']}"), 404),
        "page: 404": (live_server.get("/no/such/page"), 404),
        "page: unknown show": (live_server.get("/shows/999999"), 404),
        "page: 405": (requests.put(f"{url}/", timeout=10), 405),
        "form without CSRF token": (live_server.post(f"/shows/{show['id']}/hold", data={"seats": "A2"}), 400),
        "api: list": (live_server.get("/api/shows"), 200),
        "api: created": (
            live_server.post("/api/bookings", json={"show_id": show["id"], "seats": ["A3"]}),
            201,
        ),
        "api: seats": (live_server.get(seats_url), 200),
        "api: 304": (not_modified, 304),
        "api: 401": (live_server.get(f"/api/bookings/{held['booking']['id']}"), 401),
        "api: 403": (live_server.post("/api/shows", json={}, headers=bearer("wrong")), 403),
        "api: 404": (live_server.get("/api/nothing/here"), 404),
        "api: 405": (requests.put(f"{url}/api/shows", timeout=10), 405),
        "api: 409": (live_server.post("/api/bookings", json={"show_id": show["id"], "seats": ["A1"]}), 409),
        "api: 413": (live_server.post("/api/bookings", json={"seats": ["A1"] * 12_000}), 413),
        "api: 415": (live_server.post("/api/bookings", data="x"), 415),
        "api: 422": (live_server.post("/api/shows", json={}, headers=admin_headers), 422),
        "api: HEAD": (requests.head(f"{url}/api/shows", timeout=10), 200),
        "api: OPTIONS": (requests.options(f"{url}/api/shows", timeout=10), 200),
        "openapi.json": (live_server.get("/api/openapi.json"), 200),
        "healthz": (live_server.get("/healthz"), 200),
        "readyz": (live_server.get("/readyz"), 200),
        "static file": (static, 200),
        "static file, 304": (
            live_server.get("/static/app.js", headers={"If-None-Match": static.headers.get("ETag", "")}),
            304,
        ),
        "static file, 404": (live_server.get("/static/nothing.js"), 404),
    }
    for what, (response, status) in responses.items():
        assert response.status_code == status, f"{what}: {response.status_code} {response.text[:200]}"
        assert_security_headers(response, what)


def test_the_fast_path_304_carries_the_headers_flask_would_add(
    app, client, make_show, monkeypatch, app_config
):
    """Proved to be the shortcut's answer: Flask behind it is replaced by a failure."""
    show = make_show()
    url = f"/api/shows/{show['id']}/seats"
    first = client.get(url)
    shortcut = app.wsgi_app.next  # inside webapp/requestlog.py's RequestLog, which wraps everything
    assert isinstance(shortcut, webapp.fastpath.ConditionalSeatListing)

    def flask_must_not_run(environ: dict[str, Any], start_response: Any) -> Any:
        raise AssertionError(f"Flask answered {environ['PATH_INFO']}")

    flask = shortcut.next
    monkeypatch.setattr(shortcut, "next", flask_must_not_run)
    response = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert response.status_code == 304
    assert response.headers["ETag"] == first.headers["ETag"]
    assert response.headers["X-Request-ID"]
    assert_security_headers(response, "fast-path 304")
    assert "Strict-Transport-Security" not in response.headers  # plain http, not production

    # In production over https (as ProxyFix reports it), both paths add HSTS.
    monkeypatch.setattr(shortcut, "app_env", "production")
    secure = client.get(url, headers={"If-None-Match": first.headers["ETag"]}, base_url="https://localhost")
    assert secure.status_code == 304
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    monkeypatch.setattr(shortcut, "next", flask)
    app_config.set(APP_ENV="production")
    page = client.get("/", base_url="https://localhost")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert_security_headers(page, "https page")


# --- the per-visitor hold limit under concurrency ------------------------------------------


LIMIT = 10


@pytest.fixture(scope="module")
def limited_server(app: Flask, test_env: dict[str, str]) -> Iterator[Server]:
    """The default limit, and one trusted proxy in front, as behind a load balancer."""
    server = start_gunicorn({**test_env, "MAX_HELD_SEATS_PER_VISITOR": str(LIMIT), "TRUSTED_PROXIES": "1"})
    yield server
    stop_process(server.process)


def _at_once(count: int, request: Callable[[int], requests.Response]) -> list[requests.Response]:
    """``count`` requests released together, so that they race inside the server."""
    barrier = threading.Barrier(count)

    def go(index: int) -> requests.Response:
        barrier.wait()
        return request(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(go, range(count)))


def _held_seats(app: Flask, visitor: str) -> int:
    with app.app_context():
        return db.session.execute(
            text(
                """
                SELECT count(*) FROM bookings b JOIN booking_seats bs ON bs.booking_id = b.id
                WHERE b.visitor = :visitor AND b.status = 'PENDING'
                """
            ),
            {"visitor": visitor},
        ).scalar_one()


@pytest.mark.slow
def test_parallel_api_holds_from_one_client_stop_at_the_limit(app, limited_server, make_show):
    show = make_show(rows=3, seats_per_row=10)
    client_address = "203.0.113.7"

    def hold_one(index: int) -> requests.Response:
        # The load balancer appends the address it saw; whatever the client
        # put before it (a forged address per request) must not count.
        forwarded = f"198.51.100.{index}, {client_address}"
        return limited_server.post(
            "/api/bookings",
            json={"show_id": show["id"], "seats": [f"A{index % 10 + 1}" if index < 10 else f"B{index - 9}"]},
            headers={"X-Forwarded-For": forwarded},
        )

    responses = _at_once(20, hold_one)
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: LIMIT, 429: 20 - LIMIT}, statuses
    for response in responses:
        if response.status_code == 429:
            assert response.headers["Content-Type"] == "application/problem+json"
            problem = response.json()
            assert problem["code"] == "too_many_holds" and problem["limit"] == LIMIT
            assert problem["held"] + 1 > LIMIT
    assert _held_seats(app, f"ip:{client_address}") == LIMIT
    # Another client behind the same load balancer is a visitor of its own.
    other = limited_server.post(
        "/api/bookings",
        json={"show_id": show["id"], "seats": ["C1"]},
        headers={"X-Forwarded-For": "203.0.113.8"},
    )
    assert other.status_code == 201


@pytest.mark.slow
def test_without_trusted_proxies_x_forwarded_for_is_ignored(app, test_env, make_show):
    server = start_gunicorn({**test_env, "MAX_HELD_SEATS_PER_VISITOR": "3", "TRUSTED_PROXIES": "0"})
    try:
        show = make_show(rows=1, seats_per_row=10)
        statuses = Counter(
            server.post(
                "/api/bookings",
                json={"show_id": show["id"], "seats": [f"A{index + 1}"]},
                headers={"X-Forwarded-For": f"198.51.100.{index}"},
            ).status_code
            for index in range(6)
        )
    finally:
        stop_process(server.process)
    assert statuses == {201: 3, 429: 3}
    assert _held_seats(app, "ip:127.0.0.1") == 3


@pytest.mark.slow
def test_parallel_page_holds_from_one_browser_session_stop_at_the_limit(app, limited_server, make_show):
    show = make_show(rows=3, seats_per_row=10)
    browser = requests.Session()
    page = browser.get(f"{limited_server.url}/shows/{show['id']}")
    csrf = _csrf_token(page)
    # The first hold gives the session its visitor id; the rest race under it.
    first = browser.post(
        f"{limited_server.url}/shows/{show['id']}/hold",
        data={"seats": ["A1"], "csrf_token": csrf},
        allow_redirects=False,
    )
    assert first.status_code == 303
    cookie = browser.cookies.get("session")
    assert cookie

    def hold_one(index: int) -> requests.Response:
        return requests.post(
            f"{limited_server.url}/shows/{show['id']}/hold",
            data={"seats": [f"B{index + 1}" if index < 10 else f"C{index - 9}"], "csrf_token": csrf},
            cookies={"session": cookie},
            allow_redirects=False,
            timeout=10,
        )

    responses = _at_once(19, hold_one)
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {303: LIMIT - 1, 429: 19 - (LIMIT - 1)}, statuses
    refused = next(response for response in responses if response.status_code == 429)
    assert "at most 10 may be held" in refused.text
    with app.app_context():
        visitors = db.session.execute(
            text("SELECT visitor, count(*) FROM bookings WHERE status = 'PENDING' GROUP BY visitor")
        ).all()
    assert len(visitors) == 1 and visitors[0][0].startswith("session:") and visitors[0][1] == LIMIT
