"""Configuration read from the environment, once, when the app is created.

Every setting has the default the README lists (README.md, Configuration).
``APP_ENV=test`` shortens the timers so that tests never wait for minutes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from limits import parse_many

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET_KEY_FILE = PROJECT_ROOT / "var" / "secret_key"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres:postgres@localhost:5432/movie_booking"
DEFAULT_REDIS_URL = "redis://localhost:6379/0"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; raised at start-up, never per request."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value >= minimum:  # also rejects NaN
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def normalise_database_url(url: str) -> str:
    """Accept the ``postgres://`` and ``postgresql://`` forms hosting platforms hand out.

    SQLAlchemy would pick psycopg2 for them, which we do not ship.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"on", "true", "1", "yes"}:
        return True
    if raw in {"off", "false", "0", "no"}:
        return False
    raise ConfigError(f"{name} must be on or off, got {raw!r}")


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    """A Flask-Limiter limit such as '20 per minute' or '10 per 10 minutes', checked now."""
    raw = env.get(name, "").strip() or default
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a limit such as '20 per minute', got {raw!r}") from None
    return raw


def persistent_secret_key(path: Path) -> str:
    """The key stored at ``path``, generated there first if there is none yet.

    Outside production a newcomer runs ``make run`` with no SECRET_KEY. A key
    made up per process would differ between gunicorn workers, so a session
    cookie signed by one worker would be refused by the next (a lost CSRF
    token, most of the time). So the first process writes a key and every
    process, and every restart, reads the same one. Several workers start at
    once: the key is written to a private temporary file and linked into place,
    which either wins atomically or finds the winner's file, never a half one.
    """
    try:
        stored = path.read_text().strip()
    except FileNotFoundError:
        stored = ""
    if stored:
        return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".secret_key.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: use its key
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
    stored = path.read_text().strip()
    if not stored:
        raise ConfigError(f"{path} is empty: delete it, or set SECRET_KEY")
    return stored


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables."""
    env = os.environ if env is None else env
    app_env = env.get("APP_ENV", "production").strip() or "production"
    if app_env not in {"production", "development", "test"}:
        raise ConfigError(f"APP_ENV must be production, development or test, got {app_env!r}")
    testing = app_env == "test"

    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if app_env == "production":
            raise ConfigError("SECRET_KEY is required when APP_ENV=production")
        key_file = env.get("SECRET_KEY_FILE", "").strip()
        secret_key = persistent_secret_key(Path(key_file) if key_file else DEFAULT_SECRET_KEY_FILE)

    worker_log_level = env.get("WORKER_LOG_LEVEL", "WARNING").strip().upper() or "WARNING"
    if worker_log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError(f"WORKER_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, got {worker_log_level!r}")

    log_format = env.get("LOG_FORMAT", "").strip().lower() or ("json" if app_env == "production" else "plain")
    if log_format not in {"json", "plain"}:
        raise ConfigError(f"LOG_FORMAT must be json or plain, got {log_format!r}")

    database_url = normalise_database_url(env.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    web_threads = _int(env, "WEB_THREADS", 4, minimum=1)
    prepared_statements = _switch(env, "DB_PREPARED_STATEMENTS", True)
    return {
        "APP_ENV": app_env,
        # Where Flask-Migrate finds the migrations (relative to the working directory).
        "MIGRATIONS_DIR": "migrations",
        "TESTING": testing,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {
            # One connection per request thread, plus a little slack for the
            # health checks. No pre-ping on every checkout (a round trip per
            # request): connections idle for DB_PING_AFTER_IDLE_SECONDS are
            # pinged instead (webapp/dbpool.py), and a disconnect met in use
            # empties the pool. Recycling bounds a connection's age.
            "pool_size": _int(env, "DB_POOL_SIZE", web_threads + 1, minimum=1),
            "max_overflow": 2,
            "pool_pre_ping": False,
            "pool_recycle": 1800,
            # A stuck lock or a runaway query must not hold a gunicorn thread
            # for ever: both end in an error the app answers with 503 "busy".
            # The lock wait is the shorter, so a hold queued behind a stuck
            # transaction gives up first.
            "connect_args": {
                "connect_timeout": 5,
                # psycopg prepares a statement on its fifth run on a connection,
                # which lets the hold run on a generic plan. PgBouncer before
                # 1.21 (transaction mode) cannot keep prepared statements:
                # DB_PREPARED_STATEMENTS=off there.
                "prepare_threshold": 5 if prepared_statements else None,
                "options": (
                    "-c timezone=UTC"
                    f" -c statement_timeout={_int(env, 'DB_STATEMENT_TIMEOUT_MS', 5000)}"
                    f" -c lock_timeout={_int(env, 'DB_LOCK_TIMEOUT_MS', 2000)}"
                ),
            },
        },
        "DB_PREPARED_STATEMENTS": prepared_statements,
        "DB_PING_AFTER_IDLE_SECONDS": _float(env, "DB_PING_AFTER_IDLE_SECONDS", 10.0),
        "REDIS_URL": env.get("REDIS_URL", DEFAULT_REDIS_URL),
        # Seconds a Redis call may take: PostgreSQL is the source of truth, so a
        # slow or absent Redis must cost little (every caller carries on without it).
        "REDIS_SOCKET_TIMEOUT": 0.5,
        # Every Redis key this app writes starts with this, so tests (and
        # several deployments sharing one Redis) never see each other's keys.
        "REDIS_KEY_PREFIX": env.get("REDIS_KEY_PREFIX", "marquee:"),
        "RQ_QUEUE": env.get("RQ_QUEUE", "marquee"),
        # What RQ itself logs in the worker: WARNING keeps an idle stack quiet
        # (failures still show); INFO adds a few lines for every job run.
        "WORKER_LOG_LEVEL": worker_log_level,
        # One line per request and every app log line: JSON for log shippers, plain for people.
        "LOG_FORMAT": log_format,
        "ADMIN_TOKEN": env.get("ADMIN_TOKEN", "") or None,
        # Door staff: checks tickets in (POST /api/checkins, /admin/checkin) and nothing else.
        "CHECKIN_TOKEN": env.get("CHECKIN_TOKEN", "") or None,
        "HOLD_SECONDS": _int(env, "HOLD_SECONDS", 10 if testing else 300, minimum=1),
        "EXPIRY_INTERVAL_SECONDS": _int(env, "EXPIRY_INTERVAL_SECONDS", 2 if testing else 30, minimum=1),
        "MAX_SEATS_PER_BOOKING": _int(env, "MAX_SEATS_PER_BOOKING", 10, minimum=1),
        "MAX_HELD_SEATS_PER_VISITOR": _int(env, "MAX_HELD_SEATS_PER_VISITOR", 10),
        "MAX_HOLD_EXTENSIONS": _int(env, "MAX_HOLD_EXTENSIONS", 1),
        # Redis seat locks: a short TTL so a crashed worker never blocks a seat
        # for long, and a bounded wait before answering 409.
        "SEAT_LOCK_TTL_MS": _int(env, "SEAT_LOCK_TTL_MS", 5000, minimum=10),
        "SEAT_LOCK_WAIT_MS": _int(env, "SEAT_LOCK_WAIT_MS", 200),
        # How long a seat PostgreSQL showed taken is refused by the Redis lock
        # script alone (never past its hold's expiry; a cancel clears it); 0: off.
        "SEAT_TAKEN_TTL_MS": _int(env, "SEAT_TAKEN_TTL_MS", 2000),
        "IDEMPOTENCY_TTL_SECONDS": _int(env, "IDEMPOTENCY_TTL_SECONDS", 24 * 3600, minimum=1),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 64 * 1024, minimum=1024),
        "SMTP_URL": env.get("SMTP_URL", "") or None,
        "MAILBOX_DIR": env.get("MAILBOX_DIR", os.path.join("var", "mailbox")),
        "MAIL_FROM": env.get("MAIL_FROM", "Marquee <tickets@marquee.localhost>"),
        # Background jobs (webapp/jobs.py). A failed delivery is retried after
        # DELIVERY_BACKOFF_SECONDS, doubling each time, and is dead after
        # MAX_DELIVERY_ATTEMPTS. A claimed delivery that never reports back is
        # taken over after DELIVERY_LEASE_SECONDS (which also caps the job).
        "CLEANUP_INTERVAL_SECONDS": _int(env, "CLEANUP_INTERVAL_SECONDS", 60, minimum=1),
        "ORPHAN_MIN_AGE_SECONDS": _int(env, "ORPHAN_MIN_AGE_SECONDS", 60, minimum=1),
        "RELAY_INTERVAL_SECONDS": _int(env, "RELAY_INTERVAL_SECONDS", 1 if testing else 5, minimum=1),
        "MAX_DELIVERY_ATTEMPTS": _int(env, "MAX_DELIVERY_ATTEMPTS", 5, minimum=1),
        "DELIVERY_BACKOFF_SECONDS": _float(env, "DELIVERY_BACKOFF_SECONDS", 0.2 if testing else 30.0),
        "DELIVERY_LEASE_SECONDS": _int(env, "DELIVERY_LEASE_SECONDS", 120, minimum=2),
        # Test hook: pause before and after writing a message, so a test can
        # kill a worker mid-delivery. Ignored outside APP_ENV=test.
        "DELIVERY_DELAY_SECONDS": _float(env, "DELIVERY_DELAY_SECONDS", 0.0) if testing else 0.0,
        # Behind a load balancer set this to the number of proxies in front,
        # so the per-visitor hold limit sees the real client address.
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        # Per-client-address request limits (webapp/limits.py); off in tests
        # so that the suite and make bench are not throttled.
        "RATE_LIMIT": _switch(env, "RATE_LIMIT", not testing),
        "RATE_LIMIT_HOLDS": _rate(env, "RATE_LIMIT_HOLDS", "20 per minute"),
        "RATE_LIMIT_BOOKING_WRITES": _rate(env, "RATE_LIMIT_BOOKING_WRITES", "60 per minute"),
        "RATE_LIMIT_CHECKINS": _rate(env, "RATE_LIMIT_CHECKINS", "600 per minute"),
        "RATE_LIMIT_SIGN_IN_FAILURES": _rate(env, "RATE_LIMIT_SIGN_IN_FAILURES", "10 per 10 minutes"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": app_env == "production",
        "WTF_CSRF_TIME_LIMIT": None,
    }
