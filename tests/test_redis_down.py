"""Holds stay correct when Redis dies, and seat locking comes back with it.

A private redis-server (never the shared one on 6379) serves one gunicorn;
the test kills it, races holds, checks readiness, restarts it on the same
port and waits for the workers to lock seats in Redis again by themselves.
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from flask import Flask
from invariants import assert_api_matches_database, assert_seat_invariants, seat_holders
from racing import Api, seat_row_lock, wait_for_lock_waiters
from support.processes import free_port, start_gunicorn, stop_process

from webapp.config import load_config
from webapp.extensions import RedisClient
from webapp.locks import SeatLocker

pytestmark = pytest.mark.slow


class PrivateRedis:
    """A redis-server this test owns: it may be killed and restarted at will."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        """Die like a crashed server: no shutdown, connections cut."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def server_on_private_redis(
    app: Flask, test_env: dict[str, str], private_redis: PrivateRedis
) -> Iterator[Api]:
    env = {
        **test_env,
        "REDIS_URL": private_redis.url,
        "MAX_HELD_SEATS_PER_VISITOR": "0",
        # Long enough to see a lock key while its holder waits in PostgreSQL.
        "SEAT_LOCK_TTL_MS": "20000",
        "WEB_THREADS": "8",  # a PostgreSQL pool as large as the thread count
    }
    server = start_gunicorn(env, workers=2, threads=8)
    yield Api(server.url)
    stop_process(server.process)


def lock_key(prefix: str, show_id: int, label: str) -> str:
    return f"{prefix}seatlock:{{show:{show_id}}}:{label}"


def hold_sees_a_redis_lock(
    api: Api, database_url: str, private_redis: PrivateRedis, prefix: str, show_id: int, label: str
) -> bool:
    """Hold ``label`` while PostgreSQL keeps the request waiting; was its Redis lock there?"""
    with ThreadPoolExecutor(max_workers=1) as pool:
        with seat_row_lock(database_url, show_id, [label]):
            future = pool.submit(api.hold, show_id, [label])
            # Waiting on the row lock means it has already been past Redis.
            wait_for_lock_waiters(database_url, 1)
            try:
                locked = private_redis.client.exists(lock_key(prefix, show_id, label)) == 1
            except redis.ConnectionError:
                locked = False
        response = future.result(timeout=60)
    assert response.status_code == 201, response.text
    return locked


def readiness(api: Api) -> tuple[int, dict]:
    return api.get("/readyz")


def test_holds_stay_correct_without_redis_and_locking_resumes(
    app: Flask,
    server_on_private_redis: Api,
    private_redis: PrivateRedis,
    database_url: str,
    redis_prefix: str,
) -> None:
    api = server_on_private_redis
    show_id = api.create_show(rows=26, seats_per_row=10)
    labels = iter(f"{chr(65 + r)}{n}" for r in range(1, 26) for n in range(1, 11))

    # Redis up: ready, and a hold in flight owns a lock key.
    assert readiness(api)[0] == 200
    assert hold_sees_a_redis_lock(api, database_url, private_redis, redis_prefix, show_id, next(labels))

    private_redis.kill()

    status, body = readiness(api)
    assert status == 503
    assert body["checks"]["redis"].startswith("down")
    assert body["checks"]["postgresql"] == "ok"

    # With no Redis lock to turn them away, the racers meet in PostgreSQL:
    # hold the rows until a crowd of them waits there, then let them go.
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        with seat_row_lock(database_url, show_id, ["A1", "A2"]):
            futures = [pool.submit(api.hold, show_id, ["A1", "A2"]) for _ in range(50)]
            crowd = wait_for_lock_waiters(database_url, 8, at_least=True)
        responses = [future.result(timeout=60) for future in futures]
    race_seconds = time.monotonic() - started
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 409: 49}, statuses
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "seats_unavailable"
    (winner,) = [r.json()["booking"] for r in responses if r.status_code == 201]
    holders = seat_holders(app, show_id)
    assert holders["A1"] == holders["A2"] == winner["id"]
    assert_seat_invariants(app)
    assert_api_matches_database(app, api.get, api.admin_get, show_id)
    # Still down, still not ready, and still holding seats on row locks alone.
    assert readiness(api)[0] == 503
    assert not hold_sees_a_redis_lock(api, database_url, private_redis, redis_prefix, show_id, "A3")

    private_redis.start()
    restarted = time.monotonic()

    # Every worker finds Redis again by itself: no restart, no manual reset.
    # A worker that failed just before the restart skips Redis for up to a
    # second (SeatLocker's back-off), so resumption is the moment from which
    # holds keep taking locks: five in a row, whichever workers serve them.
    attempts, in_a_row = 0, 0
    while in_a_row < 5:
        attempts += 1
        locked = hold_sees_a_redis_lock(api, database_url, private_redis, redis_prefix, show_id, next(labels))
        in_a_row = in_a_row + 1 if locked else 0
        assert time.monotonic() - restarted < 15, "seat locking did not resume within 15 s"
    resumed_after = time.monotonic() - restarted
    deadline = time.monotonic() + 10
    while readiness(api)[0] != 200:
        assert time.monotonic() < deadline, "/readyz stayed 503 after Redis came back"
        time.sleep(0.1)
    assert_seat_invariants(app)
    print(
        f"50 holds without Redis took {race_seconds:.2f} s ({crowd}+ met in PostgreSQL); "
        f"locking resumed {resumed_after:.2f} s after restart ({attempts} probe(s))"
    )


def test_a_dead_pooled_connection_is_retried_at_once_not_taken_for_redis_down(
    private_redis: PrivateRedis, redis_prefix: str
) -> None:
    """After Redis restarts, every pooled connection is dead. The first lock
    taken after it must still go through Redis, not fall back to row locks
    alone (and skip Redis for a while) as if Redis were down: redis-py either
    notices the dead connection as it leaves the pool, or the client's one
    immediate retry (webapp.extensions.one_reconnect) reconnects."""
    flask_app = Flask(__name__)
    flask_app.config.from_mapping(
        load_config({"APP_ENV": "test", "SECRET_KEY": "k", "REDIS_URL": private_redis.url})
    )
    RedisClient().init_app(flask_app)  # the client the app uses, with its retry setting
    locker = SeatLocker(flask_app.extensions["redis"], prefix=redis_prefix, ttl_ms=5000, wait_ms=0)
    first = locker.acquire(1, ["A1"])
    assert first is not None  # and its connection now waits in the pool
    locker.release(first)

    private_redis.kill()
    private_redis.start()

    after_restart = locker.acquire(1, ["A2"])
    assert after_restart is not None, "a dead pooled connection was taken for Redis being down"
    assert private_redis.client.get(locker.key(1, "A2")) == after_restart.token.encode()

    private_redis.kill()
    assert locker.acquire(1, ["A3"]) is None  # really down: carry on without Redis
