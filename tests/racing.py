"""Helpers for tests that race real HTTP requests against a real gunicorn.

``fire_together`` releases every request from one barrier so they really
overlap; ``seat_row_lock`` holds PostgreSQL row locks on seats from a
separate connection, which makes the server's hold transactions slow on
demand; ``wait_for_lock_waiters`` tells when requests have queued behind it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import requests
from conftest import ADMIN_TOKEN
from support.database import libpq_dsn

T = TypeVar("T")

ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HTTP_TIMEOUT_S = 60


def fire_together(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, all released at the same instant."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result() for future in futures]


@contextmanager
def seat_row_lock(database_url: str, show_id: int, labels: Sequence[str]) -> Iterator[None]:
    """Hold ``FOR UPDATE`` locks on these seats until the block ends (then roll back)."""
    with psycopg.connect(libpq_dsn(database_url)) as conn:
        locked = conn.execute(
            "SELECT id FROM seats WHERE show_id = %s AND label = ANY(%s) ORDER BY id FOR UPDATE",
            (show_id, list(labels)),
        ).fetchall()
        assert len(locked) == len(labels)
        try:
            yield
        finally:
            conn.rollback()


def lock_waiters(database_url: str) -> int:
    """How many sessions of the test database are waiting for a row lock right now."""
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        row = conn.execute(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'
              AND pid <> pg_backend_pid()
            """
        ).fetchone()
    assert row is not None
    return int(row[0])


def wait_for_lock_waiters(
    database_url: str, expected: int, timeout_s: float = 20.0, *, at_least: bool = False
) -> int:
    """Block until ``expected`` (or, with ``at_least``, that many or more) sessions
    wait on row locks; returns how many did. Fails after the timeout."""
    deadline = time.monotonic() + timeout_s
    seen = -1
    while time.monotonic() < deadline:
        seen = lock_waiters(database_url)
        if seen == expected or (at_least and seen > expected):
            return seen
        time.sleep(0.02)
    raise AssertionError(f"expected {expected} sessions waiting on row locks, saw {seen}")


class Api:
    """A thin JSON client for a running server, with the timeouts races need."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def create_show(self, rows: int, seats_per_row: int) -> int:
        body = {
            "title": "Race night",
            "starts_at": "2099-01-01T20:00:00+00:00",
            "rows": rows,
            "seats_per_row": seats_per_row,
        }
        response = requests.post(
            self.base_url + "/api/shows", json=body, headers=ADMIN_HEADERS, timeout=HTTP_TIMEOUT_S
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def hold(self, show_id: int, seats: Sequence[str]) -> requests.Response:
        return requests.post(
            self.base_url + "/api/bookings",
            json={"show_id": show_id, "seats": list(seats)},
            timeout=HTTP_TIMEOUT_S,
        )

    def act(self, action: str, booking_id: str, token: str) -> requests.Response:
        return requests.post(
            f"{self.base_url}/api/bookings/{booking_id}/{action}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT_S,
        )

    def booking(self, booking_id: str, token: str) -> dict[str, Any]:
        response = requests.get(
            f"{self.base_url}/api/bookings/{booking_id}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT_S,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def get(self, path: str) -> tuple[int, Any]:
        response = requests.get(self.base_url + path, timeout=HTTP_TIMEOUT_S)
        return response.status_code, response.json()

    def admin_get(self, path: str) -> tuple[int, Any]:
        response = requests.get(self.base_url + path, headers=ADMIN_HEADERS, timeout=HTTP_TIMEOUT_S)
        return response.status_code, response.json()
