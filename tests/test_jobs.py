"""Background jobs with real RQ worker and rq-scheduler processes, real Redis and PostgreSQL.

The processes are ``flask --app wsgi worker`` / ``scheduler`` as in the
Procfile, on a queue of the test's own; the test drives the API in-process
and checks the database directly, never the lazily computed API view.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from conftest import Figures
from flask import Flask
from flask.testing import FlaskClient
from jobsupport import (
    FakeSMTPServer,
    JobProcesses,
    RedisServer,
    delete_rq_keys,
    descendants,
    parse_json,
    read_eml,
    sigkill_tree,
    wait_for,
)
from sqlalchemy import text
from support.processes import ROOT, free_port

from webapp import outbox
from webapp.extensions import db
from webapp.jobs import job_id_prefix, periodic_job_id, periodic_jobs
from webapp.runners import scheduled_jobs_key

pytestmark = pytest.mark.slow

EXPIRY_INTERVAL = 2


@dataclass
class Harness:
    app: Flask
    client: FlaskClient
    env: dict[str, str]
    procs: JobProcesses
    mailbox: Path
    #: Where the worker and scheduler keep their state (the schedule, run records).
    redis: redis.Redis

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.app.app_context():
            try:
                result = db.session.execute(text(query), params)
                rows = result.all() if result.returns_rows else []
                db.session.commit()
                return rows
            finally:
                db.session.remove()

    def hold(
        self, show_id: int, seats: list[str], email: str | None = None, hold_seconds: int | None = None
    ) -> tuple[str, str]:
        saved = self.app.config["HOLD_SECONDS"]
        if hold_seconds is not None:
            self.app.config["HOLD_SECONDS"] = hold_seconds
        try:
            body: dict[str, Any] = {"show_id": show_id, "seats": seats}
            if email is not None:
                body["email"] = email
            response = self.client.post("/api/bookings", json=body)
        finally:
            self.app.config["HOLD_SECONDS"] = saved
        assert response.status_code == 201, response.get_json()
        payload = response.get_json()
        return payload["booking"]["id"], payload["token"]

    def confirm(self, booking_id: str, token: str) -> dict[str, Any]:
        response = self.client.post(
            f"/api/bookings/{booking_id}/confirm", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def confirmed_booking(self, show_id: int, seats: list[str], email: str | None) -> str:
        booking_id, token = self.hold(show_id, seats, email=email)
        self.confirm(booking_id, token)
        return booking_id

    def booking(self, booking_id: str) -> Any:
        return self.sql(
            """
            SELECT status, hold_expires_at, expired_at,
                   ARRAY(SELECT status FROM seats WHERE show_id = b.show_id
                         AND label IN (SELECT label FROM booking_seats WHERE booking_id = b.id)) AS seats,
                   (SELECT count(*) FROM seats WHERE booking_id = b.id) AS seats_pointing_here
            FROM bookings b WHERE id = :id
            """,
            id=booking_id,
        )[0]

    def outbox(self, booking_id: str) -> list[Any]:
        return self.sql("SELECT * FROM outbox WHERE booking_id = :id ORDER BY id", id=booking_id)

    def outbox_status(self, booking_id: str) -> str | None:
        rows = self.outbox(booking_id)
        return rows[0].status if rows else None

    def messages(self) -> list[Path]:
        return sorted(self.mailbox.glob("*.eml"))

    def runs(self, job: str) -> int:
        raw = self.redis.hget(f"{self.env['REDIS_KEY_PREFIX']}jobs:runs", job)
        return int(raw or 0)

    def last_run(self, job: str) -> Any:
        return parse_json(self.redis.hget(f"{self.env['REDIS_KEY_PREFIX']}jobs:last_run", job))

    def scheduled(self) -> list[str]:
        return sorted(m.decode() for m in self.redis.zrange(scheduled_jobs_key(self.app.config), 0, -1))

    def expected_schedule(self) -> list[str]:
        return sorted(periodic_job_id(self.app.config, job.name) for job in periodic_jobs(self.app.config))

    def wait_until_jobs_run(self, timeout: float = 40) -> None:
        """The scheduler registered the periodic jobs and a worker ran one of them."""
        before = self.runs("expire_holds")
        try:
            wait_for(
                lambda: self.scheduled() == self.expected_schedule(), timeout, "periodic jobs registered"
            )
            wait_for(lambda: self.runs("expire_holds") > before, timeout, "a worker ran expire_holds")
        except AssertionError:
            print(self.procs.logs())
            raise


@pytest.fixture
def harness(
    app: Flask, client: FlaskClient, test_env: dict[str, str], redis_conn: redis.Redis, tmp_path: Path
) -> Iterator[Harness]:
    """Job processes on a queue and mailbox of this test's own, stopped at the end."""
    queue = f"{test_env['RQ_QUEUE']}-{secrets.token_hex(3)}"
    mailbox = tmp_path / "mailbox"
    env = {
        **test_env,
        "RQ_QUEUE": queue,
        "MAILBOX_DIR": str(mailbox),
        "EXPIRY_INTERVAL_SECONDS": str(EXPIRY_INTERVAL),
        "RELAY_INTERVAL_SECONDS": "1",
        "DELIVERY_BACKOFF_SECONDS": "0.2",
    }
    saved = {key: app.config[key] for key in ("RQ_QUEUE", "MAILBOX_DIR")}
    app.config.update(RQ_QUEUE=queue, MAILBOX_DIR=str(mailbox))
    procs = JobProcesses(env, tmp_path)
    harness = Harness(app, client, env, procs, mailbox, redis_conn)
    try:
        yield harness
    finally:
        procs.stop_all()
        print(procs.logs())  # shown by pytest when the test failed
        app.config.update(saved)
        delete_rq_keys(redis_conn, queue, job_id_prefix(app.config))


