"""Fixtures of the fault suite, and the figures it reports at the end of the run.

Every test here is marked ``faults`` (also when a module forgets to say so),
which keeps it out of ``make test``. The faults only ever hit servers the
tests start themselves (a private redis-server, a private PostgreSQL
cluster, gunicorns on free ports): the shared PostgreSQL on 5432 and Redis
on 6379 serve other engineers' test runs at the same time.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from faults.jobstack import JobStack, job_stack
from faults.servers import PrivatePostgres, PrivateRedis

_HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: the marks must be there before -m deselects by them.
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.faults)
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the test's own; stopped and deleted even if the test fails."""
    cluster = PrivatePostgres()
    try:
        cluster.create()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def stack(
    app: Flask, test_env: dict[str, str], redis_conn: redis.Redis, tmp_path: Path
) -> Iterator[JobStack]:
    """Web, worker and scheduler processes with a 4 s delivery lease (a module may define its own)."""
    with job_stack(app, test_env, redis_conn, tmp_path, DELIVERY_LEASE_SECONDS="4") as job_stack_:
        yield job_stack_
