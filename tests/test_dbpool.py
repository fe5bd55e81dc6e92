"""webapp/dbpool.py: a connection that died while idle in the pool is replaced before use.

The pool no longer pre-pings every checkout (a round trip per request), only
connections idle for DB_PING_AFTER_IDLE_SECONDS. Real PostgreSQL: the idle
connection's backend is terminated, as a server restart would.
"""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from support.database import libpq_dsn

from webapp.dbpool import ping_idle_connections


def _kill_idle_backend(database_url: str, idle_seconds: float) -> tuple[object, int]:
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    ping_idle_connections(engine, idle_seconds)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        # pg_terminate_backend only signals: wait until the backend is gone.
        for _ in range(500):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                break
            admin.execute("SELECT pg_sleep(0.01)")
        else:
            pytest.fail(f"backend {pid} did not exit")
    return engine, pid


def test_a_connection_idle_past_the_threshold_is_pinged_and_replaced(database_url: str) -> None:
    engine, dead_pid = _kill_idle_backend(database_url, idle_seconds=0.0)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != dead_pid
    engine.dispose()


def test_a_busy_connection_is_not_pinged_so_its_death_surfaces_once(database_url: str) -> None:
    """The control: without the ping the dead connection is handed out, fails once, and is discarded."""
    engine, dead_pid = _kill_idle_backend(database_url, idle_seconds=3600.0)
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:  # the disconnect emptied the pool: a fresh connection
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != dead_pid
    engine.dispose()