@pytest.fixture
def show(make_show: Any) -> dict[str, Any]:
    return make_show(rows=5, seats_per_row=8, title="Jobs Premiere")


# --- expiry -----------------------------------------------------------------------


def test_lapsed_holds_are_expired_in_the_database_within_the_interval(
    harness: Harness, show: dict[str, Any], figures: Figures
) -> None:
    worker = harness.procs.worker()
    harness.procs.scheduler()
    harness.wait_until_jobs_run()

    holds = []
    for i in range(3):  # lapsing at different moments of the expiry cycle
        holds.append(harness.hold(show["id"], [f"A{i + 1}", f"B{i + 1}"], hold_seconds=1)[0])
        time.sleep(0.7)  # spacing, not waiting: the test holds whatever the gap turns out to be

    delays = []
    for booking_id in holds:
        row = wait_for(
            lambda booking_id=booking_id: (b := harness.booking(booking_id)).status == "EXPIRED" and b,
            EXPIRY_INTERVAL + 10,
            "the expiry job to expire the hold",
        )
        assert row.expired_at is not None
        assert row.seats == ["AVAILABLE", "AVAILABLE"]
        assert row.seats_pointing_here == 0
        delays.append((row.expired_at - row.hold_expires_at).total_seconds())
    figures.record("expiry delays after the hold lapsed (s)", ", ".join(f"{d:.2f}" for d in delays))
    assert all(0 <= delay <= EXPIRY_INTERVAL + 1 for delay in delays), delays
    # The worker did it (nothing else in this test reads or writes these bookings). It logs
    # after its last batch, a moment after the commit the loop above saw: wait for the line.
    wait_for(
        lambda: sum(int(n) for n in re.findall(r"expired (\d+) lapsed hold", worker.log())) == len(holds),
        5,
        "the worker to log the holds it expired",
    )


# --- cleanup ----------------------------------------------------------------------


