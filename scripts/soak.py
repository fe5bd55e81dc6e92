"""``make soak``: a long mixed load with an invariant checker querying SQL every second.

Starts the stack as production runs it (gunicorn with APP_ENV=production,
one RQ worker, one rq-scheduler) on a scratch database and Redis prefix,
then for SOAK_SECONDS (default 600) drives holds, confirms, cancels, holds
left to lapse, confirms that come too late, and reads, from SOAK_CLIENTS
(default 8) threads, each pausing SOAK_THINK_MS (mean, default 20) between
requests. Holds last SOAK_HOLD_SECONDS (default 5) and the
expiry job runs every SOAK_EXPIRY_INTERVAL seconds (default 5), so
thousands of holds lapse and are expired during the run, by the job or
lazily. SOAK_DATABASE_URL and SOAK_REDIS_URL name the scratch database
(dropped and created afresh) and the Redis database.

Every second a checker runs the seat/booking invariants of
tests/invariants.py as SQL counts, plus checks only a long run can make
(lapsed holds left unexpired, Redis seat locks without a TTL, confirmed
bookings owed no message, messages given up). After the load it waits for
the backlog to drain and checks the messages delivered.

It prints operations by kind and status code and every violation, and
exits 1 if there was any violation, any 5xx, any request without an
answer, or any answer a client must never get (such as a confirm that
succeeds after the hold lapsed). Logs go to var/soak/.

Traffic goes to 127.0.0.1 only, and the run is bounded in time. Not part of
CI: ``make soak``, or ``SOAK_SECONDS=60 make soak`` for a short one.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

# The same checks the test suite runs after every concurrency test, one source of truth.
from invariants import SEAT_INVARIANT_VIOLATIONS as SEAT_INVARIANTS  # noqa: E402
from support.database import libpq_dsn  # noqa: E402
from support.processes import free_port, stop_process  # noqa: E402

from bench.run import reset_database  # noqa: E402

SOAK_SECONDS = int(os.environ.get("SOAK_SECONDS", "600"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "8"))
#: Mean pause between a client's requests: a person reads the page. Without it
#: eight clients confirm faster than one worker (a fork per job) can deliver.
THINK_MS = float(os.environ.get("SOAK_THINK_MS", "20"))
HOLD_SECONDS = int(os.environ.get("SOAK_HOLD_SECONDS", "5"))
EXPIRY_INTERVAL = int(os.environ.get("SOAK_EXPIRY_INTERVAL", "5"))
DATABASE_URL = os.environ.get(
    "SOAK_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/marquee_soak"
)
REDIS_URL = os.environ.get("SOAK_REDIS_URL", "redis://127.0.0.1:6379/8")
PREFIX = "marquee-soak:"
QUEUE = PREFIX + "jobs"
ADMIN_TOKEN = "soak-admin"  # noqa: S105 - a scratch deployment's token, not a secret
LOG_DIR = ROOT / "var" / "soak"
MAILBOX = LOG_DIR / "mailbox"
REQUEST_TIMEOUT_S = 30
#: How long after it lapsed a hold may still be PENDING in the rows: one expiry
#: interval, the run itself, and slack for a loaded 2-core machine.
EXPIRY_SLACK_S = 3 * EXPIRY_INTERVAL + 10
#: Longest a drain after the load may take before it counts as not converging.
DRAIN_TIMEOUT_S = HOLD_SECONDS + 6 * EXPIRY_INTERVAL + 60

#: Answers a client may get, by operation; anything else is a failure.
EXPECTED: dict[str, set[tuple[int, str | None]]] = {
    "read": {(200, None), (304, None)},
    "hold": {(201, None), (409, "seats_unavailable")},
    # A confirm or cancel right after the hold may still lose the race with a
    # lapse on a slow machine.
    "confirm": {(200, None), (409, "hold_expired")},
    "cancel": {(200, None), (409, "hold_expired")},
    "booking": {(200, None)},
    # Confirming a hold that lapsed must fail, whether or not the job has run.
    "confirm_lapsed": {(409, "hold_expired")},
    "cancel_confirmed": {(200, None)},
}

#: Checks beyond the seat invariants; each query returns the number of offending rows.
SOAK_CHECKS: dict[str, str] = {
    "a lapsed hold is still PENDING long after it lapsed": f"""
        SELECT count(*) FROM bookings
        WHERE status = 'PENDING' AND hold_expires_at < now() - make_interval(secs => {EXPIRY_SLACK_S})""",
    "a confirmed booking with an email is owed no message": """
        SELECT count(*) FROM bookings b
        WHERE b.status = 'CONFIRMED' AND b.email IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.booking_id = b.id)""",
    "a message was given up (DEAD)": "SELECT count(*) FROM outbox WHERE status = 'DEAD'",
}


def log(message: str) -> None:
    print(f"[soak] {message}", flush=True)


def app_env() -> dict[str, str]:
    return {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": "soak-secret",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": PREFIX,
        "RQ_QUEUE": QUEUE,
        "MAX_HELD_SEATS_PER_VISITOR": "0",  # every client comes from 127.0.0.1
        "HOLD_SECONDS": str(HOLD_SECONDS),
        "EXPIRY_INTERVAL_SECONDS": str(EXPIRY_INTERVAL),
        "MAILBOX_DIR": str(MAILBOX),
        "SMTP_URL": "",
    }


# --- the stack -------------------------------------------------------------------


def clear_redis(client: redis.Redis) -> None:
    """Our keys, and RQ's for our queue (they live outside the prefix)."""
    # Job ids carry the prefix with ':' turned into '-' (webapp.jobs.job_id_prefix).
    for pattern in (f"{PREFIX}*", f"rq:*{PREFIX.rstrip(':')}*"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    client.srem("rq:queues", f"rq:queue:{QUEUE}")


def start(name: str, *command: str) -> subprocess.Popen:
    with (LOG_DIR / f"{name}.log").open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            env=app_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group (a worker finishes its job first), SIGKILL after 30 s."""
    stop_process(process, timeout=30)


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except (requests.RequestException, redis.RedisError, psycopg.Error):
            pass
        time.sleep(0.2)
    log(f"gave up waiting for: {what}")
    return False


# --- the load ----------------------------------------------------------------------


@dataclass
class Tally:
    """What one client did: answers by (operation, status, problem code), and their durations."""

    answers: Counter[tuple[str, int | None, str | None]] = field(default_factory=Counter)
    durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


class Client:
    """One visitor script: holds seats, then confirms, cancels, leaves or comes back too late."""

    def __init__(self, n: int, url: str, shows: list[dict[str, Any]], deadline: float) -> None:
        self.rng = random.Random(n)
        self.url = url
        self.shows = shows
        self.deadline = deadline
        self.tally = Tally()
        self.session = requests.Session()
        self.etags: dict[int, str] = {}
        self.confirmed: list[tuple[str, str]] = []
        self.late: list[tuple[float, str, str]] = []  # (when, booking id, token), oldest first
        self.n = n

    def call(self, operation: str, method: str, path: str, **kwargs: Any) -> tuple[int | None, Any, Any]:
        started = time.monotonic()
        try:
            response = self.session.request(method, self.url + path, timeout=REQUEST_TIMEOUT_S, **kwargs)
        except requests.RequestException as exc:
            self.tally.answers[(operation, None, exc.__class__.__name__)] += 1
            return None, None, None
        self.tally.durations[operation].append(time.monotonic() - started)
        body = response.json() if "json" in response.headers.get("Content-Type", "") else None
        code = body.get("code") if response.status_code >= 400 and isinstance(body, dict) else None
        self.tally.answers[(operation, response.status_code, code)] += 1
        return response.status_code, body, response

    def run(self) -> None:
        round_ = 0
        try:
            while time.monotonic() < self.deadline:
                round_ += 1
                self.step(round_)
                time.sleep(self.rng.uniform(0, 2 * THINK_MS) / 1000)
        finally:
            self.session.close()

    def step(self, round_: int) -> None:
        rng = self.rng
        if self.late and self.late[0][0] <= time.monotonic():
            _, booking_id, token = self.late.pop(0)
            self.act("confirm_lapsed", booking_id, token, "confirm")
            return
        # Seats come back, or the shows fill up; the oldest booking most likely got its message.
        if len(self.confirmed) > 6 and rng.random() < 0.3:
            booking_id, token = self.confirmed.pop(0)
            self.act("cancel_confirmed", booking_id, token, "cancel")
            return
        if rng.random() < 0.35:
            self.read(rng.choice(self.shows)["id"])
            return
        self.hold(round_)

    def read(self, show_id: int) -> None:
        pick = self.rng.random()
        if pick < 0.5:
            headers = {}
            if show_id in self.etags and self.rng.random() < 0.5:
                headers["If-None-Match"] = self.etags[show_id]
            status, _, response = self.call("read", "GET", f"/api/shows/{show_id}/seats", headers=headers)
            if status == 200 and response.headers.get("ETag"):
                self.etags[show_id] = response.headers["ETag"]
        elif pick < 0.8:
            self.call("read", "GET", f"/api/shows/{show_id}/seats/stats")
        elif pick < 0.9:
            self.call("read", "GET", f"/api/shows/{show_id}")
        else:
            self.call("read", "GET", "/api/shows")

    def hold(self, round_: int) -> None:
        rng = self.rng
        # Most holds go to the small show, where they collide.
        show = self.shows[0] if rng.random() < 0.6 else rng.choice(self.shows[1:])
        row = chr(65 + rng.randrange(show["rows"]))
        count = rng.choice((1, 1, 2, 3))
        first = 1 + rng.randrange(show["seats_per_row"] - count + 1)
        body: dict[str, Any] = {"show_id": show["id"], "seats": [f"{row}{first + i}" for i in range(count)]}
        if rng.random() < 0.7:
            body["email"] = f"soak-{self.n}-{round_}@example.com"
        status, held, _ = self.call("hold", "POST", "/api/bookings", json=body)
        if status != 201:
            time.sleep(0.02)  # taken: look again shortly, as a person would
            return
        booking_id, token = held["booking"]["id"], held["token"]
        if rng.random() < 0.1:
            self.call("booking", "GET", f"/api/bookings/{booking_id}", headers=self.auth(token))
        fate = rng.random()
        if fate < 0.35:
            if self.act("confirm", booking_id, token, "confirm") == 200:
                self.confirmed.append((booking_id, token))
        elif fate < 0.55:
            self.act("cancel", booking_id, token, "cancel")
        elif fate < 0.65:  # comes back after the hold lapsed
            self.late.append((time.monotonic() + HOLD_SECONDS + 1, booking_id, token))
        # else: walks away; the hold lapses

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def act(self, operation: str, booking_id: str, token: str, action: str) -> int | None:
        return self.call(operation, "POST", f"/api/bookings/{booking_id}/{action}", headers=self.auth(token))[
            0
        ]


# --- the checker ---------------------------------------------------------------------


@dataclass
class Checker:
    """Runs every check once a second on its own connection until stopped."""

    dsn: str
    redis_client: redis.Redis
    rounds: int = 0
    #: Gauges over the run: the RQ queue's length, and how long a lapsed hold waited in the rows.
    max_queue: int = 0
    max_lapsed_wait_s: float = 0.0
    #: check -> (rounds that found something, most rows found at once)
    violations: dict[str, list[int]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)

    def checks(self) -> dict[str, str]:
        return {
            **{name: f"SELECT count(*) FROM ({sql}) AS offending" for name, sql in SEAT_INVARIANTS.items()},
            **SOAK_CHECKS,
        }

    def run_once(self, conn: psycopg.Connection) -> None:
        found = {name: conn.execute(sql).fetchone()[0] for name, sql in self.checks().items()}
        found["a Redis seat lock has no TTL"] = sum(
            self.redis_client.pttl(key) == -1
            for key in self.redis_client.scan_iter(match=f"{PREFIX}seatlock:*", count=1000)
        )
        self.max_queue = max(self.max_queue, self.redis_client.llen(f"rq:queue:{QUEUE}"))
        waited = conn.execute(
            "SELECT coalesce(extract(epoch FROM now() - min(hold_expires_at)), 0) FROM bookings "
            "WHERE status = 'PENDING' AND hold_expires_at <= now()"
        ).fetchone()[0]
        self.max_lapsed_wait_s = max(self.max_lapsed_wait_s, float(waited))
        self.rounds += 1
        for name, count in found.items():
            if count:
                seen = self.violations.setdefault(name, [0, 0])
                seen[0] += 1
                seen[1] = max(seen[1], count)
                log(f"VIOLATION: {name}: {count} row(s)")

    def loop(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.is_set():
                started = time.monotonic()
                try:
                    self.run_once(conn)
                except (psycopg.Error, redis.RedisError) as exc:
                    self.errors[exc.__class__.__name__] += 1
                self._stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.loop, daemon=True)
        thread.start()
        return thread

    def stop(self, thread: threading.Thread) -> None:
        self._stop.set()
        thread.join(timeout=60)


# --- the run ---------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


def create_shows(url: str) -> list[dict[str, Any]]:
    """A small show where holds collide, and two larger ones."""
    shows = []
    for title, rows, per_row in (
        ("Soak: sold out", 5, 10),
        ("Soak: matinee", 10, 20),
        ("Soak: late", 12, 25),
    ):
        response = requests.post(
            url + "/api/shows",
            json={
                "title": title,
                "starts_at": "2099-06-01T20:00:00+00:00",
                "rows": rows,
                "seats_per_row": per_row,
            },
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=REQUEST_TIMEOUT_S,
        )
        response.raise_for_status()
        shows.append(response.json())
    return shows


def drain(conn: psycopg.Connection) -> list[str]:
    """Wait for every hold to lapse and be expired, and every owed message to go out."""
    problems = []
    if not wait_until(
        lambda: conn.execute("SELECT count(*) FROM bookings WHERE status = 'PENDING'").fetchone()[0] == 0,
        DRAIN_TIMEOUT_S,
        "every hold expired",
    ):
        problems.append("holds still PENDING after the drain")
    if not wait_until(
        lambda: conn.execute("SELECT count(*) FROM outbox WHERE status = 'PENDING'").fetchone()[0] == 0,
        DRAIN_TIMEOUT_S,
        "every message sent",
    ):
        problems.append("messages still PENDING after the drain")
    return problems


def final_checks(conn: psycopg.Connection) -> tuple[dict[str, Any], list[str]]:
    """What the rows and the mailbox say once everything settled."""
    problems = []
    bookings = dict(conn.execute("SELECT status, count(*) FROM bookings GROUP BY status").fetchall())
    seats = dict(conn.execute("SELECT status, count(*) FROM seats GROUP BY status").fetchall())
    outbox = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
    sent = {row[0] for row in conn.execute("SELECT booking_id::text FROM outbox WHERE status = 'SENT'")}
    redelivered = conn.execute("SELECT count(*) FROM outbox WHERE attempts > 1").fetchone()[0]
    # Files of bookings ever confirmed with an email; a cancel may withdraw a row
    # whose delivery is already under way, so a file without a SENT row is allowed then.
    confirmed_once = {
        row[0]
        for row in conn.execute(
            "SELECT id::text FROM bookings WHERE confirmed_at IS NOT NULL AND email IS NOT NULL"
        )
    }
    files = {p.stem.removeprefix("booking-confirmed-") for p in MAILBOX.glob("*.eml")}
    if sent - files:
        problems.append(f"{len(sent - files)} message(s) recorded SENT but not in the mailbox")
    if files - confirmed_once:
        problems.append(
            f"{len(files - confirmed_once)} message(s) for bookings never confirmed with an email"
        )
    cancelled = {row[0] for row in conn.execute("SELECT id::text FROM bookings WHERE status = 'CANCELLED'")}
    if files - sent - cancelled:
        problems.append(f"{len(files - sent - cancelled)} message(s) in the mailbox without a SENT record")
    # Every hold lapsed during the drain: a seat still HELD would be locked for ever.
    stale_seats = conn.execute("SELECT count(*) FROM seats WHERE status = 'HELD'").fetchone()[0]
    if stale_seats:
        problems.append(f"{stale_seats} seat(s) still HELD after every hold lapsed")
    figures = {
        "bookings": bookings,
        "seats": seats,
        "outbox": outbox,
        "messages in the mailbox": len(files),
        "of which for bookings cancelled while their delivery was under way": len(files - sent),
        "messages delivered more than once (attempts > 1)": redelivered,
    }
    return figures, problems


def main() -> int:
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    MAILBOX.mkdir(parents=True)
    dsn = libpq_dsn(DATABASE_URL)
    log(
        f"scratch database {DATABASE_URL.rsplit('/', 1)[-1]}, Redis {REDIS_URL} prefix {PREFIX}; "
        f"logs in {LOG_DIR}"
    )
    reset_database(DATABASE_URL)
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=app_env(), check=True
    )
    redis_client = redis.Redis.from_url(REDIS_URL)
    clear_redis(redis_client)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    processes = {
        "web": start(
            "web",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            "wsgi:app",
        ),
        "worker": start("worker", "flask", "--app", "wsgi", "worker"),
        "scheduler": start("scheduler", "flask", "--app", "wsgi", "scheduler"),
    }
    problems: list[str] = []
    try:
        if not wait_until(
            lambda: requests.get(url + "/readyz", timeout=2).status_code == 200, 60, "gunicorn ready"
        ):
            raise SystemExit("gunicorn did not become ready; see var/soak/web.log")
        if not wait_until(
            lambda: redis_client.zcard(f"{PREFIX}scheduler:scheduled_jobs") >= 3, 60, "periodic jobs"
        ):
            raise SystemExit("the scheduler registered no periodic jobs; see var/soak/scheduler.log")
        shows = create_shows(url)
        log(
            f"{CLIENTS} clients for {SOAK_SECONDS} s against {url}; "
            f"holds last {HOLD_SECONDS} s, expiry every {EXPIRY_INTERVAL} s"
        )

        checker = Checker(dsn, redis_client)
        checker_thread = checker.start()
        started = time.monotonic()
        deadline = started + SOAK_SECONDS
        clients = [Client(n, url, shows, deadline) for n in range(CLIENTS)]
        threads = [threading.Thread(target=client.run, daemon=True) for client in clients]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(min(30.0, max(0.1, deadline - time.monotonic())))
            if time.monotonic() < deadline:
                done = sum(sum(c.tally.answers.values()) for c in clients)
                log(
                    f"{time.monotonic() - started:.0f} s: {done} requests, {checker.rounds} checks, "
                    f"queue {redis_client.llen(f'rq:queue:{QUEUE}')}, "
                    f"{len(checker.violations)} kind(s) of violation"
                )
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT_S + 5)
        load_seconds = time.monotonic() - started
        log("load done; draining the holds and the outbox")
        with psycopg.connect(dsn, autocommit=True) as conn:
            problems += drain(conn)
            checker.run_once(conn)  # once more on the settled rows
            checker.stop(checker_thread)
            final, final_problems = final_checks(conn)
            problems += final_problems
        alive = {name: process.poll() is None for name, process in processes.items()}
        problems += [f"the {name} process died" for name, up in alive.items() if not up]
    finally:
        for process in processes.values():
            stop(process)

    answers: Counter[tuple[str, int | None, str | None]] = Counter()
    durations: dict[str, list[float]] = defaultdict(list)
    for client in clients:
        answers.update(client.tally.answers)
        for operation, values in client.tally.durations.items():
            durations[operation] += values
    worker_log = (LOG_DIR / "worker.log").read_text(errors="replace")
    expired_by_job = sum(int(n) for n in re.findall(r"expired (\d+) lapsed hold", worker_log))
    runs = {k.decode(): int(v) for k, v in redis_client.hgetall(f"{PREFIX}jobs:runs").items()}
    return report(answers, durations, load_seconds, checker, final, expired_by_job, runs, problems)


def report(
    answers: Counter[tuple[str, int | None, str | None]],
    durations: dict[str, list[float]],
    load_seconds: float,
    checker: Checker,
    final: dict[str, Any],
    expired_by_job: int,
    runs: dict[str, int],
    problems: list[str],
) -> int:
    total = sum(answers.values())
    print()
    print(f"Soak: {load_seconds:.0f} s, {CLIENTS} clients, {total} requests ({total / load_seconds:.0f}/s)")
    print()
    print("| operation | status | code | count |")
    print("|---|---|---|---|")
    for (operation, status, code), count in sorted(
        answers.items(), key=lambda item: (item[0][0], str(item[0][1]), str(item[0][2]))
    ):
        print(f"| {operation} | {status if status is not None else 'no answer'} | {code or ''} | {count} |")
    print()
    print("| operation | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|")
    for operation, values in sorted(durations.items()):
        print(
            f"| {operation} | {percentile(values, 0.5):.1f} | {percentile(values, 0.99):.1f} "
            f"| {max(values) * 1000:.1f} |"
        )
    print()
    for name, value in final.items():
        print(f"{name}: {value}")
    print(f"holds expired by the job: {expired_by_job} (the rest of the EXPIRED ones lazily, by a request)")
    print(f"periodic job runs: {runs}")
    print(f"longest RQ queue: {checker.max_queue} job(s)")
    print(f"longest a lapsed hold stayed PENDING in the rows: {checker.max_lapsed_wait_s:.1f} s")
    print(
        f"invariant check rounds: {checker.rounds} (every second), "
        f"check errors: {dict(checker.errors) or 'none'}"
    )

    unexpected = {
        key: count for key, count in answers.items() if (key[1], key[2]) not in EXPECTED.get(key[0], set())
    }
    server_errors = sum(
        count for (_, status, _), count in answers.items() if status is not None and status >= 500
    )
    print()
    print(
        f"invariant violations: {sum(rounds for rounds, _ in checker.violations.values())} "
        f"(check rounds that found any; expected 0)"
    )
    for name, (rounds, most) in checker.violations.items():
        print(f"  - {name}: in {rounds} round(s), up to {most} row(s)")
    print(f"5xx answers: {server_errors}")
    print(f"unexpected answers (incl. no answer): {sum(unexpected.values())} {unexpected or ''}")
    for problem in problems:
        print(f"problem: {problem}")
    failed = bool(checker.violations or server_errors or unexpected or problems or checker.errors)
    print("RESULT:", "FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
