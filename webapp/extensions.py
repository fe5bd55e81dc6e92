"""Extensions live at module level and are bound to an app in ``create_app``."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()


def one_reconnect() -> Retry:
    """One immediate retry, on a fresh connection, after a connection error.

    After Redis restarts every pooled connection is dead, and the first
    command on each would fail although Redis is back: that must not count as
    "Redis down" (which makes callers skip Redis for a while). A Redis that is
    really gone refuses the second connection at once, so it still costs one
    fast failure; a slow one (TimeoutError) is not retried at all, since every
    caller can carry on without Redis and must not wait seconds for it.
    """
    return Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,))


class RedisClient:
    """One redis-py client per app, with short timeouts.

    The timeouts matter: PostgreSQL is the source of truth, so when Redis is
    slow or gone a request must notice quickly and carry on without it.
    """

    def init_app(self, app: Flask) -> None:
        app.extensions["redis"] = redis.Redis.from_url(
            app.config["REDIS_URL"],
            socket_timeout=app.config["REDIS_SOCKET_TIMEOUT"],
            socket_connect_timeout=app.config["REDIS_SOCKET_TIMEOUT"],
            health_check_interval=15,
            retry=one_reconnect(),
        )

    @property
    def client(self) -> redis.Redis:
        return current_app.extensions["redis"]


redis_client = RedisClient()
