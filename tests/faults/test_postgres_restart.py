"""Fault (b): PostgreSQL restarts in the middle of a load of holds.

The shared cluster on 5432 serves other test runs, so this test makes a
cluster of its own (initdb in a temporary directory, a free port), migrates
it, and points one gunicorn at it. Threads hold, cancel, confirm and read
the whole time; mid-load the cluster is stopped (``pg_ctl stop -m fast``:
open transactions are rolled back, every connection cut), kept down for a
moment, and started again. What must hold:

* while it is down, requests fail cleanly: 503 problem+json with the code
  ``database_unavailable`` (and ``Retry-After``), never a 500, never a hang;
* the same workers recover by themselves within seconds (a disconnect empties the
  pool, idle connections are pinged), no gunicorn restart;
* no hold is left half done: every booking has all its seats, every seat
  its booking (the SQL invariants), and every hold answered 201 is there.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from conftest import Figures
from flask import Flask
from invariants import assert_seat_invariants
from racing import Api
from sqlalchemy import text
from support.database import libpq_dsn
from support.processes import Server, start_gunicorn, stop_process

from faults.load import Answer, HoldLoad, between, statuses
from faults.servers import PrivatePostgres, wait_for_workers
from webapp import create_app
from webapp.extensions import db

pytestmark = pytest.mark.faults

ROWS, SEATS_PER_ROW = 26, 40
WORKERS = 2
BEFORE_S, OUTAGE_S, AFTER_S = 3.0, 2.0, 4.0
#: After PostgreSQL accepts connections again, every request sent later than
#: this must be served normally.
RECOVER_WITHIN_S = 5.0


@pytest.fixture
def private_env(test_env: dict[str, str], private_postgres: PrivatePostgres) -> dict[str, str]:
    env = {
        **test_env,
        "DATABASE_URL": private_postgres.url,
        "MAX_HELD_SEATS_PER_VISITOR": "0",  # every request comes from 127.0.0.1
        "HOLD_SECONDS": "300",  # nothing lapses during the test
    }
    private_postgres.create_database(env)
    return env


@pytest.fixture
def private_app(private_env: dict[str, str]) -> Iterator[Flask]:
    """The app, in this process, on the private cluster: for the SQL invariants."""
    old_env = os.environ.get("APP_ENV")
    os.environ["APP_ENV"] = "test"
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": private_env["DATABASE_URL"],
                "REDIS_URL": private_env["REDIS_URL"],
                "REDIS_KEY_PREFIX": private_env["REDIS_KEY_PREFIX"],
                "SECRET_KEY": private_env["SECRET_KEY"],
            }
        )
    finally:
        if old_env is None:
            os.environ.pop("APP_ENV", None)
        else:
            os.environ["APP_ENV"] = old_env
    yield app
    with app.app_context():
        db.engine.dispose()  # before the cluster is stopped and deleted


@pytest.fixture
def server(private_env: dict[str, str], private_app: Flask) -> Iterator[Server]:
    server = start_gunicorn(private_env, workers=WORKERS, threads=4)
    yield server
    stop_process(server.process)


def _problem_is_clean(answer: Answer) -> bool:
    return (
        answer.content_type.startswith("application/problem+json") and answer.code == "database_unavailable"
    )


def test_postgres_restart_gives_clean_503s_and_the_app_recovers(
    private_app: Flask, private_postgres: PrivatePostgres, server: Server, figures: Figures
) -> None:
    api = Api(server.url)
    show_id = api.create_show(rows=ROWS, seats_per_row=SEATS_PER_ROW)
    workers_before = wait_for_workers(server.process.pid, WORKERS)
    load = HoldLoad(server.url, show_id, ROWS, SEATS_PER_ROW, threads=6, cancel_share=0.85)

    load.start()
    try:
        time.sleep(BEFORE_S)
        stopping = time.monotonic()
        private_postgres.stop("fast")
        stopped = time.monotonic()
        time.sleep(OUTAGE_S)
        private_postgres.start()
        restarted = time.monotonic()  # pg_ctl -w: accepting connections from here on
        time.sleep(RECOVER_WITHIN_S + AFTER_S)
    finally:
        answers = load.stop()

    unanswered = [a for a in answers if a.status is None]
    assert not unanswered, f"requests without an HTTP answer: {unanswered[:5]}"
    assert set(statuses(answers)) <= {200, 201, 409, 503}, statuses(answers)
    unavailable = [a for a in answers if a.status == 503]
    assert all(_problem_is_clean(a) for a in unavailable), [
        a for a in unavailable if not _problem_is_clean(a)
    ][:5]
    assert {a.code for a in answers if a.status == 409} <= {"seats_unavailable"}

    # Answered before the stop began (one sent just before may still be cut).
    before = [a for a in answers if a.ended < stopping]
    during = between(answers, stopping, restarted)
    after = between(answers, restarted, float("inf"))
    assert set(statuses(before)) <= {200, 201, 409}, statuses(before)
    assert statuses(a for a in before if a.action == "hold")[201] > 0
    assert statuses(during)[503] > 0, f"the outage did not show: {statuses(during)}"
    # Recovery: when the last request sent after the restart failed.
    late_failures = [a for a in after if a.status == 503]
    recovered_after = max((a.ended - restarted for a in late_failures), default=0.0)
    assert recovered_after <= RECOVER_WITHIN_S, f"503s until {recovered_after:.1f} s after the restart"
    settled = between(answers, restarted + RECOVER_WITHIN_S, float("inf"))
    assert statuses(a for a in settled if a.action == "hold")[201] > 0
    first_hold = min(a.ended for a in after if a.action == "hold" and a.status == 201)
    # The same workers, no restart: the pool replaced their dead connections.
    assert wait_for_workers(server.process.pid, WORKERS) == workers_before

    assert_seat_invariants(private_app)
    held = {a.booking_id for a in answers if a.action == "hold" and a.status == 201}
    with private_app.app_context():
        stored = set(db.session.execute(text("SELECT id::text FROM bookings")).scalars())
        db.session.rollback()
    assert held <= stored, f"holds answered 201 but not stored: {sorted(held - stored)[:5]}"

    figures.record("requests (all)", len(answers))
    figures.record("requests sent during the outage", len(during))
    figures.record("answers during the outage by status", dict(statuses(during)))
    figures.record("503 database_unavailable (all)", len(unavailable))
    figures.record("500 answers", statuses(answers)[500])
    figures.record("pg_ctl stop -m fast took (s)", stopped - stopping)
    figures.record("PostgreSQL down for (s)", restarted - stopped)
    figures.record("last 503 after the restart (s)", recovered_after)
    figures.record("first 201 after the restart (s)", first_hold - restarted)


def test_a_connection_cut_after_the_answer_does_not_fail_the_request(app: Flask, database_url: str) -> None:
    """The rare end of the race above, made certain: PostgreSQL cuts a read's
    connection after the view has run, so only the ROLLBACK that ends the
    request's transaction meets the dead connection."""
    with app.test_request_context("/api/shows"):
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(libpq_dsn(database_url), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (backend,))
        # Leaving the context runs the teardowns; without a guard this raises
        # OperationalError (AdminShutdown), which gunicorn answers with a bare 500.
    with app.test_request_context("/api/shows"):
        again = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert again != backend  # a fresh connection replaced the dead one
