"""Keeping the polling of open seat maps cheap.

Every open map asks ``GET /shows/<id>/seatmap`` about once a second with the
ETag of what it shows. Answering that from PostgreSQL costs a query per poll
per viewer. Instead, the digest of a show's seat states is cached in Redis,
shared by every viewer of the show and every web process, and dropped:

* when seats change: the ``seats_changed`` signal (sent after every commit
  that changed seats, in web requests, API calls and jobs alike) gives the
  show a new random version, which no cached digest carries;
* when time alone changes the seats: a hold that runs out frees its seats
  without anyone writing (lazy expiry), so a digest lives no longer than the
  earliest hold expiry it saw;
* after ``MAX_AGE_MS`` in any case, which bounds how long a change can go
  unseen if its version bump was lost (Redis failing at that moment, or a
  write made outside the booking service).

If Redis is unavailable the poll simply reads PostgreSQL, as without cache.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from flask import current_app, has_app_context

from ..events import seats_changed

log = logging.getLogger(__name__)

MAX_AGE_MS = 2000
_VERSION_TTL_S = 24 * 3600
# After a Redis failure, skip it for this long instead of paying a timeout per poll.
_RETRY_AFTER_FAILURE_S = 1.0
_skip_until = 0.0


@dataclass(frozen=True)
class CachedState:
    version: str
    digest: str | None


def _keys(show_id: int) -> tuple[str, str]:
    # One hash tag per show, as for the seat locks: both keys share a cluster slot.
    base = f"{current_app.config['REDIS_KEY_PREFIX']}seatmap:{{show:{show_id}}}"
    return f"{base}:version", f"{base}:digest"


def _client() -> redis.Redis | None:
    if time.monotonic() < _skip_until:
        return None
    return current_app.extensions["redis"]


def _failed(exc: Exception) -> None:
    global _skip_until
    _skip_until = time.monotonic() + _RETRY_AFTER_FAILURE_S
    log.warning("seat-map cache unavailable, reading PostgreSQL: %s", exc.__class__.__name__)


def read(show_id: int) -> CachedState | None:
    """The show's current version and, if still valid, its cached digest."""
    client = _client()
    if client is None:
        return None
    try:
        version, entry = client.mget(_keys(show_id))
    except redis.RedisError as exc:
        _failed(exc)
        return None
    version_text = version.decode() if version else ""
    digest = None
    if entry:
        stored_version, _, stored_digest = entry.decode().partition(":")
        if stored_version == version_text:
            digest = stored_digest
    return CachedState(version=version_text, digest=digest)


def store(show_id: int, version: str, digest: str, seats: list[dict[str, Any]]) -> None:
    """Cache ``digest`` of the seats read under ``version`` until it may be stale."""
    client = _client()
    if client is None:
        return
    ttl_ms = MAX_AGE_MS
    expiries = [seat["hold_expires_at"] for seat in seats if seat.get("hold_expires_at") is not None]
    if expiries:
        until_first = (min(expiries) - datetime.now(UTC)).total_seconds() * 1000
        ttl_ms = min(ttl_ms, int(until_first))
    if ttl_ms <= 0:
        return
    try:
        client.set(_keys(show_id)[1], f"{version}:{digest}", px=ttl_ms)
    except redis.RedisError as exc:
        _failed(exc)


def bump(show_id: int) -> None:
    """Give the show a new version, so no cached digest of it is used again."""
    client = _client()
    if client is None:
        return
    try:
        client.set(_keys(show_id)[0], secrets.token_hex(6), ex=_VERSION_TTL_S)
    except redis.RedisError as exc:
        _failed(exc)


@seats_changed.connect
def _on_seats_changed(sender: Any, show_id: int, **_: Any) -> None:
    if has_app_context():  # jobs and requests both run inside one
        bump(show_id)
