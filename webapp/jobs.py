"""RQ jobs: hold expiry, orphan cleanup, and confirmation messages.

Jobs take ids and plain values only and read everything else from the
database when they run, so a job enqueued long ago, retried, or run twice
acts on the current state. Every job is idempotent and safe to run on
several workers at once:

* ``expire_holds`` locks its batches with SKIP LOCKED, and expiring is a
  conditional update (PENDING and overdue), so no booking expires twice.
* ``cleanup_orphans`` deletes with SKIP LOCKED under conditions that a real
  booking can never meet.
* ``relay_outbox`` only enqueues; ``send_confirmation`` claims its outbox row
  with a conditional update, so duplicates find nothing to do.

Periodic runs are registered with rq-scheduler by webapp/runners.py under the
ids from ``periodic_jobs``. Each job records its last run in Redis, which
``flask jobs-status`` shows.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask, current_app, has_app_context
from rq import Queue, get_current_job

from . import mail, outbox
from .booking.expiry import expire_overdue_holds
from .booking.housekeeping import cleanup_orphan_bookings, purge_idempotency_keys
from .extensions import db, one_reconnect
from .jsonutil import dumps
from .requestlog import bind_request_id, job_meta

log = logging.getLogger(__name__)

EXPIRY_BATCH_SIZE = 500
CLEANUP_BATCH_SIZE = 1000
RELAY_BATCH_SIZE = 500
#: How long a finished delivery job's result is kept in Redis (for rq info / debugging).
DELIVERY_RESULT_TTL = 600
#: A delivery job still queued after this long is dropped by RQ; the relay enqueues it again.
DELIVERY_QUEUED_TTL = 3600


# --- running inside an app ------------------------------------------------------

_cached_app: Flask | None = None
#: The process whose database connections the pools hold; see ``_job_app``.
_pool_owner_pid = os.getpid()


def _app() -> Flask:
    global _cached_app
    if _cached_app is None:
        from . import create_app

        _cached_app = create_app()
    return _cached_app


@contextmanager
def _job_app() -> Iterator[Flask]:
    """The app a job runs in: the current one (the worker command's), else one per process.

    RQ forks a work horse per job. A forked child must not use the
    connections its parent opened (both would talk over one socket), so the
    first job in a new process drops the inherited pool without closing it.
    """
    global _pool_owner_pid
    context = None
    if has_app_context():
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    else:
        app = _app()
        context = app.app_context()
        context.push()
    forked = os.getpid() != _pool_owner_pid
    job = get_current_job()
    bind_request_id(job.meta.get("request_id") if job is not None else None)  # the enqueuer's request
    try:
        if forked:
            for engine in db.engines.values():
                engine.dispose(close=False)
            _pool_owner_pid = os.getpid()
        yield app
    finally:
        db.session.remove()
        if forked:
            # The horse exits right after the job: say goodbye to PostgreSQL
            # instead of dropping the connection.
            for engine in db.engines.values():
                engine.dispose()
        if context is not None:
            context.pop()


def _record_run(app: Flask, name: str, outcome: Mapping[str, Any], started: float) -> None:
    """Note the run for ``jobs-status``; never fails the job over it."""
    record = {
        "finished_at": datetime.now(UTC).isoformat(),
        "duration_ms": round((time.monotonic() - started) * 1000, 1),
        **outcome,
    }
    try:
        client = app.extensions["redis"]
        with client.pipeline(transaction=False) as pipe:
            pipe.hset(redis_key(app.config, "jobs:last_run"), name, dumps(record))
            pipe.hincrby(redis_key(app.config, "jobs:runs"), name, 1)
            pipe.execute()
    except redis.RedisError as exc:
        log.warning("could not record the run of %s: %s", name, exc)


# --- names in Redis -------------------------------------------------------------


def redis_key(config: Mapping[str, Any], *parts: str) -> str:
    return config["REDIS_KEY_PREFIX"] + ":".join(parts)


def job_id_prefix(config: Mapping[str, Any]) -> str:
    """The key prefix, in the characters RQ allows in job ids."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", config["REDIS_KEY_PREFIX"])


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str
    interval: int
    timeout: int

    @property
    def result_ttl(self) -> int:
        """Long enough that the job's record outlives the gap to its next run.

        rq-scheduler reuses the record for every run and unschedules the job
        if it is gone (the scheduler then registers it afresh).
        """
        return max(600, 10 * self.interval)


