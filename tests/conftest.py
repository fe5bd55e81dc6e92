"""Shared fixtures: a throwaway PostgreSQL database and a private Redis namespace.

Tests never touch the data of ``make run``: the database is created for the
session and dropped after it, and every Redis key (locks, queues, caches)
lives under a prefix unique to the session on a separate Redis DB number.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url
from support.database import forget_seat_snapshots
from support.processes import ROOT, Server, start_gunicorn, stop_process

from webapp import create_app, seatcache
from webapp.extensions import db

__all__ = ["ROOT", "Server", "forget_seat_snapshots"]  # for the few tests that still import them here

BASE_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL",
    os.environ.get("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
ADMIN_TOKEN = "test-admin-token"


def _admin_dsn(url: str) -> str:
    """A libpq DSN for the maintenance database of the server in ``url``."""
    parsed = make_url(url).set(drivername="postgresql", database="postgres")
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"marquee_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = _admin_dsn(BASE_DATABASE_URL)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(BASE_DATABASE_URL).set(drivername="postgresql+psycopg", database=name)
    yield url.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def redis_prefix() -> str:
    return f"marquee-test-{os.getpid()}-{secrets.token_hex(3)}:"


@pytest.fixture(scope="session")
def test_env(
    database_url: str, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Environment for app processes started by tests (gunicorn, workers)."""
    return {
        "APP_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "REDIS_KEY_PREFIX": redis_prefix,
        "RQ_QUEUE": f"{redis_prefix}jobs",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "SECRET_KEY": "test-secret-key",
        "MAILBOX_DIR": str(tmp_path_factory.mktemp("mailbox")),
        # The job tests read RQ's per-job lines ("Job OK") from worker logs.
        "WORKER_LOG_LEVEL": "INFO",
    }


@pytest.fixture(scope="session")
def app(test_env: dict[str, str]) -> Iterator[Flask]:
    config: dict[str, Any] = {
        "SQLALCHEMY_DATABASE_URI": test_env["DATABASE_URL"],
        "REDIS_URL": test_env["REDIS_URL"],
        "REDIS_KEY_PREFIX": test_env["REDIS_KEY_PREFIX"],
        "RQ_QUEUE": test_env["RQ_QUEUE"],
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "SECRET_KEY": test_env["SECRET_KEY"],
        "MAILBOX_DIR": test_env["MAILBOX_DIR"],
        "TESTING": True,
        "APP_ENV": "test",
        "WTF_CSRF_ENABLED": False,
    }
    old_env = os.environ.get("APP_ENV")
    os.environ["APP_ENV"] = "test"
    try:
        app = create_app(config)
    finally:
        if old_env is None:
            os.environ.pop("APP_ENV", None)
        else:
            os.environ["APP_ENV"] = old_env
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def redis_conn() -> redis.Redis:
    return redis.Redis.from_url(TEST_REDIS_URL)


def reset_state(app: Flask, redis_conn: redis.Redis, prefix: str) -> None:
    with app.app_context():
        db.session.execute(
            text(
                "TRUNCATE auditoriums, shows, seats, bookings, booking_seats, idempotency_keys"
                " RESTART IDENTITY CASCADE"
            )
        )
        db.session.commit()
    keys = list(redis_conn.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        redis_conn.delete(*keys)
    # Show ids start again at 1: no process may remember a grid of an earlier test's show.
    memo = app.extensions.get(seatcache.LOCAL_GRIDS)
    if memo is not None:
        memo.clear()


@pytest.fixture(autouse=True)
def clean_state(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test that uses the database starts from empty tables and no Redis keys."""
    if "app" not in request.fixturenames and "live_server" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    reset_state(app, request.getfixturevalue("redis_conn"), request.getfixturevalue("redis_prefix"))
    yield


class ConfigOverrides:
    """Settings one test changes on the shared app; ``app_config`` puts the saved values back after it."""

    _UNSET = object()

    def __init__(self, app: Flask) -> None:
        self._config = app.config
        self._saved: dict[str, Any] = {}

    def set(self, **values: Any) -> None:
        for name, value in values.items():
            self._saved.setdefault(name, self._config.get(name, self._UNSET))
            self._config[name] = value

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is self._UNSET:
                self._config.pop(name, None)
            else:
                self._config[name] = value
        self._saved.clear()


@pytest.fixture
def app_config(app: Flask) -> Iterator[ConfigOverrides]:
    """The one way a test changes the app's settings: ``app_config.set(HOLD_SECONDS=1)``."""
    overrides = ConfigOverrides(app)
    try:
        yield overrides
    finally:
        overrides.restore()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def make_show(client: FlaskClient, admin_headers: dict[str, str]):
    """Create a show through the API; returns its JSON."""

    def make(rows: int = 3, seats_per_row: int = 4, **fields: Any) -> dict[str, Any]:
        body = {
            "title": "Test Show",
            "starts_at": "2099-01-01T20:00:00+00:00",
            "rows": rows,
            "seats_per_row": seats_per_row,
            **fields,
        }
        if "layout" in fields or "auditorium_id" in fields:  # a seat plan replaces the rectangle
            del body["rows"], body["seats_per_row"]
        response = client.post("/api/shows", json=body, headers=admin_headers)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    return make


#: (test, figure, value) in the order recorded; printed by pytest_terminal_summary.
_FIGURES: list[tuple[str, str, str]] = []


class Figures:
    """What a test measured (delays, counts), printed in a section at the end of the run.

    Measurements are reported, not asserted against speed targets, except
    where the contract itself sets a bound (the 2 s live-update limit).
    """

    def __init__(self, test: str) -> None:
        self.test = test

    def record(self, figure: str, value: object) -> None:
        text = f"{value:.2f}" if isinstance(value, float) else str(value)
        _FIGURES.append((self.test, figure, text))


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    return Figures(request.node.name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("measured figures")
        for test, figure, value in _FIGURES:
            terminalreporter.write_line(f"{test}: {figure} = {value}")


@pytest.fixture(scope="session")
def _live_server_process(app: Flask, test_env: dict[str, str]) -> Iterator[Server]:
    # The app fixture has migrated the database already. No per-visitor limit:
    # concurrency tests send everything from one address.
    server = start_gunicorn({**test_env, "MAX_HELD_SEATS_PER_VISITOR": "0"})
    yield server
    stop_process(server.process)


@pytest.fixture
def live_server(_live_server_process: Server, app: Flask) -> Server:
    """A real gunicorn serving the test database, shared by the session."""
    return _live_server_process