def test_cleanup_removes_only_true_orphans(harness: Harness, show: dict[str, Any]) -> None:
    show_id = show["id"]
    pending = harness.hold(show_id, ["A1"], hold_seconds=600)[0]
    confirmed = harness.confirmed_booking(show_id, ["A2"], email=None)
    cancelled, token = harness.hold(show_id, ["A3"])
    assert (
        harness.client.post(
            f"/api/bookings/{cancelled}/cancel", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    expired = harness.hold(show_id, ["A4"], hold_seconds=1)[0]
    orphan_sql = """
        INSERT INTO bookings (id, show_id, status, token_hash, hold_expires_at, created_at)
        VALUES (gen_random_uuid(), :show_id, 'PENDING', sha256('x'::bytea),
                now() + interval '10 minutes', now() - make_interval(secs => :age))
        RETURNING id
    """
    old_orphan = str(harness.sql(orphan_sql, show_id=show_id, age=120)[0].id)
    young_orphan = str(harness.sql(orphan_sql, show_id=show_id, age=5)[0].id)
    # Real bookings are old too: age alone must never get one deleted.
    harness.sql("UPDATE bookings SET created_at = now() - interval '1 day' WHERE id <> :id", id=young_orphan)
    harness.sql(
        """
        INSERT INTO idempotency_keys (key_hash, request_hash, created_at) VALUES
            (sha256('stale'::bytea), sha256('r'::bytea), now() - interval '25 hours'),
            (sha256('fresh'::bytea), sha256('r'::bytea), now() - interval '1 hour')
        """
    )
    history_before = harness.sql("SELECT booking_id, seat_id, label FROM booking_seats ORDER BY 1, 2")

    harness.procs.worker()
    harness.procs.scheduler()
    harness.wait_until_jobs_run()
    wait_for(lambda: harness.runs("cleanup_orphans") >= 1, 30, "cleanup_orphans ran")
    wait_for(lambda: harness.booking(expired).status == "EXPIRED", 15, "the lapsed hold expired")

    remaining = {str(row.id): row.status for row in harness.sql("SELECT id, status FROM bookings")}
    assert old_orphan not in remaining
    assert remaining == {
        pending: "PENDING",
        confirmed: "CONFIRMED",
        cancelled: "CANCELLED",
        expired: "EXPIRED",
        young_orphan: "PENDING",
    }
    assert harness.sql("SELECT booking_id, seat_id, label FROM booking_seats ORDER BY 1, 2") == history_before
    keys = harness.sql("SELECT key_hash = sha256('fresh'::bytea) AS fresh FROM idempotency_keys")
    assert [row.fresh for row in keys] == [True]
    assert harness.last_run("cleanup_orphans")["orphan_bookings"] == 1


# --- confirmation messages ----------------------------------------------------------


def _mailbox_message(harness: Harness, booking_id: str) -> Any:
    path = harness.mailbox / f"booking-confirmed-{booking_id}.eml"
    return read_eml(path)


def test_a_confirmed_booking_gets_exactly_one_message_however_often_it_is_confirmed(
    harness: Harness, show: dict[str, Any]
) -> None:
    booking_id, token = harness.hold(show["id"], ["C3", "C4"], email="ana@example.com")
    for _ in range(3):
        assert harness.confirm(booking_id, token)["status"] == "CONFIRMED"
    silent = harness.confirmed_booking(show["id"], ["D1"], email=None)
    assert len(harness.outbox(booking_id)) == 1
    assert harness.outbox(silent) == []  # no email, nothing owed

    harness.procs.worker()
    harness.procs.scheduler()
    wait_for(lambda: harness.outbox_status(booking_id) == "SENT", 30, "the message was sent")
    harness.wait_until_jobs_run()
    relays = harness.runs("relay_outbox")
    wait_for(lambda: harness.runs("relay_outbox") >= relays + 2, 15, "two more relay runs")

    assert [path.name for path in harness.messages()] == [f"booking-confirmed-{booking_id}.eml"]
    [row] = harness.outbox(booking_id)
    assert (row.status, row.attempts, row.sent_at is not None) == ("SENT", 1, True)
    message = _mailbox_message(harness, booking_id)
    assert message["To"] == "ana@example.com"
    assert message["Subject"] == "Your Marquee booking is confirmed"
    assert message["Message-ID"] == f"<booking-confirmed-{booking_id}@marquee>"
    # The text part; since tickets (issue 13) the QR images ride along as attachments.
    text_part = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    body = text_part.get_payload(decode=True).decode()
    for expected in ("Jobs Premiere", "2099-01-01", "C3, C4", booking_id):
        assert expected in body
    print("messages sent: 1 for 1 confirmed booking with an email (confirmed 3 times)")


def test_two_workers_and_duplicate_jobs_send_each_message_once(
    harness: Harness, show: dict[str, Any]
) -> None:
    from webapp.jobs import queue

    booking_ids = [
        harness.confirmed_booking(show["id"], [f"{row}{n}"], email=f"guest{row}{n}@example.com")
        for row in "AB"
        for n in range(1, 7)
    ]
    outbox_ids = [harness.outbox(booking_id)[0].id for booking_id in booking_ids]
    rq_queue = queue(harness.app)
    for outbox_id in outbox_ids:  # duplicates, as a retried or replayed enqueue would make
        for _ in range(2):
            rq_queue.enqueue_call("webapp.jobs.send_confirmation", args=(outbox_id,))
    assert rq_queue.count == 3 * len(outbox_ids)

    first, second = harness.procs.worker(), harness.procs.worker()
    harness.procs.scheduler()
    wait_for(
        lambda: all(harness.outbox_status(b) == "SENT" for b in booking_ids), 60, "every message was sent"
    )
    wait_for(lambda: rq_queue.count == 0, 30, "the duplicates were worked off")

    assert sorted(p.name for p in harness.messages()) == sorted(
        f"booking-confirmed-{b}.eml" for b in booking_ids
    )
    attempts = harness.sql("SELECT attempts FROM outbox WHERE id = ANY(:ids)", ids=outbox_ids)
    assert [row.attempts for row in attempts] == [1] * len(outbox_ids)  # one claim each, no redelivery
    worked = [w for w in (first, second) if "send_confirmation" in w.log()]
    print(f"messages sent: {len(harness.messages())} for {len(booking_ids)} bookings, {len(worked)} workers")


@pytest.mark.parametrize("moment", ["before writing", "after writing"])
def test_a_worker_killed_mid_delivery_leaves_exactly_one_message(
    harness: Harness, show: dict[str, Any], moment: str
) -> None:
    lease = 4
    harness.app.config["DELIVERY_LEASE_SECONDS"] = lease
    harness.env["DELIVERY_LEASE_SECONDS"] = str(lease)
    try:
        doomed = harness.procs.worker(DELIVERY_DELAY_SECONDS="2")
        booking_id = harness.confirmed_booking(show["id"], ["E5"], email="bo@example.com")
        path = harness.mailbox / f"booking-confirmed-{booking_id}.eml"
        wait_for(lambda: harness.outbox(booking_id)[0].attempts == 1, 30, "the worker claimed the message")
        if moment == "after writing":
            wait_for(path.exists, 10, "the message file")
        assert descendants(doomed.pid), "the delivery runs in a work horse"
        sigkill_tree(doomed)

        [row] = harness.outbox(booking_id)
        assert (row.status, row.attempts) == ("PENDING", 1)
        assert path.exists() == (moment == "after writing")

        harness.procs.worker()
        harness.procs.scheduler()
        wait_for(
            lambda: harness.outbox_status(booking_id) == "SENT", lease + 30, "redelivery after the lease"
        )
    finally:
        harness.app.config["DELIVERY_LEASE_SECONDS"] = 120

    [row] = harness.outbox(booking_id)
    assert row.attempts == 2
    assert harness.messages() == [path]
    assert read_eml(path)["X-Marquee-Delivery-Attempt"] == "2"
    print(f"killed {moment}: 1 message after 2 attempts")


def test_delivery_that_fails_twice_is_retried_and_sent_once(harness: Harness, show: dict[str, Any]) -> None:
    smtp = FakeSMTPServer(refuse_first=2)
    try:
        harness.env["SMTP_URL"] = smtp.url
        harness.procs.worker()
        harness.procs.scheduler()
        booking_id = harness.confirmed_booking(show["id"], ["D5", "D6"], email="cy@example.com")
        wait_for(lambda: harness.outbox_status(booking_id) == "SENT", 40, "the message was sent")
        relays = harness.runs("relay_outbox")
        wait_for(lambda: harness.runs("relay_outbox") >= relays + 2, 15, "two more relay runs")
    finally:
        smtp.close()

    [row] = harness.outbox(booking_id)
    assert row.attempts == 3
    assert "421" in row.last_error
    assert smtp.connections == 3
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "cy@example.com"
    assert message["Message-ID"] == f"<booking-confirmed-{booking_id}@marquee>"
    assert harness.messages() == []  # SMTP replaces the mailbox
    print("SMTP refused twice: 1 message delivered on attempt 3")


def test_delivery_that_keeps_failing_is_marked_dead(harness: Harness, show: dict[str, Any]) -> None:
    harness.env.update(SMTP_URL=f"smtp://127.0.0.1:{free_port()}", MAX_DELIVERY_ATTEMPTS="3")
    worker = harness.procs.worker()
    harness.procs.scheduler()
    booking_id = harness.confirmed_booking(show["id"], ["D7"], email="di@example.com")
    wait_for(lambda: harness.outbox_status(booking_id) == "DEAD", 40, "the message was given up")
    relays = harness.runs("relay_outbox")
    wait_for(lambda: harness.runs("relay_outbox") >= relays + 2, 15, "two more relay runs")

    [row] = harness.outbox(booking_id)
    assert (row.status, row.attempts, row.sent_at) == ("DEAD", 3, None)
    assert "Connection refused" in row.last_error or "ConnectionRefusedError" in row.last_error
    assert f"outbox message {row.id} (booking {booking_id}) is DEAD" in worker.log()

    status = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "jobs-status"],
        cwd=ROOT,
        env={**os.environ, **harness.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    print(status)
    assert "0 pending, 0 sent, 1 dead" in status
    assert f"DEAD #{row.id} booking {booking_id} to di@example.com after 3 attempt(s)" in status
    assert "expire_holds every 2 s" in status


def test_only_the_latest_claim_may_record_a_delivery(harness: Harness, show: dict[str, Any]) -> None:
    """The conditional updates behind exactly-once, step by step, without a worker."""
    booking_id = harness.confirmed_booking(show["id"], ["B8"], email="gus@example.com")
    [row] = harness.outbox(booking_id)
    limits = {"max_attempts": 3}

    def lease_runs_out() -> None:
        harness.sql("UPDATE outbox SET next_attempt_at = now() WHERE id = :id", id=row.id)

    with harness.app.app_context():
        session = db.session
        first = outbox.claim(session, row.id, lease_seconds=60, **limits)
        session.commit()
        assert first is not None and first.attempt == 1
        assert first.seats == ["B8"] and first.email == "gus@example.com"
        assert outbox.claim(session, row.id, lease_seconds=60, **limits) is None  # leased
        assert outbox.due_messages(session, **limits) == []
        session.commit()

        lease_runs_out()
        second = outbox.claim(session, row.id, lease_seconds=60, **limits)
        session.commit()
        assert second is not None and second.attempt == 2
        assert not outbox.mark_sent(session, first)  # the stale claim records nothing
        assert outbox.record_failure(session, first, "late", backoff_seconds=10, **limits) is None
        assert outbox.record_failure(session, second, "boom", backoff_seconds=10, **limits) == "PENDING"
        session.commit()
        [after] = harness.sql("SELECT next_attempt_at - now() AS wait, last_error FROM outbox")
        assert 19 <= after.wait.total_seconds() <= 21  # 10 s doubled once
        assert after.last_error == "boom"

        lease_runs_out()
        third = outbox.claim(session, row.id, lease_seconds=60, **limits)
        session.commit()
        assert third is not None and third.attempt == 3
        lease_runs_out()  # the third worker died without a word
        assert outbox.claim(session, row.id, lease_seconds=60, **limits) is None  # no fourth attempt
        assert outbox.due_messages(session, **limits) == []
        assert [r.id for r in outbox.bury_abandoned(session, **limits)] == [row.id]
        session.commit()
        assert not outbox.mark_sent(session, third)
        session.commit()
    assert harness.outbox_status(booking_id) == "DEAD"


# --- several schedulers ---------------------------------------------------------------


@pytest.fixture
def transition_log(harness: Harness) -> Iterator[None]:
    """Every status change of a booking, recorded by a trigger (test database only)."""
    harness.sql(
        """
        CREATE TABLE test_booking_transitions (
            booking_id uuid, old_status text, new_status text, at timestamptz DEFAULT clock_timestamp());
        CREATE FUNCTION test_log_booking_transition() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IS DISTINCT FROM OLD.status THEN
                INSERT INTO test_booking_transitions (booking_id, old_status, new_status)
                VALUES (NEW.id, OLD.status, NEW.status);
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER test_booking_transitions AFTER UPDATE ON bookings
            FOR EACH ROW EXECUTE FUNCTION test_log_booking_transition();
        """
    )
    try:
        yield
    finally:
        harness.sql(
            """
            DROP TRIGGER test_booking_transitions ON bookings;
            DROP FUNCTION test_log_booking_transition();
            DROP TABLE test_booking_transitions;
            """
        )


def test_two_schedulers_neither_double_the_jobs_nor_expire_twice(
    harness: Harness, show: dict[str, Any], transition_log: None
) -> None:
    from webapp.jobs import queue

    harness.procs.scheduler()
    harness.procs.scheduler()
    wait_for(lambda: harness.scheduled() == harness.expected_schedule(), 30, "periodic jobs registered")
    # With no worker to run anything, let expire_holds fall due twice more
    # while its first copy waits in the queue: each time, a scheduler moves
    # its next run on (PrefixedScheduler.enqueue_job) instead of queueing a copy.
    expire_id = periodic_job_id(harness.app.config, "expire_holds")
    schedule_key = scheduled_jobs_key(harness.app.config)
    registered_for = wait_for(
        lambda: harness.redis.zscore(schedule_key, expire_id), 10, "expire_holds scheduled"
    )
    wait_for(
        lambda: (harness.redis.zscore(schedule_key, expire_id) or 0) >= registered_for + 2 * EXPIRY_INTERVAL,
        10 * EXPIRY_INTERVAL,
        "expire_holds to fall due twice more while queued",
    )
    waiting = queue(harness.app).get_job_ids()
    assert sorted(waiting) == harness.expected_schedule()  # one copy of each, however long they wait

    harness.procs.worker()
    harness.procs.worker()
    harness.wait_until_jobs_run()
    instances = f"{harness.env['REDIS_KEY_PREFIX']}scheduler:instance:*"
    wait_for(lambda: len(list(harness.redis.scan_iter(match=instances))) == 2, 20, "both schedulers alive")

    window_start, runs_before = time.monotonic(), harness.runs("expire_holds")
    holds = []
    for batch in range(3):
        for n in range(3):
            holds.append(harness.hold(show["id"], [f"{'ABC'[batch]}{n + 1}"], hold_seconds=1)[0])
        assert harness.scheduled() == harness.expected_schedule()
        time.sleep(1.5)  # spacing, not waiting: holds lapse across several intervals
    for booking_id in holds:
        wait_for(lambda b=booking_id: harness.booking(b).status == "EXPIRED", 15, "the hold expired")
    # A longer window makes the bound below tighter: two more runs.
    runs_so_far = harness.runs("expire_holds")
    wait_for(lambda: harness.runs("expire_holds") >= runs_so_far + 2, 10 * EXPIRY_INTERVAL, "two more runs")
    window, runs = time.monotonic() - window_start, harness.runs("expire_holds") - runs_before
    assert harness.scheduled() == harness.expected_schedule()

    transitions = harness.sql(
        "SELECT booking_id, old_status, new_status FROM test_booking_transitions ORDER BY at"
    )
    assert sorted(str(t.booking_id) for t in transitions) == sorted(holds)
    assert {(t.old_status, t.new_status) for t in transitions} == {("PENDING", "EXPIRED")}
    # Each enqueue reschedules the job at least one interval later, so one
    # schedule runs it at most window / interval + 1 times; two would double that.
    print(
        f"expire_holds ran {runs} times in {window:.1f} s with two schedulers (interval {EXPIRY_INTERVAL} s)"
    )
    assert 1 <= runs <= window / EXPIRY_INTERVAL + 2


# --- Redis restart ----------------------------------------------------------------------


def test_worker_and_scheduler_carry_on_after_redis_restarts(
    harness: Harness, show: dict[str, Any], tmp_path: Path
) -> None:
    server = RedisServer(tmp_path)
    server.start()
    try:
        harness.env["REDIS_URL"] = server.url
        harness.redis = server.client()
        worker = harness.procs.worker()
        scheduler = harness.procs.scheduler()
        harness.wait_until_jobs_run()
        before = harness.hold(show["id"], ["E1"], hold_seconds=1)[0]
        wait_for(lambda: harness.booking(before).status == "EXPIRED", 15, "expiry before the restart")

        server.stop()
        # A worker that starts while Redis is away keeps trying until it is back.
        late = harness.procs.worker()
        wait_for(lambda: "worker lost Redis" in late.log(), 30, "the late worker found Redis down")
        server.start()

        restarted = time.monotonic()
        after = harness.hold(show["id"], ["E2"], hold_seconds=1)[0]
        wait_for(
            lambda: harness.scheduled() == harness.expected_schedule(), 20, "periodic jobs re-registered"
        )
        wait_for(lambda: harness.booking(after).status == "EXPIRED", 30, "expiry after the restart")
        print(f"after the Redis restart a lapsed hold expired within {time.monotonic() - restarted:.1f} s")

        # This app enqueued on the shared test Redis, which no worker here reads:
        # only the relay job, run from the restarted Redis, can deliver it.
        booking_id = harness.confirmed_booking(show["id"], ["E3"], email="eve@example.com")
        wait_for(lambda: harness.outbox_status(booking_id) == "SENT", 30, "the relay delivered the message")
        assert [p.name for p in harness.messages()] == [f"booking-confirmed-{booking_id}.eml"]
        assert worker.alive() and scheduler.alive()
        assert "Redis unreachable" in scheduler.log()
        # Without persistence the restart lost the schedule; the scheduler registered it again.
        assert scheduler.log().count("registered periodic job expire_holds") == 2
        wait_for(lambda: "Job OK" in late.log(), 20, "the late worker runs jobs too")
    finally:
        harness.procs.stop_all()
        server.stop()


def test_confirm_succeeds_while_redis_is_unreachable_for_the_enqueue(
    harness: Harness, show: dict[str, Any]
) -> None:
    """The outbox row commits with the confirm; the failed enqueue is only logged."""
    booking_id, token = harness.hold(show["id"], ["E8"], email="flo@example.com")
    app = harness.app
    saved_url, saved_client = app.config["REDIS_URL"], app.extensions.pop("rq_enqueue_redis", None)
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    try:
        started = time.monotonic()
        harness.confirm(booking_id, token)
        assert time.monotonic() - started < 3  # no waiting through redis-py's retries
    finally:
        app.config["REDIS_URL"] = saved_url
        app.extensions.pop("rq_enqueue_redis", None)
        if saved_client is not None:
            app.extensions["rq_enqueue_redis"] = saved_client
    assert harness.outbox_status(booking_id) == "PENDING"
    harness.procs.worker()
    harness.procs.scheduler()
    wait_for(lambda: harness.outbox_status(booking_id) == "SENT", 30, "the relay delivered the message")
    assert len(harness.messages()) == 1