def periodic_jobs(config: Mapping[str, Any]) -> list[PeriodicJob]:
    """What the scheduler keeps registered, and how often each runs."""
    expiry = config["EXPIRY_INTERVAL_SECONDS"]
    return [
        PeriodicJob("expire_holds", f"{__name__}.expire_holds", expiry, timeout=expiry + 60),
        PeriodicJob(
            "cleanup_orphans", f"{__name__}.cleanup_orphans", config["CLEANUP_INTERVAL_SECONDS"], 300
        ),
        PeriodicJob("relay_outbox", f"{__name__}.relay_outbox", config["RELAY_INTERVAL_SECONDS"], 120),
    ]


def periodic_job_id(config: Mapping[str, Any], name: str) -> str:
    """Fixed per deployment: registering twice, or from two schedulers, lands on the same job."""
    return f"{job_id_prefix(config)}periodic-{name}"


def scheduled_jobs_key(config: Mapping[str, Any]) -> str:
    """The sorted set rq-scheduler keeps its registered jobs in (see webapp/runners.py)."""
    return redis_key(config, "scheduler", "scheduled_jobs")


# --- the jobs -------------------------------------------------------------------


def expire_holds() -> dict[str, int]:
    """Expire lapsed holds batch by batch, committing each, within one interval's time."""
    started = time.monotonic()
    with _job_app() as app:
        budget = app.config["EXPIRY_INTERVAL_SECONDS"]
        expired = 0
        while True:
            count = expire_overdue_holds(db.session, batch_size=EXPIRY_BATCH_SIZE)
            db.session.commit()
            expired += count
            # What is left (rows locked by requests in flight) waits for the next run.
            if count == 0 or time.monotonic() - started > budget:
                break
        if expired:
            log.info("expired %d lapsed hold(s)", expired)
        outcome = {"expired": expired}
        _record_run(app, "expire_holds", outcome, started)
        return outcome


def cleanup_orphans() -> dict[str, int]:
    """Delete seatless PENDING bookings past ORPHAN_MIN_AGE_SECONDS and stale Idempotency-Key records."""
    started = time.monotonic()
    with _job_app() as app:
        orphans = _in_batches(
            lambda: cleanup_orphan_bookings(
                db.session, app.config["ORPHAN_MIN_AGE_SECONDS"], CLEANUP_BATCH_SIZE
            ),
            CLEANUP_BATCH_SIZE,
        )
        keys = _in_batches(
            lambda: purge_idempotency_keys(
                db.session, app.config["IDEMPOTENCY_TTL_SECONDS"], CLEANUP_BATCH_SIZE
            ),
            CLEANUP_BATCH_SIZE,
        )
        if orphans or keys:
            log.info("deleted %d orphan booking(s) and %d expired idempotency key(s)", orphans, keys)
        outcome = {"orphan_bookings": orphans, "idempotency_keys": keys}
        _record_run(app, "cleanup_orphans", outcome, started)
        return outcome


def _in_batches(batch: Any, batch_size: int) -> int:
    total = 0
    while True:
        count = batch()
        db.session.commit()
        total += count
        if count < batch_size:
            return total


def relay_outbox() -> dict[str, int]:
    """The safety net of the outbox: enqueue every message whose delivery is due.

    Catches what the after-commit enqueue missed (Redis down, jobs lost in a
    Redis restart), retries after backoff, and deliveries whose worker died
    and whose lease ran out.
    """
    started = time.monotonic()
    with _job_app() as app:
        max_attempts = app.config["MAX_DELIVERY_ATTEMPTS"]
        buried = outbox.bury_abandoned(db.session, max_attempts=max_attempts)
        db.session.commit()
        for row in buried:
            log.error(
                "outbox message %s (booking %s) is DEAD: %d attempt(s) never reported back",
                row.id,
                row.booking_id,
                row.attempts,
            )
        due = outbox.due_messages(db.session, max_attempts=max_attempts, limit=RELAY_BATCH_SIZE)
        db.session.commit()
        enqueued = sum(enqueue_delivery(app, message.outbox_id, message.attempts) for message in due)
        outcome = {"due": len(due), "enqueued": enqueued, "dead": len(buried)}
        _record_run(app, "relay_outbox", outcome, started)
        return outcome


