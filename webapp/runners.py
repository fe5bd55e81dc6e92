"""The long-running job processes: an RQ worker and an rq-scheduler, both outliving Redis restarts.

Neither runs inside the web process; ``flask --app wsgi worker`` and
``flask --app wsgi scheduler`` start them (see the Procfile).

The worker is RQ's own. RQ reconnects by itself only while it waits for a
job; a Redis failure at any other moment (start-up, bookkeeping around a
job) makes ``Worker.work`` return or raise. ``run_worker`` then starts a
fresh worker after a short pause, until it is told to stop.

The scheduler is rq-scheduler, driven by our own loop because its
``Scheduler.run`` exits on the first Redis error, and because the periodic
jobs must come back when a Redis restart lost them (no persistence). Its keys
(scheduled jobs, lock, instance records) move under REDIS_KEY_PREFIX, where
rq-scheduler would share ``rq:scheduler:*`` among every deployment and test
run on the Redis database. Each poll, under rq-scheduler's lock (so only one
of several schedulers acts at a time), it re-registers missing periodic jobs
under their fixed ids and moves due jobs into the queue.
"""

from __future__ import annotations

import logging
import secrets
import signal
import threading
import time
from collections.abc import Mapping
from contextlib import suppress
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import redis
from flask import Flask
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq_scheduler import Scheduler

from .jobs import (
    PeriodicJob,
    job_id_prefix,
    periodic_job_id,
    periodic_jobs,
    redis_key,
    scheduled_jobs_key,
)

log = logging.getLogger(__name__)

#: Longest pause between reconnection attempts; RQ's own default is a minute.
MAX_RECONNECT_WAIT_SECONDS = 2.0
#: The scheduler lock outlives a crashed holder by at most this long.
SCHEDULER_LOCK_TTL_SECONDS = 5

_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _redis(config: Mapping[str, Any]) -> redis.Redis:
    # No short socket_timeout: RQ blocks on BLPOP and sizes the timeout itself.
    return redis.Redis.from_url(config["REDIS_URL"], socket_connect_timeout=5, health_check_interval=30)


