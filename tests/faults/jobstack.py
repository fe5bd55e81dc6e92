"""Set-up shared by the worker and multi-instance fault tests.

Job processes run on an RQ queue and a mailbox of the test's own (so a
worker of another test can never take their jobs), the test reads the
database over a plain autocommit connection, and a trigger records every
change of a booking's status: "expired exactly once" is then a fact about
the database's history, not about the final state alone.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis
from flask import Flask
from jobsupport import JobProcesses, delete_rq_keys, parse_json
from psycopg.rows import namedtuple_row
from support.database import libpq_dsn

from webapp.jobs import job_id_prefix, periodic_job_id, periodic_jobs
from webapp.runners import scheduled_jobs_key

#: Short timers for every process of the stack; a test may override them.
JOB_TIMERS = {
    "EXPIRY_INTERVAL_SECONDS": "2",
    "RELAY_INTERVAL_SECONDS": "1",
    "DELIVERY_BACKOFF_SECONDS": "0.2",
}


@dataclass
class JobStack:
    app: Flask
    env: dict[str, str]
    procs: JobProcesses
    mailbox: Path
    redis: redis.Redis
    db: psycopg.Connection

    def sql(self, query: str, params: Any = None) -> list[Any]:
        cursor = self.db.execute(query, params)
        return cursor.fetchall() if cursor.description else []

    def scalar(self, query: str, params: Any = None) -> Any:
        return self.sql(query, params)[0][0]

    def runs(self, job: str) -> int:
        return int(self.redis.hget(f"{self.env['REDIS_KEY_PREFIX']}jobs:runs", job) or 0)

    def last_run(self, job: str) -> Any:
        return parse_json(self.redis.hget(f"{self.env['REDIS_KEY_PREFIX']}jobs:last_run", job))

    def scheduled(self) -> list[str]:
        return sorted(m.decode() for m in self.redis.zrange(scheduled_jobs_key(self.app.config), 0, -1))

    def expected_schedule(self) -> list[str]:
        return sorted(periodic_job_id(self.app.config, job.name) for job in periodic_jobs(self.app.config))

    def scheduler_instances(self) -> int:
        pattern = f"{self.env['REDIS_KEY_PREFIX']}scheduler:instance:*"
        return len(list(self.redis.scan_iter(match=pattern)))

    def messages(self) -> dict[str, Path]:
        """Delivered messages by booking id (the mailbox names each file after its booking)."""
        return {p.stem.removeprefix("booking-confirmed-"): p for p in self.mailbox.glob("*.eml")}

    def busy_backends(self) -> int:
        """Other sessions of the test database that are running or inside a transaction."""
        return self.scalar(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND backend_type = 'client backend'
              AND pid <> pg_backend_pid() AND state <> 'idle'
            """
        )


@contextmanager
def job_stack(
    app: Flask, test_env: dict[str, str], redis_conn: redis.Redis, tmp_path: Path, **env: str
) -> Iterator[JobStack]:
    """Workers and schedulers started through the stack are stopped, and their RQ keys removed, at the end.

    The in-process app enqueues on the same queue and with the same delivery
    lease as the job processes, so its confirms reach them.
    """
    queue = f"{test_env['RQ_QUEUE']}-{secrets.token_hex(3)}"
    mailbox = tmp_path / "mailbox"
    full_env = {**test_env, **JOB_TIMERS, "RQ_QUEUE": queue, "MAILBOX_DIR": str(mailbox), **env}
    saved = {key: app.config[key] for key in ("RQ_QUEUE", "MAILBOX_DIR", "DELIVERY_LEASE_SECONDS")}
    app.config.update(RQ_QUEUE=queue, MAILBOX_DIR=str(mailbox))
    if "DELIVERY_LEASE_SECONDS" in env:
        app.config["DELIVERY_LEASE_SECONDS"] = int(env["DELIVERY_LEASE_SECONDS"])
    procs = JobProcesses(full_env, tmp_path)
    conn = psycopg.connect(libpq_dsn(test_env["DATABASE_URL"]), autocommit=True, row_factory=namedtuple_row)
    try:
        yield JobStack(app, full_env, procs, mailbox, redis_conn, conn)
    finally:
        procs.stop_all()
        print(procs.logs())  # shown by pytest when the test failed
        conn.close()
        app.config.update(saved)
        delete_rq_keys(redis_conn, queue, job_id_prefix(app.config))


@contextmanager
def transition_log(stack: JobStack) -> Iterator[None]:
    """Record every change of a booking's status or ``expired_at`` (test database only)."""
    stack.sql(
        """
        CREATE TABLE fault_booking_transitions (
            booking_id uuid, old_status text, new_status text,
            old_expired_at timestamptz, new_expired_at timestamptz,
            at timestamptz DEFAULT clock_timestamp());
        CREATE FUNCTION fault_log_booking_transition() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.status IS DISTINCT FROM OLD.status OR NEW.expired_at IS DISTINCT FROM OLD.expired_at THEN
                INSERT INTO fault_booking_transitions
                    (booking_id, old_status, new_status, old_expired_at, new_expired_at)
                VALUES (NEW.id, OLD.status, NEW.status, OLD.expired_at, NEW.expired_at);
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER fault_booking_transitions AFTER UPDATE ON bookings
            FOR EACH ROW EXECUTE FUNCTION fault_log_booking_transition();
        """
    )
    try:
        yield
    finally:
        stack.sql(
            """
            DROP TRIGGER IF EXISTS fault_booking_transitions ON bookings;
            DROP FUNCTION IF EXISTS fault_log_booking_transition();
            DROP TABLE IF EXISTS fault_booking_transitions;
            """
        )