def send_confirmation(outbox_id: int) -> dict[str, Any]:
    """Deliver one outbox message (a confirmation or a show cancellation), at most once per claim."""
    with _job_app() as app:
        config = app.config
        claimed = outbox.claim(
            db.session,
            outbox_id,
            lease_seconds=config["DELIVERY_LEASE_SECONDS"],
            max_attempts=config["MAX_DELIVERY_ATTEMPTS"],
        )
        db.session.commit()  # the claim must be visible before anything leaves
        if claimed is None:
            return {"outbox_id": outbox_id, "status": "not due"}

        message = mail.message_for(claimed, config["MAIL_FROM"])
        delay = config["DELIVERY_DELAY_SECONDS"]
        try:
            if delay:
                time.sleep(delay)
            where = mail.deliver(
                message,
                claimed.message_key,
                smtp_url=config["SMTP_URL"],
                mailbox_dir=config["MAILBOX_DIR"],
                timeout=max(1.0, config["DELIVERY_LEASE_SECONDS"] / 4),
            )
            if delay:
                time.sleep(delay)
        except Exception as exc:
            error = f"{exc.__class__.__name__}: {exc}"
            status = outbox.record_failure(
                db.session,
                claimed,
                error,
                backoff_seconds=config["DELIVERY_BACKOFF_SECONDS"],
                max_attempts=config["MAX_DELIVERY_ATTEMPTS"],
            )
            db.session.commit()
            if status == "DEAD":
                log.error(
                    "outbox message %s (booking %s) is DEAD after %d attempt(s): %s",
                    outbox_id,
                    claimed.booking_id,
                    claimed.attempt,
                    error,
                )
            else:
                log.warning("delivery %d of outbox message %s failed: %s", claimed.attempt, outbox_id, error)
            return {"outbox_id": outbox_id, "status": status or "superseded", "error": error}

        if outbox.mark_sent(db.session, claimed):
            db.session.commit()
            what = claimed.kind.replace("_", " ")  # "booking confirmed", "show cancelled"
            log.info("sent %s message %s for booking %s to %s", what, outbox_id, claimed.booking_id, where)
            return {"outbox_id": outbox_id, "status": "SENT", "attempt": claimed.attempt}
        db.session.commit()
        # Our lease ran out and a later attempt owns the row; it delivers the
        # same message again, which the mailbox and Message-ID make harmless.
        log.warning("delivery %d of outbox message %s finished after its lease", claimed.attempt, outbox_id)
        return {"outbox_id": outbox_id, "status": "superseded"}


# --- enqueueing -----------------------------------------------------------------


def queue(app: Flask, connection: redis.Redis | None = None) -> Queue:
    return Queue(app.config["RQ_QUEUE"], connection=connection or _enqueue_client(app))


def _enqueue_client(app: Flask) -> redis.Redis:
    """A Redis client for enqueueing from request threads: fails at once when Redis is down.

    The outbox row is already committed, so the relay will enqueue it later;
    a confirm must not wait through backoff for that. A dead pooled
    connection (Redis restarted) is retried once, at once.
    """
    client = app.extensions.get("rq_enqueue_redis")
    if client is None:
        client = redis.Redis.from_url(
            app.config["REDIS_URL"],
            socket_timeout=1.0,
            socket_connect_timeout=0.5,
            retry=one_reconnect(),
        )
        app.extensions["rq_enqueue_redis"] = client
    return client


def announce_delivery(sender: Any, outbox_id: int, **_: Any) -> None:
    """Receiver of ``events.message_owed`` (connected in ``create_app``): deliver the new message soon.

    Runs after the commit that wrote the outbox row, in the committer's app context.
    """
    if not has_app_context():
        log.warning("outbox message %s owed outside an app; the relay will enqueue it", outbox_id)
        return
    enqueue_delivery(current_app._get_current_object(), outbox_id, attempts=0)  # type: ignore[attr-defined]


def enqueue_delivery(app: Flask, outbox_id: int, attempts: int) -> bool:
    """Enqueue ``send_confirmation`` for the row's next attempt, unless that was done already.

    A marker per (row, attempts) keeps the relay from piling up duplicates
    of a job that is queued but not yet run. It expires with the delivery
    lease, so a job lost before it ran (Redis restarted, worker killed) is
    enqueued again. Duplicates that slip through are harmless: only one of
    them wins the claim. Returns whether a job was enqueued.
    """
    config = app.config
    client = _enqueue_client(app)
    marker = redis_key(config, "outbox", "enqueued", str(outbox_id), str(attempts))
    try:
        if not client.set(marker, "1", nx=True, ex=config["DELIVERY_LEASE_SECONDS"]):
            return False
        queue(app, client).enqueue_call(
            f"{__name__}.send_confirmation",
            args=(outbox_id,),
            timeout=config["DELIVERY_LEASE_SECONDS"],
            result_ttl=DELIVERY_RESULT_TTL,
            ttl=DELIVERY_QUEUED_TTL,
            description=f"send_confirmation(outbox_id={outbox_id})",
            meta=job_meta(),  # the request that owed the message, for the job's log lines
        )
    except redis.RedisError as exc:
        log.warning("could not enqueue delivery of outbox message %s (the relay will): %s", outbox_id, exc)
        with suppress(redis.RedisError):
            client.delete(marker)  # let the next relay run try again
        return False
    return True