class _StopFlag:
    """SIGTERM / SIGINT ask for a clean stop; the loops check between steps."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, signum: int, frame: FrameType | None) -> None:
        self.event.set()

    @property
    def is_set(self) -> bool:
        return self.event.is_set()

    def wait(self, seconds: float) -> bool:
        return self.event.wait(max(0.0, seconds))


# --- worker ---------------------------------------------------------------------


def run_worker(app: Flask, *, burst: bool = False) -> None:
    """Work RQ_QUEUE until SIGTERM / SIGINT (or, with ``burst``, until it is empty).

    RQ handles the signals while a worker runs: the first finishes the job in
    hand, a second kills it.
    """
    connection = _redis(app.config)
    stop = _StopFlag()
    stop.install()  # until RQ installs its own, and again between workers
    while not stop.is_set:
        worker: Worker | None = None
        try:
            # Even creating a worker talks to Redis.
            worker = Worker([Queue(app.config["RQ_QUEUE"], connection=connection)], connection=connection)
            worker.max_connection_wait_time = MAX_RECONNECT_WAIT_SECONDS
            if stop.is_set:  # asked to stop while Redis was away
                return
            log.info("worker %s listening on queue %s", worker.name, app.config["RQ_QUEUE"])
            # RQ logs four lines per job at INFO, which floods the console
            # every few seconds with periodic jobs that found nothing to do;
            # our jobs log one line themselves when they did something.
            worker.work(burst=burst, logging_level=app.config["WORKER_LOG_LEVEL"])
        except redis.RedisError as exc:
            if burst:
                raise
            log.error("worker lost Redis (%s); starting a new worker shortly", exc)
        else:
            if burst or worker._shutdown_requested_date is not None:
                return
            log.error("worker stopped unexpectedly; starting a new one shortly")
        finally:
            # The worker's pub/sub thread would otherwise retry for ever after a failed teardown.
            if worker is not None and worker.pubsub_thread is not None:
                with suppress(Exception):
                    worker.pubsub_thread.stop()
        stop.install()  # RQ's handlers need Redis; ours only end the pause
        stop.wait(MAX_RECONNECT_WAIT_SECONDS)


# --- scheduler ------------------------------------------------------------------


class PrefixedScheduler(Scheduler):
    """rq-scheduler with its keys under REDIS_KEY_PREFIX and a lock only its holder releases."""

    def __init__(self, config: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.redis_scheduler_namespace_prefix = redis_key(config, "scheduler", "instance:")
        self.scheduler_key = redis_key(config, "scheduler")
        self.scheduler_lock_key = redis_key(config, "scheduler", "lock")
        self.scheduled_jobs_key = scheduled_jobs_key(config)
        self._lock_token = secrets.token_hex(16)
        self._release = self.connection.register_script(_COMPARE_AND_DELETE)

    def acquire_lock(self) -> bool:
        self._lock_acquired = bool(
            self.connection.set(
                self.scheduler_lock_key, self._lock_token, ex=SCHEDULER_LOCK_TTL_SECONDS, nx=True
            )
        )
        return self._lock_acquired

    def enqueue_job(self, job: Job) -> None:
        """Queue a due job, except a periodic one whose previous run is still waiting in the queue.

        While no worker is free, rq-scheduler would add another copy of a
        periodic job every interval; they would all run back to back once a
        worker returns. Skipping the copy only moves the next run on.
        """
        interval = job.meta.get("interval")
        if interval and self.get_queue_for_job(job).get_job_position(job.id) is not None:
            self.connection.zadd(self.scheduled_jobs_key, {job.id: time.time() + int(interval)})
            return
        super().enqueue_job(job)

    def remove_lock(self) -> None:
        # rq-scheduler deletes the key blindly, which would free a lock that
        # expired and was taken by another scheduler meanwhile.
        if self._lock_acquired:
            self._lock_acquired = False
            self._release(keys=[self.scheduler_lock_key], args=[self._lock_token])


def scheduler_poll_seconds(config: Mapping[str, Any]) -> float:
    """Often enough that expiry runs within a fraction of its interval of being due."""
    return min(1.0, config["EXPIRY_INTERVAL_SECONDS"] / 8)


def run_scheduler(app: Flask) -> None:
    """Keep the periodic jobs registered and move due jobs into RQ_QUEUE until SIGTERM / SIGINT."""
    config = app.config
    poll = scheduler_poll_seconds(config)
    scheduler = PrefixedScheduler(
        config, queue_name=config["RQ_QUEUE"], interval=poll, connection=_redis(config)
    )
    specs = periodic_jobs(config)
    stop = _StopFlag()
    stop.install()
    redis_up = True
    log.info(
        "scheduler %s polling every %.2f s for queue %s: %s",
        scheduler.name,
        poll,
        config["RQ_QUEUE"],
        ", ".join(f"{spec.name} every {spec.interval} s" for spec in specs),
    )
    try:
        while not stop.is_set:
            started = time.monotonic()
            try:
                _scheduler_tick(scheduler, config, specs)
                if not redis_up:
                    log.info("Redis is back; scheduling resumed")
                    redis_up = True
            except redis.RedisError as exc:
                scheduler._lock_acquired = False  # gone with Redis, or expires on its own
                if redis_up:
                    log.error("Redis unreachable, scheduling paused until it is back: %s", exc)
                    redis_up = False
            stop.wait(poll - (time.monotonic() - started))
    finally:
        with suppress(redis.RedisError):
            scheduler.remove_lock()
            scheduler.register_death()
        log.info("scheduler %s stopped", scheduler.name)


def _scheduler_tick(
    scheduler: PrefixedScheduler, config: Mapping[str, Any], specs: list[PeriodicJob]
) -> None:
    if scheduler.connection.exists(scheduler.key):
        scheduler.heartbeat()
    else:  # first tick, or Redis lost our record
        scheduler.register_birth()
    if not scheduler.acquire_lock():
        return  # another scheduler is at it right now; it does the same work
    try:
        ensure_periodic_jobs(scheduler, config, specs)
        scheduler.enqueue_jobs()
    finally:
        scheduler.remove_lock()


def ensure_periodic_jobs(
    scheduler: PrefixedScheduler, config: Mapping[str, Any], specs: list[PeriodicJob]
) -> list[str]:
    """Register each periodic job unless it is registered as specified; returns the ids (re)registered.

    Call it only under the scheduler lock: rq-scheduler moves a due job by
    removing it from the schedule and adding it back, and a check between the
    two would register a duplicate run. A job id that is ours but no longer
    specified (a renamed job) is unscheduled.
    """
    connection = scheduler.connection
    queue_name = config["RQ_QUEUE"]
    registered = []
    wanted = {periodic_job_id(config, spec.name): spec for spec in specs}
    for job_id, spec in wanted.items():
        next_run = connection.zscore(scheduler.scheduled_jobs_key, job_id)
        if next_run is not None and _matches(connection, job_id, spec, queue_name):
            continue
        # A changed definition keeps its next run time, so two schedulers that
        # disagree during a deploy re-register each other's job without ever
        # running it more often than either interval says.
        scheduler.schedule(
            scheduled_time=datetime.fromtimestamp(next_run, UTC) if next_run else datetime.now(UTC),
            func=spec.func,
            interval=spec.interval,
            id=job_id,
            queue_name=queue_name,
            timeout=spec.timeout,
            result_ttl=spec.result_ttl,
            description=spec.name,
        )
        registered.append(job_id)
        log.info("registered periodic job %s (every %d s) as %s", spec.name, spec.interval, job_id)
    ours = f"{job_id_prefix(config)}periodic-"
    for member in connection.zrange(scheduler.scheduled_jobs_key, 0, -1):
        job_id = member.decode()
        if job_id.startswith(ours) and job_id not in wanted:
            scheduler.cancel(job_id)
            log.info("unscheduled periodic job %s, no longer defined", job_id)
    return registered


def _matches(connection: redis.Redis, job_id: str, spec: PeriodicJob, queue_name: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return False
    return (
        job.func_name == spec.func
        and job.meta.get("interval") == spec.interval
        and job.origin == queue_name
        and job.timeout == spec.timeout
        and job.result_ttl == spec.result_ttl
    )
