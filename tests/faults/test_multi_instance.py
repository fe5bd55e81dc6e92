"""Two web instances, two workers and two schedulers at once, as behind a load balancer.

Two gunicorns serve one PostgreSQL and one Redis; every client alternates
between them, so a hold made on one instance is confirmed or cancelled on
the other, and holds on overlapping seats race across instances. Holds
last 2 s, so many lapse while the load runs. Afterwards the database's own
history (a trigger logging every status change) must show no double
booking, each lapsed hold expired exactly once, each confirmed booking
owed and sent one message, and the periodic jobs run as often as one
scheduler would run them, not twice as often.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from conftest import Figures
from flask import Flask
from invariants import assert_api_matches_database, assert_seat_invariants
from jobsupport import read_eml, wait_for
from racing import Api
from support.processes import Server, start_gunicorn, stop_process

from .jobstack import JobStack, job_stack, transition_log

pytestmark = pytest.mark.faults

HOLD_SECONDS = 2
EXPIRY_INTERVAL = 2
RELAY_INTERVAL = 1
LOAD_SECONDS = 15
LOAD_THREADS = 6
#: A cap on holds per thread, so that a fast machine does not turn this into a benchmark.
MAX_HOLDS_PER_THREAD = 150
ROWS, SEATS_PER_ROW = 5, 10
REQUEST_TIMEOUT_S = 30

#: What a client may be told, by request kind; anything else (a 5xx above all) fails the test.
ALLOWED = {
    ("hold", 201, None),
    ("hold", 409, "seats_unavailable"),
    ("confirm", 200, None),
    ("confirm", 409, "hold_expired"),
    ("cancel", 200, None),
    ("cancel", 409, "hold_expired"),
    ("read", 200, None),
}

#: The status changes a booking may go through, in order.
ALLOWED_PATHS = {
    (),
    (("PENDING", "EXPIRED"),),
    (("PENDING", "CANCELLED"),),
    (("PENDING", "CONFIRMED"),),
    (("PENDING", "CONFIRMED"), ("CONFIRMED", "CANCELLED")),
}


@dataclass
class Booking:
    """What the clients were told about one hold, and so what the database must say in the end."""

    id: str
    email: str | None
    expected: str = "EXPIRED"  # a hold left alone lapses
    confirmed: bool = False


@dataclass
class TwoInstanceLoad:
    """Clients that alternate between the instances for every request, bounded in time and count."""

    urls: list[str]
    show_id: int
    answers: Counter[tuple[str, int | None, str | None]] = field(default_factory=Counter)
    bookings: dict[str, Booking] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, seconds: float, threads: int, check: Callable[[], None]) -> tuple[int, list[str]]:
        """Drive the load, calling ``check()`` about once a second meanwhile.

        Returns how many checks ran and what the failed ones said.
        """
        deadline = time.monotonic() + seconds
        workers = [
            threading.Thread(target=self._client, args=(n, deadline), daemon=True) for n in range(threads)
        ]
        for worker in workers:
            worker.start()
        checks, failures = 0, []
        while any(worker.is_alive() for worker in workers):
            try:
                check()
            except AssertionError as exc:
                failures.append(str(exc))
            checks += 1
            time.sleep(1)
        for worker in workers:
            worker.join(timeout=REQUEST_TIMEOUT_S + 5)
        return checks, failures

    def _call(
        self, session: requests.Session, kind: str, method: str, url: str, **kwargs: Any
    ) -> tuple[int | None, Any]:
        try:
            response = session.request(method, url, timeout=REQUEST_TIMEOUT_S, **kwargs)
        except requests.RequestException as exc:
            with self._lock:
                self.answers[(kind, None, exc.__class__.__name__)] += 1
            return None, None
        body = response.json() if "json" in response.headers.get("Content-Type", "") else None
        code = body.get("code") if response.status_code >= 400 and isinstance(body, dict) else None
        with self._lock:
            self.answers[(kind, response.status_code, code)] += 1
        return response.status_code, body

    def _client(self, n: int, deadline: float) -> None:
        rng = random.Random(n)  # reproducible choices per thread
        sessions = [requests.Session() for _ in self.urls]
        turn = n  # threads start on different instances
        try:
            for round_ in range(MAX_HOLDS_PER_THREAD):
                if time.monotonic() >= deadline:
                    return
                here, there = turn % 2, (turn + 1) % 2
                turn += 1

                def call(instance: int, kind: str, method: str, path: str, **kwargs: Any) -> Any:
                    return self._call(sessions[instance], kind, method, self.urls[instance] + path, **kwargs)

                if round_ % 3 == 0:
                    call(here, "read", "GET", f"/api/shows/{self.show_id}/seats")
                row = chr(65 + rng.randrange(ROWS))
                first = 1 + rng.randrange(SEATS_PER_ROW - 1)
                seats = [f"{row}{first}", f"{row}{first + 1}"][: rng.choice((1, 2))]
                email = f"guest-{n}-{round_}@example.com" if rng.random() < 0.7 else None
                body: dict[str, Any] = {"show_id": self.show_id, "seats": seats}
                if email:
                    body["email"] = email
                status, held = call(here, "hold", "POST", "/api/bookings", json=body)
                if status != 201:
                    time.sleep(0.05)  # taken: look again shortly, as a person would
                    continue
                booking = Booking(held["booking"]["id"], email)
                with self._lock:
                    self.bookings[booking.id] = booking
                auth = {"Authorization": f"Bearer {held['token']}"}
                path = f"/api/bookings/{booking.id}"
                pick = rng.random()
                if pick < 0.35:
                    self._confirm(call, there, path, auth, booking)
                    # Most confirmed bookings are cancelled again, so seats keep coming back.
                    cancel_it = booking.confirmed and rng.random() < 0.8
                    if cancel_it and call(here, "cancel", "POST", f"{path}/cancel", headers=auth)[0] == 200:
                        booking.expected = "CANCELLED"
                elif pick < 0.5:
                    if call(there, "cancel", "POST", f"{path}/cancel", headers=auth)[0] == 200:
                        booking.expected = "CANCELLED"
                elif pick < 0.58:
                    time.sleep(HOLD_SECONDS + 0.3)  # too late: told 409 hold_expired
                    self._confirm(call, there, path, auth, booking)
                # else: left alone to lapse
        finally:
            for session in sessions:
                session.close()

    @staticmethod
    def _confirm(call: Any, instance: int, path: str, auth: dict[str, str], booking: Booking) -> None:
        status, _ = call(instance, "confirm", "POST", f"{path}/confirm", headers=auth)
        if status == 200:
            booking.expected, booking.confirmed = "CONFIRMED", True


@pytest.fixture
def stack(
    app: Flask, test_env: dict[str, str], redis_conn: redis.Redis, tmp_path: Path
) -> Iterator[JobStack]:
    with job_stack(
        app,
        test_env,
        redis_conn,
        tmp_path,
        EXPIRY_INTERVAL_SECONDS=str(EXPIRY_INTERVAL),
        RELAY_INTERVAL_SECONDS=str(RELAY_INTERVAL),
    ) as job_stack_:
        yield job_stack_


@pytest.fixture
def instances(stack: JobStack) -> Iterator[list[Server]]:
    # One client address for every hold: the per-visitor limit is off.
    env = {**stack.env, "HOLD_SECONDS": str(HOLD_SECONDS), "MAX_HELD_SEATS_PER_VISITOR": "0"}
    servers: list[Server] = []
    try:
        for _ in range(2):
            servers.append(start_gunicorn(env, workers=2, threads=4))
        yield servers
    finally:
        for server in servers:
            stop_process(server.process)


def test_two_instances_two_workers_two_schedulers(
    app: Flask, stack: JobStack, instances: list[Server], figures: Figures
) -> None:
    first, second = (Api(server.url) for server in instances)
    show_id = first.create_show(ROWS, SEATS_PER_ROW)
    assert second.get(f"/api/shows/{show_id}")[0] == 200

    workers = [stack.procs.worker(), stack.procs.worker()]
    schedulers = [stack.procs.scheduler(), stack.procs.scheduler()]
    wait_for(lambda: stack.scheduled() == stack.expected_schedule(), 30, "periodic jobs registered")
    wait_for(lambda: stack.runs("expire_holds") >= 1, 30, "a worker ran expire_holds")
    wait_for(lambda: stack.scheduler_instances() == 2, 20, "both schedulers registered")

    load = TwoInstanceLoad([server.url for server in instances], show_id)
    with transition_log(stack):
        window_start = time.monotonic()
        runs_before = {job: stack.runs(job) for job in ("expire_holds", "relay_outbox")}
        checks, violations = load.run(LOAD_SECONDS, LOAD_THREADS, check=lambda: assert_seat_invariants(app))
        load_seconds = time.monotonic() - window_start

        wait_for(
            lambda: stack.scalar("SELECT count(*) FROM bookings WHERE status = 'PENDING'") == 0,
            HOLD_SECONDS + 30,
            "every lapsed hold expired",
            interval=0.2,
        )
        wait_for(
            lambda: stack.scalar("SELECT count(*) FROM outbox WHERE status = 'PENDING'") == 0,
            30,
            "every owed message sent",
            interval=0.2,
        )
        time.sleep(2 * EXPIRY_INTERVAL)  # a few more periodic runs, which must change nothing
        window = time.monotonic() - window_start
        runs = {job: stack.runs(job) - before for job, before in runs_before.items()}
        assert stack.scheduled() == stack.expected_schedule()
        assert stack.scheduler_instances() == 2
        assert all(process.alive() for process in workers + schedulers)

        transitions = stack.sql(
            """
            SELECT booking_id::text AS booking_id, old_status, new_status,
                   old_expired_at IS NULL AS expired_at_was_unset
            FROM fault_booking_transitions ORDER BY at
            """
        )
    final = {
        row.id: row
        for row in stack.sql("SELECT id::text AS id, status, email, expired_at FROM bookings ORDER BY id")
    }
    outbox = {
        row.booking_id: row
        for row in stack.sql("SELECT booking_id::text AS booking_id, status, attempts FROM outbox")
    }
    messages = stack.messages()
    answers = load.answers

    # Every client got an answer it may get: no 5xx, no connection errors.
    assert set(answers) <= ALLOWED, {k: v for k, v in answers.items() if k not in ALLOWED}
    assert answers[("hold", 201, None)] >= 20, answers  # the load really did something

    # No double booking, at any of the checks during the load nor now; both instances tell the truth.
    assert violations == []
    assert_seat_invariants(app)
    for api in (first, second):
        assert_api_matches_database(app, api.get, api.admin_get, show_id)

    # The database says what the clients were told.
    assert sorted(final) == sorted(load.bookings)
    assert {b: final[b].status for b in final} == {b: load.bookings[b].expected for b in final}

    # Each booking's history is a legal path; a lapsed hold expired once, expired_at written once.
    paths: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for t in transitions:
        paths[t.booking_id].append((t.old_status, t.new_status))
    assert {b: tuple(path) for b, path in paths.items() if tuple(path) not in ALLOWED_PATHS} == {}
    expired = sorted(b for b, row in final.items() if row.status == "EXPIRED")
    assert sorted(t.booking_id for t in transitions if t.new_status == "EXPIRED") == expired
    assert all(t.expired_at_was_unset for t in transitions)
    assert all(final[b].expired_at is not None for b in expired)

    # One message per confirmed booking with an email, claimed and written once.
    confirmed_with_email = {b for b, row in final.items() if row.status == "CONFIRMED" and row.email}
    ever_confirmed_with_email = {
        b for b, booking in load.bookings.items() if booking.confirmed and booking.email
    }
    assert confirmed_with_email <= set(messages) <= ever_confirmed_with_email
    assert {b: outbox[b].status for b in confirmed_with_email} == dict.fromkeys(confirmed_with_email, "SENT")
    assert set(outbox) <= ever_confirmed_with_email
    assert {row.attempts for row in outbox.values()} <= {1}, outbox  # never claimed twice
    for booking_id, path in messages.items():
        assert read_eml(path)["X-Marquee-Delivery-Attempt"] == "1", booking_id

    # Two schedulers run each periodic job as often as one would: every enqueue
    # reschedules it an interval on, so one schedule fits window / interval + 1 runs.
    assert 1 <= runs["expire_holds"] <= window / EXPIRY_INTERVAL + 2, (runs, window)
    assert 1 <= runs["relay_outbox"] <= window / RELAY_INTERVAL + 2, (runs, window)
    expired_by_job = sum(
        int(n) for process in workers for n in re.findall(r"expired (\d+) lapsed hold", process.log())
    )
    assert 1 <= expired_by_job <= len(expired)  # the rest were expired lazily, by a confirm or a hold

    by_kind: Counter[str] = Counter()
    for (kind, status, _), count in answers.items():
        by_kind[f"{kind} {status}"] += count
    for name, count in sorted(by_kind.items()):
        figures.record(f"answers {name}", count)
    figures.record("load seconds", load_seconds)
    figures.record("invariant checks during the load", checks)
    figures.record(
        "holds expired (by the job / lazily)",
        f"{len(expired)} ({expired_by_job} / {len(expired) - expired_by_job})",
    )
    figures.record(
        "confirmed bookings with an email / messages", f"{len(confirmed_with_email)} / {len(messages)}"
    )
    figures.record(
        "expire_holds runs / one-scheduler bound",
        f"{runs['expire_holds']} / {window / EXPIRY_INTERVAL + 2:.1f} in {window:.1f} s",
    )
    figures.record(
        "relay_outbox runs / one-scheduler bound",
        f"{runs['relay_outbox']} / {window / RELAY_INTERVAL + 2:.1f} in {window:.1f} s",
    )
    figures.record("jobs run per worker", [process.log().count("Job OK") for process in workers])
