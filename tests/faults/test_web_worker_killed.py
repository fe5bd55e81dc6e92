"""Fault (d): the gunicorn worker serving a hold is SIGKILLed in the middle of it.

The hold is made slow on purpose: a separate connection holds the seats'
row locks, so the request waits inside its PostgreSQL transaction, after
it took the Redis seat locks. Then the worker process that owns that
PostgreSQL session (found from pg_stat_activity's client port and the
worker's open sockets) is killed with SIGKILL, and the row locks are let go.
What must hold:

* no half booking: PostgreSQL rolls the orphaned transaction back (no
  booking row, the seats AVAILABLE), and the SQL invariants stand;
* the seats are not stuck for longer than the Redis lock's TTL: the dead
  worker's lock keys simply expire, after which the seats can be held.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from conftest import Figures
from flask import Flask
from invariants import assert_seat_invariants
from jobsupport import wait_for
from racing import Api, seat_row_lock, wait_for_lock_waiters
from support.database import libpq_dsn
from support.processes import Server, start_gunicorn, stop_process

from faults.servers import children, process_with_local_port, sigkill, wait_for_workers, wait_until_gone

pytestmark = pytest.mark.faults

SEAT_LOCK_TTL_MS = 3000
SEATS = ["C3", "C4"]
WORKERS = 2
#: Slack on top of the TTL for the probe's own pace (one 409 costs the lock
#: wait, 200 ms) and a loaded machine.
MARGIN_S = 1.5


@pytest.fixture
def server(app: Flask, test_env: dict[str, str]) -> Iterator[Server]:
    env = {**test_env, "SEAT_LOCK_TTL_MS": str(SEAT_LOCK_TTL_MS), "MAX_HELD_SEATS_PER_VISITOR": "0"}
    server = start_gunicorn(env, workers=WORKERS, threads=2)
    yield server
    stop_process(server.process)


def _waiting_session(database_url: str) -> tuple[int, int]:
    """(backend pid, client port) of the one session waiting on a row lock."""
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        rows = conn.execute(
            """
            SELECT pid, client_port FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
            """
        ).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0], rows[0][1]


def _backend_alive(database_url: str, backend: int) -> bool:
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone()
    return bool(row and row[0])


def _show_rows(database_url: str, show_id: int) -> tuple[int, int, dict[str, str]]:
    """(bookings, booking_seats rows, label -> seat status) of the show, straight from SQL."""
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        bookings = conn.execute("SELECT count(*) FROM bookings WHERE show_id = %s", (show_id,)).fetchone()
        recorded = conn.execute(
            "SELECT count(*) FROM booking_seats bs JOIN seats s ON s.id = bs.seat_id WHERE s.show_id = %s",
            (show_id,),
        ).fetchone()
        seats = conn.execute(
            "SELECT label, status FROM seats WHERE show_id = %s AND label = ANY(%s)", (show_id, SEATS)
        ).fetchall()
    assert bookings is not None and recorded is not None
    return bookings[0], recorded[0], dict(seats)


def test_a_worker_killed_mid_hold_leaves_no_half_booking_and_no_stuck_seat(
    app: Flask, server: Server, database_url: str, redis_prefix: str, redis_conn, figures: Figures
) -> None:
    api = Api(server.url)
    show_id = api.create_show(rows=5, seats_per_row=8)
    master = server.process.pid
    workers = wait_for_workers(master, WORKERS)
    lock_keys = [f"{redis_prefix}seatlock:{{show:{show_id}}}:{label}" for label in SEATS]

    with ThreadPoolExecutor(max_workers=1) as pool:
        with seat_row_lock(database_url, show_id, SEATS):
            doomed = pool.submit(api.hold, show_id, SEATS)
            wait_for_lock_waiters(database_url, 1)
            backend, client_port = _waiting_session(database_url)
            # It is past Redis: its lock keys are there, with their TTL running.
            ttls_ms = [redis_conn.pttl(key) for key in lock_keys]
            seen_at = time.monotonic()
            assert all(0 < ttl <= SEAT_LOCK_TTL_MS for ttl in ttls_ms), ttls_ms
            locked_at = seen_at - (SEAT_LOCK_TTL_MS - min(ttls_ms)) / 1000

            victim = process_with_local_port(workers, client_port)
            sigkill(victim)
            wait_until_gone(victim)
            killed_at = time.monotonic()

            # The dead worker's Redis locks still turn the seats away...
            stuck = api.hold(show_id, SEATS)
            assert stuck.status_code == 409, stuck.text
            assert stuck.json()["code"] == "seats_unavailable"
        # ...and its PostgreSQL session, let go of the row locks, finds no
        # client to answer and rolls back.
        with pytest.raises(requests.ConnectionError):
            doomed.result(timeout=30)
    wait_for(lambda: not _backend_alive(database_url, backend), 20, "the orphaned session to end")

    bookings, recorded, seat_status = _show_rows(database_url, show_id)
    assert (bookings, recorded) == (0, 0), "the killed hold left rows behind"
    assert seat_status == dict.fromkeys(SEATS, "AVAILABLE")
    assert_seat_invariants(app)

    # Probe until the seats can be held again; the lock TTL bounds the wait.
    attempts = 0
    while True:
        attempts += 1
        probe = api.hold(show_id, SEATS)
        if probe.status_code == 201:
            free_at = time.monotonic()
            break
        assert probe.status_code == 409, probe.text
        assert time.monotonic() - locked_at < SEAT_LOCK_TTL_MS / 1000 + 10, "the seats stay stuck"
        time.sleep(0.05)
    stuck_for = free_at - locked_at
    assert stuck_for <= SEAT_LOCK_TTL_MS / 1000 + MARGIN_S, f"stuck {stuck_for:.2f} s"
    assert probe.json()["booking"]["seats"] == SEATS
    assert_seat_invariants(app)
    # gunicorn replaced the dead worker; the other one served on throughout.
    replacement = wait_for_workers(master, WORKERS)
    assert victim not in replacement and set(workers) - {victim} <= set(replacement)
    assert children(master) == replacement

    figures.record("lock TTL (s)", SEAT_LOCK_TTL_MS / 1000)
    figures.record("seats stuck after the lock was taken (s)", stuck_for)
    figures.record("seats stuck after the kill (s)", free_at - killed_at)
    figures.record("probe holds until free", attempts)
