"""Per-client request limits: Flask-Limiter, counted in Redis, shared by every worker and instance.

Why a library: counting requests correctly across processes (atomic
increments, windows, expiry, a fallback when the store is away) is exactly
what Flask-Limiter and its ``limits`` package do, and they are well kept.

What is limited, per client address (the proxy's view of it when
TRUSTED_PROXIES is set, see ProxyFix in create_app):

* holds, and the writes on a booking (confirm, cancel, extend): a person
  needs a few a minute, a script hammering them needs to slow down;
* check-ins at the door, with room for a scanner that reads a ticket a second;
* failed sign-ins and failed admin or door-staff bearer tokens: at most
  RATE_LIMIT_SIGN_IN_FAILURES per address, so the tokens cannot be guessed
  online. Only failures count (``deduct_when``), but once over the limit
  the address is refused until the window passes, right token or not.

Over a limit the request gets 429 ``rate_limited`` with Retry-After (see
the error handler). ``RATE_LIMIT=off`` turns every limit off; it is off
under ``APP_ENV=test`` so the suite and ``make bench`` are not throttled.

If Redis is unreachable the limits go on per process, in memory, until it
is back: PostgreSQL stays the source of truth for seats, and a Redis outage
must neither stop sales nor lift the limits altogether.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(
    key_func=get_remote_address,
    # Redis down: count in memory per process (logged once) instead of failing requests.
    in_memory_fallback_enabled=True,
    swallow_errors=True,
    # Flask-Limiter's own headers would put Retry-After on every limited
    # answer, a 201 included; the 429 handler (webapp/problems.py) sets it.
    headers_enabled=False,
)


def _setting(name: str) -> Callable[[], str]:
    """The limit as configured when the request runs (tests may change it)."""
    return lambda: current_app.config[name]


def _failed_authentication(response: Response) -> bool:
    """A wrong token (403). A missing one (401) guesses nothing and does not count."""
    return response.status_code == 403


#: Holds, web and API alike.
holds = limiter.shared_limit(_setting("RATE_LIMIT_HOLDS"), scope="holds")
#: Confirming, cancelling and extending a booking.
booking_writes = limiter.shared_limit(_setting("RATE_LIMIT_BOOKING_WRITES"), scope="booking-writes")
#: Scans at the door.
checkins = limiter.shared_limit(_setting("RATE_LIMIT_CHECKINS"), scope="checkins")
#: Sign-in forms and bearer tokens of admins and door staff: only failures count.
sign_in_failures = limiter.shared_limit(
    _setting("RATE_LIMIT_SIGN_IN_FAILURES"), scope="sign-in", deduct_when=_failed_authentication
)


def init_limits(app: Flask) -> None:
    """Bind the limiter to the app: Redis storage under the app's key prefix."""
    config: dict[str, Any] = app.config
    config.setdefault("RATELIMIT_ENABLED", config["RATE_LIMIT"])
    config.setdefault("RATELIMIT_STORAGE_URI", config["REDIS_URL"])
    # The same short timeouts as the app's own Redis client: a slow Redis
    # must cost a request little, and the in-memory fallback takes over.
    config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 0.5, "socket_connect_timeout": 0.5})
    config.setdefault("RATELIMIT_KEY_PREFIX", f"{config['REDIS_KEY_PREFIX']}limits")
    config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)
