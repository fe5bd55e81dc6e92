"""What ``flask jobs-status`` shows: the queue, the periodic jobs' last runs, undelivered messages.

Apart from webapp/jobs.py so that the jobs themselves stay short and the
report can read the scheduler's keys without jobs and runners importing each other.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask
from rq.registry import FailedJobRegistry, StartedJobRegistry

from . import mail, outbox
from .extensions import db
from .jobs import periodic_job_id, periodic_jobs, queue, redis_key, scheduled_jobs_key


def status_report(app: Flask) -> dict[str, Any]:
    """Queue, periodic-job and outbox state in one mapping; Redis errors are reported, not raised."""
    config = app.config
    report: dict[str, Any] = {"queue": config["RQ_QUEUE"]}
    counts = outbox.status_counts(db.session)
    report["outbox"] = counts
    report["dead_messages"] = [dict(row._mapping) for row in outbox.dead_messages(db.session)]
    db.session.rollback()
    report["delivery"] = (
        "SMTP" if config["SMTP_URL"] else f"mailbox {mail.mailbox_path(config['MAILBOX_DIR'], '*')}"
    )
    client = app.extensions["redis"]
    try:
        rq_queue = queue(app, client)
        report["jobs"] = {
            "queued": rq_queue.count,
            "started": StartedJobRegistry(queue=rq_queue).count,
            "failed": FailedJobRegistry(queue=rq_queue).count,
        }

        last_runs = client.hgetall(redis_key(config, "jobs:last_run"))
        runs = client.hgetall(redis_key(config, "jobs:runs"))
        periodic = []
        for job in periodic_jobs(config):
            next_run = client.zscore(scheduled_jobs_key(config), periodic_job_id(config, job.name))
            last = last_runs.get(job.name.encode())
            periodic.append(
                {
                    "name": job.name,
                    "every_seconds": job.interval,
                    "registered": next_run is not None,
                    "next_run": datetime.fromtimestamp(next_run, UTC).isoformat() if next_run else None,
                    "runs": int(runs.get(job.name.encode(), 0)),
                    "last_run": last.decode() if last else None,
                }
            )
        report["periodic"] = periodic
    except redis.RedisError as exc:
        report["redis_error"] = str(exc)
    return report
