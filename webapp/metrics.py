"""Prometheus metrics at GET /metrics (admin bearer), through the official prometheus_client.

Two kinds of figures, each correct however many gunicorn workers answer:

* Counters and histograms (holds by outcome, request latency by Flask
  endpoint) are counted in the process that served the request. Under
  gunicorn they live in prometheus_client's multiprocess mode: each worker
  writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py
  sets it up and marks dead workers), and a scrape, answered by any worker,
  sums every worker's files. Without that variable (the Flask test client, a
  plain ``flask run``) they stay in this process.
* Gauges of shared state (the oldest overdue hold, the outbox, the job queue,
  whether Redis is down) are read from PostgreSQL and Redis at scrape time,
  so they are never stale and never per worker.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Any

import redis
from flask import Blueprint, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import text

from . import limits, outbox
from .auth import require_admin
from .extensions import db

# ``marquee_holds_created`` and friends say when a process started counting: noise here.
disable_created_metrics()

#: Where the counters live when not in multiprocess mode (never the global default registry,
#: so that importing this module twice in tests cannot register a name twice).
_LOCAL = CollectorRegistry(auto_describe=True)

HOLDS = Counter(
    "marquee_holds",
    "Hold requests that reached the booking service, by outcome: held, replayed (an "
    "Idempotency-Key's first answer), unavailable (seats taken), or the error code.",
    ["outcome"],
    registry=_LOCAL,
)
REQUEST_DURATION = Histogram(
    "marquee_request_duration_seconds",
    "Time to answer a request, by Flask endpoint (the route's name, not the raw path) and method.",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=_LOCAL,
)

bp = Blueprint("metrics", __name__)


def multiprocess_dir() -> str | None:
    """The directory of the workers' metric files, when running in multiprocess mode."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def count_hold(outcome: str) -> None:
    HOLDS.labels(outcome=outcome).inc()


def observe_request(endpoint: str, method: str, seconds: float) -> None:
    REQUEST_DURATION.labels(endpoint=endpoint, method=method).observe(seconds)


class ScrapeTimeGauges(Collector):
    """Shared state, read when scraped: PostgreSQL for holds and the outbox, Redis for the queue."""

    def __init__(self, redis_client: redis.Redis, queue_key: str) -> None:
        self.redis = redis_client
        self.queue_key = queue_key

    def collect(self) -> Iterator[GaugeMetricFamily]:
        oldest = db.session.execute(
            text(
                """
                SELECT coalesce(extract(epoch FROM now() - min(hold_expires_at)), 0)
                FROM bookings WHERE status = 'PENDING' AND hold_expires_at <= now()
                """
            )
        ).scalar_one()
        yield GaugeMetricFamily(
            "marquee_oldest_overdue_hold_seconds",
            "How long the oldest lapsed hold still PENDING in the database has been overdue "
            "(0: none). Growing means the expiry job is not running.",
            value=float(oldest),
        )
        counts = outbox.status_counts(db.session)
        db.session.rollback()  # a read: end the transaction before the Redis calls
        yield GaugeMetricFamily(
            "marquee_outbox_backlog", "Outbox messages not yet delivered (PENDING).", value=counts["PENDING"]
        )
        yield GaugeMetricFamily(
            "marquee_outbox_dead",
            "Outbox messages given up on (DEAD): customers not told.",
            value=counts["DEAD"],
        )
        try:
            queued: float = float(self.redis.llen(self.queue_key))
            degraded = 0
        except redis.RedisError:
            queued, degraded = math.nan, 1
        yield GaugeMetricFamily(
            "marquee_queue_length", "Jobs waiting in the RQ queue (NaN: Redis down).", value=queued
        )
        yield GaugeMetricFamily(
            "marquee_seat_locking_degraded",
            "1 while Redis is unreachable: holds go on under PostgreSQL row locks alone.",
            value=degraded,
        )


def exposition() -> bytes:
    """The whole scrape: counted figures (every worker's, in multiprocess mode) and the gauges."""
    counted = CollectorRegistry()
    directory = multiprocess_dir()
    if directory:
        MultiProcessCollector(counted, path=directory)
    else:
        counted = _LOCAL
    gauges = CollectorRegistry()
    app: Any = current_app
    gauges.register(ScrapeTimeGauges(app.extensions["redis"], f"rq:queue:{app.config['RQ_QUEUE']}"))
    return generate_latest(counted) + generate_latest(gauges)


@bp.get("/metrics")
@limits.sign_in_failures
def metrics() -> Response:
    require_admin()
    return Response(exposition(), content_type=CONTENT_TYPE_LATEST)
