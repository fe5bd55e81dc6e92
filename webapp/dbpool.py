"""Dropping dead PostgreSQL connections without a round trip on every request.

SQLAlchemy's ``pool_pre_ping`` sends a ``SELECT 1`` each time a connection
is checked out of the pool: one more round trip per request, the price of
surviving a PostgreSQL restart. A connection that was in use a moment ago
is almost never dead, though, and when it is (the server restarted under
load) the pre-ping would not have saved the requests in flight either. So
only a connection that sat idle in the pool for DB_PING_AFTER_IDLE_SECONDS
is pinged before use; a busy one goes straight to work. A dead connection
met anyway fails its statement with a disconnect error: the request answers
503 ``database_unavailable`` (webapp/problems.py) and SQLAlchemy discards
every connection opened before the failure, so the pool refills with fresh
ones and the next requests succeed.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_LAST_USED = "marquee.last_used"


def ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Ping a connection on checkout only if it was idle longer than ``idle_seconds``."""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        last_used = record.info.get(_LAST_USED)
        if last_used is None or time.monotonic() - last_used < idle_seconds:
            return  # new (just connected) or busy a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            alive = False
            if not engine.dialect.is_disconnect(error, dbapi_connection, None):
                raise
        if not alive:
            # The pool discards this connection and checks out another (or a new one).
            raise exc.DisconnectionError("connection died while idle in the pool")
