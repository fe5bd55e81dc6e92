"""A snapshot of each show's seat listing in Redis, shared by every web process.

Seat maps are read far more often than they change: every open page polls
once a second and scripts poll the API. So the JSON of
``GET /api/shows/<id>/seats`` is cached per show together with its ETag,
and the API, the page's poll and the full page all answer from it. A cached
snapshot is dropped:

* when seats change: the ``seats_changed`` signal (sent after every commit
  that changed seats: web, API and jobs alike) gives the show a new version,
  which no stored snapshot carries;
* when time alone changes the seats: a hold that runs out frees its seats
  without anyone writing (lazy expiry), so a snapshot lives no longer than
  the earliest hold expiry it saw;
* after ``MAX_AGE_MS`` in any case, which bounds how long a change can go
  unseen if its version bump was lost (Redis failing at that moment, or a
  write made outside the booking service).

Why not a version bumped inside the booking transaction: that is an UPDATE
of one row per show, which would serialise every hold of a popular show on
that row lock until commit. The ETag is a hash of the body itself, so a
client's validator is never wrong about the bytes it got.

If Redis is unavailable the snapshot is simply built from PostgreSQL.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from .booking.queries import database_now, list_seats
from .events import seats_changed
from .jsonutil import dumps

log = logging.getLogger(__name__)

MAX_AGE_MS = 2000
_VERSION_TTL_S = 24 * 3600
# After a Redis failure, skip it for this long instead of paying a timeout per poll.
_RETRY_AFTER_FAILURE_S = 1.0
_skip_until = 0.0


@dataclass
class SeatSnapshot:
    body: bytes
    etag: str
    _seats: list[dict[str, Any]] | None = None

    @property
    def seats(self) -> list[dict[str, Any]]:
        """The seat dicts (from the cached JSON on a cache hit: timestamps stay strings)."""
        if self._seats is None:
            self._seats = orjson.loads(self.body)["seats"]
        return self._seats


def _keys(show_id: int, prefix: str | None = None) -> tuple[str, str, str]:
    """Version, validator and body. The validator is apart so that a 304 reads a few bytes."""
    prefix = current_app.config["REDIS_KEY_PREFIX"] if prefix is None else prefix
    # One hash tag per show, as for the seat locks: all keys share a cluster slot.
    base = f"{prefix}seatmap:{{show:{show_id}}}"
    return f"{base}:version", f"{base}:etag", f"{base}:body"


def _client() -> redis.Redis | None:
    if time.monotonic() < _skip_until:
        return None
    return current_app.extensions["redis"]


def _failed(exc: Exception) -> None:
    global _skip_until
    _skip_until = time.monotonic() + _RETRY_AFTER_FAILURE_S
    log.warning("seat-map cache unavailable, reading PostgreSQL: %s", exc.__class__.__name__)


def current_etag(show_id: int, client: redis.Redis | None = None, prefix: str | None = None) -> str | None:
    """The ETag of the show's cached listing if it is still current, from Redis alone.

    ``client`` and ``prefix`` let the WSGI shortcut (webapp/fastpath.py) call
    this without an app context.
    """
    if time.monotonic() < _skip_until:
        return None
    client = client or current_app.extensions["redis"]
    version_key, etag_key, _ = _keys(show_id, prefix)
    try:
        version, entry = client.mget(version_key, etag_key)
    except redis.RedisError as exc:
        _failed(exc)
        return None
    if entry is None:
        return None
    stored_version, _, etag = entry.partition(b" ")
    return etag.decode() if stored_version == (version or b"") else None


def seat_snapshot(session: Session, show_id: int) -> SeatSnapshot:
    """The show's seat listing: from the cache when current, else from PostgreSQL.

    Raises ShowNotFound like ``booking.queries.list_seats``.
    """
    version = None
    client = _client()
    if client is not None:
        try:
            version, entry, body = client.mget(_keys(show_id))
        except redis.RedisError as exc:
            _failed(exc)
            client = None
        else:
            version = version or b""
            if entry is not None and body is not None:
                stored_version, _, etag = entry.partition(b" ")
                # The body is written before its validator, so a matching
                # validator never points at an older body.
                if stored_version == version and body.startswith(etag + b"\n"):
                    return SeatSnapshot(body=body[len(etag) + 1 :], etag=etag.decode())
    # The version is read before the seats: a change committed in between
    # bumps it, so what we store below is already outdated and never served.
    seats = list_seats(session, show_id)
    body = dumps({"show_id": show_id, "seats": seats})
    snapshot = SeatSnapshot(body=body, etag=hashlib.blake2b(body, digest_size=12).hexdigest(), _seats=seats)
    if client is not None:
        _store(client, session, show_id, version, snapshot, seats)
    return snapshot


def _store(
    client: redis.Redis,
    session: Session,
    show_id: int,
    version: bytes,
    snapshot: SeatSnapshot,
    seats: list[dict[str, Any]],
) -> None:
    ttl_ms = MAX_AGE_MS
    expiries = [seat["hold_expires_at"] for seat in seats if seat["hold_expires_at"] is not None]
    if expiries:
        # Measured by the database's clock, which lapses the holds: this
        # server's may be off, and an hour behind it would keep a lapsed
        # hold on show for the snapshot's whole life.
        remaining = min(expiries) - database_now(session)
        ttl_ms = min(ttl_ms, int(remaining.total_seconds() * 1000))
    if ttl_ms <= 0:
        return
    _, etag_key, body_key = _keys(show_id)
    etag = snapshot.etag.encode()
    try:
        with client.pipeline(transaction=False) as pipe:
            pipe.set(body_key, etag + b"\n" + snapshot.body, px=ttl_ms)
            pipe.set(etag_key, version + b" " + etag, px=ttl_ms)
            pipe.execute()
    except redis.RedisError as exc:
        _failed(exc)


def new_version(prefix: str) -> Callable[[int], tuple[str, str, int]]:
    """For the seat locker: the version key of a show, a new version and its TTL.

    A hold's lock release sets it in the same Redis call (webapp/locks.py),
    and the ``seats_changed`` signal then says so (``version_bumped``).
    """
    return lambda show_id: (_keys(show_id, prefix)[0], secrets.token_hex(6), _VERSION_TTL_S)


def bump(show_id: int) -> None:
    """Give the show a new version, so no stored snapshot of it is used again."""
    client = _client()
    if client is None:
        return
    try:
        client.set(_keys(show_id)[0], secrets.token_hex(6), ex=_VERSION_TTL_S)
    except redis.RedisError as exc:
        _failed(exc)


@seats_changed.connect
def _on_seats_changed(sender: Any, show_id: int, version_bumped: bool = False, **_: Any) -> None:
    if has_app_context() and not version_bumped:  # jobs and requests both run inside one
        bump(show_id)
