"""Fault (a): Redis dies in the middle of a load of holds, and comes back.

A private redis-server (never the shared one) serves one gunicorn. Threads
hold, cancel and confirm seats the whole time; mid-load the server is
SIGKILLed, stays down a few seconds, and is started again on the same port
(empty: every lock key and cached seat map is gone). What must hold:

* holds keep succeeding while Redis is down: PostgreSQL's row locks decide;
* no answer but 201/409 to a hold, and no 5xx anywhere;
* no seat sold twice (the SQL invariants);
* seat locking resumes by itself: lock keys show up in the new Redis while
  the same gunicorn workers (no restart) serve the load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
from conftest import Figures
from flask import Flask
from invariants import assert_api_matches_database, assert_seat_invariants
from racing import Api
from support.processes import Server, start_gunicorn, stop_process

from faults.load import Answer, HoldLoad, between, statuses
from faults.servers import PrivateRedis, wait_for_workers

pytestmark = pytest.mark.faults

ROWS, SEATS_PER_ROW = 26, 40
WORKERS = 2
BEFORE_S, OUTAGE_S, AFTER_S = 3.0, 4.0, 3.0
#: How soon after Redis is back the workers must lock seats in it again.
RESUME_WITHIN_S = 15.0


class LockKeyWatcher:
    """Samples the private Redis for seat lock keys; remembers when it saw some.

    A lock lives only while its hold's transaction runs (milliseconds), so
    it polls in a tight loop; under a steady load of holds that is enough.
    """

    def __init__(self, server: PrivateRedis, prefix: str) -> None:
        self.client = server.client
        self.pattern = f"{prefix}seatlock:*"
        self.sightings: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockKeyWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.client.keys(self.pattern):
                    self.sightings.append(time.monotonic())
            except redis.RedisError:
                time.sleep(0.05)  # down: do not spin
            time.sleep(0.002)

    def seen_between(self, start: float, end: float) -> list[float]:
        return [t for t in self.sightings if start <= t < end]


@pytest.fixture
def server(app: Flask, test_env: dict[str, str], private_redis: PrivateRedis) -> Iterator[Server]:
    env = {
        **test_env,
        "REDIS_URL": private_redis.url,
        "MAX_HELD_SEATS_PER_VISITOR": "0",  # every request comes from 127.0.0.1
        # No hold lapses while the test runs: the final API/database comparison
        # must not race a lapse.
        "HOLD_SECONDS": "300",
    }
    server = start_gunicorn(env, workers=WORKERS, threads=4)
    yield server
    stop_process(server.process)


def _assert_clean_answers(answers: list[Answer]) -> None:
    unanswered = [a for a in answers if a.status is None]
    assert not unanswered, f"requests without an HTTP answer: {unanswered[:5]}"
    failures = [a for a in answers if a.status >= 500]  # type: ignore[operator]
    assert not failures, f"5xx answers: {statuses(failures)} {failures[:5]}"
    holds = [a for a in answers if a.action == "hold"]
    assert set(statuses(holds)) <= {201, 409}, statuses(holds)
    assert {a.code for a in holds if a.status == 409} <= {"seats_unavailable"}
    settles = [a for a in answers if a.action in ("cancel", "confirm")]
    assert set(statuses(settles)) <= {200}, [a for a in settles if a.status != 200][:5]
    reads = [a for a in answers if a.action == "read"]
    assert set(statuses(reads)) <= {200}, statuses(reads)


def test_holds_survive_a_redis_crash_and_locking_resumes(
    app: Flask,
    server: Server,
    private_redis: PrivateRedis,
    redis_prefix: str,
    figures: Figures,
) -> None:
    api = Api(server.url)
    show_id = api.create_show(rows=ROWS, seats_per_row=SEATS_PER_ROW)
    workers_before = wait_for_workers(server.process.pid, WORKERS)
    load = HoldLoad(server.url, show_id, ROWS, SEATS_PER_ROW, threads=6, cancel_share=0.85)

    with LockKeyWatcher(private_redis, redis_prefix) as watcher:
        load.start()
        try:
            started = time.monotonic()
            time.sleep(BEFORE_S)
            private_redis.kill()
            killed = time.monotonic()
            time.sleep(OUTAGE_S)
            restarting = time.monotonic()  # from here on keys may show up again
            private_redis.start()
            restarted = time.monotonic()  # it answers PING
            # Keep the load on until lock keys are back (bounded), then a little more.
            while not watcher.seen_between(restarting, float("inf")):
                assert time.monotonic() - restarted < RESUME_WITHIN_S, (
                    f"no seat lock key in the restarted Redis within {RESUME_WITHIN_S} s"
                )
                time.sleep(0.05)
            resumed = watcher.seen_between(restarting, float("inf"))[0]
            time.sleep(AFTER_S)
        finally:
            answers = load.stop()
    ended = time.monotonic()

    _assert_clean_answers(answers)

    before = between(answers, started, killed)
    # Requests sent while Redis was dead (a margin after the kill: a request
    # may have taken its lock just before).
    during = between(answers, killed + 0.1, restarting)
    after = between(answers, restarted, ended)
    holds_during = [a for a in during if a.action == "hold"]
    assert statuses(holds_during)[201] > 0, (
        f"no hold succeeded while Redis was down: {statuses(holds_during)}"
    )
    assert statuses(a for a in before if a.action == "hold")[201] > 0
    assert statuses(a for a in after if a.action == "hold")[201] > 0

    # The watcher could see locks before the crash, so not seeing any is meaningful...
    assert watcher.seen_between(started, killed), "no lock key seen before the crash: the watcher is blind"
    # ...and while Redis was dead there were none to see.
    assert not watcher.seen_between(killed, restarting)
    # The same workers served throughout: locking came back without a restart.
    assert wait_for_workers(server.process.pid, WORKERS) == workers_before

    assert_seat_invariants(app)
    assert_api_matches_database(app, api.get, api.admin_get, show_id)

    figures.record("requests (all)", len(answers))
    figures.record("holds while Redis was down", len(holds_during))
    figures.record("holds 201 while Redis was down", statuses(holds_during)[201])
    figures.record("holds 409 while Redis was down", statuses(holds_during)[409])
    figures.record("answers while down by status", dict(statuses(during)))
    figures.record("Redis restart took (s)", restarted - restarting)
    figures.record("lock keys back after the restart began (s)", resumed - restarting)
    figures.record("5xx answers", sum(1 for a in answers if (a.status or 0) >= 500))
