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

The rendered seat grid (the page's ``_seatmap.html`` partial without any
visitor's selection) is the same for every viewer, so it is stored next to
the snapshot it was drawn from: every worker and instance serves it, and the
WSGI shortcut (webapp/fastpath.py) answers a poll with it before Flask. The
web package supplies the renderer (``GRID_RENDERER`` in app.extensions), so
this module knows nothing of templates.

Rebuilding is single-flight: when a show's snapshot is missing or outdated,
one request takes a short build lock in Redis and rebuilds (JSON and grid);
the others wait briefly for its result instead of all querying PostgreSQL
and rendering the same grid at once. During a presale every hold outdates
the snapshot, and without this every open map would rebuild it.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import redis
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from . import localgrids
from .booking.queries import database_now, list_seats
from .events import seats_changed
from .jsonutil import dumps
from .localgrids import LocalGrids

log = logging.getLogger(__name__)

MAX_AGE_MS = 2000
_VERSION_TTL_S = 24 * 3600
# After a Redis failure, skip it for this long instead of paying a timeout per poll.
_RETRY_AFTER_FAILURE_S = 1.0
_skip_until = 0.0
# The build lock outlives any sane rebuild (one query and one render); waiters
# give up after _BUILD_WAIT_S and build for themselves, so a builder that died
# costs them that long once.
_BUILD_LOCK_MS = 1000
_BUILD_WAIT_S = 0.25
_BUILD_POLL_S = 0.004

#: app.extensions key of this process's LocalGrids (set up by webapp/fastpath.py).
LOCAL_GRIDS = "marquee.local_grids"
#: app.extensions key of the grid template's version (webapp/web/seatmap.py, MARKUP_VERSION).
GRID_MARKUP = "marquee.seat_grid_markup"
#: app.extensions key of the grid renderer: (session, show_id, seats) -> HTML bytes.
GRID_RENDERER = "marquee.seat_grid_renderer"
GridRenderer = Callable[[Session, int, list[dict[str, Any]]], bytes]


@dataclass
class SeatSnapshot:
    body: bytes
    etag: str
    _seats: list[dict[str, Any]] | None = None
    #: The shared rendered grid, gzip-compressed, when asked for and available.
    grid_gzip: bytes | None = None

    @property
    def seats(self) -> list[dict[str, Any]]:
        """The seat dicts (from the cached JSON on a cache hit: timestamps stay strings)."""
        if self._seats is None:
            self._seats = orjson.loads(self.body)["seats"]
        return self._seats


class SnapshotKeys(NamedTuple):
    version: str
    #: "<version> <etag>": the validator, apart so that a 304 reads a few bytes.
    etag: str
    #: "<etag>\n<JSON listing>"
    body: str
    building: str
    #: Prefix of the grid keys (``grid``).
    grids: str

    def grid(self, markup: str) -> str:
        """ "<etag>\n<rendered grid, gzip-compressed>", one key per version of the grid's
        template (``markup``): during a rolling deploy each release serves only grids it
        rendered itself."""
        return f"{self.grids}:{markup}"


def snapshot_keys(show_id: int, prefix: str | None = None) -> SnapshotKeys:
    prefix = current_app.config["REDIS_KEY_PREFIX"] if prefix is None else prefix
    # One hash tag per show, as for the seat locks: all keys share a cluster slot.
    base = f"{prefix}seatmap:{{show:{show_id}}}"
    return SnapshotKeys(f"{base}:version", f"{base}:etag", f"{base}:body", f"{base}:building", f"{base}:grid")


def _grid_key(keys: SnapshotKeys) -> str:
    return keys.grid(current_app.extensions.get(GRID_MARKUP, ""))


def _client() -> redis.Redis | None:
    if time.monotonic() < _skip_until:
        return None
    return current_app.extensions["redis"]


def skip_until() -> float:
    """Until when (time.monotonic()) Redis is skipped after a failure."""
    return _skip_until


def note_failure(exc: Exception) -> None:
    """Redis failed us: skip it for a moment (also called by webapp/fastpath.py)."""
    _failed(exc)


def _failed(exc: Exception) -> None:
    global _skip_until
    _skip_until = time.monotonic() + _RETRY_AFTER_FAILURE_S
    log.warning("seat-map cache unavailable, reading PostgreSQL: %s", exc.__class__.__name__)


def current_entry(version: bytes | None, entry: bytes | None) -> bytes | None:
    """The snapshot ETag an etag entry names, if it belongs to the current version."""
    if entry is None:
        return None
    stored_version, _, etag = entry.partition(b" ")
    return etag if stored_version == (version or b"") else None


def current_etag(show_id: int, client: redis.Redis | None = None, prefix: str | None = None) -> str | None:
    """The ETag of the show's cached listing if it is still current, from Redis alone.

    ``client`` and ``prefix`` let the WSGI shortcut (webapp/fastpath.py) call
    this without an app context.
    """
    if time.monotonic() < _skip_until:
        return None
    client = client or current_app.extensions["redis"]
    keys = snapshot_keys(show_id, prefix)
    try:
        version, entry = client.mget(keys.version, keys.etag)
    except redis.RedisError as exc:
        _failed(exc)
        return None
    etag = current_entry(version, entry)
    return etag.decode() if etag is not None else None


def cached_part(value: bytes | None, etag: bytes) -> bytes | None:
    """A stored "<etag>\n<payload>" value's payload, if it was made from that snapshot."""
    if value is not None and value.startswith(etag + b"\n"):
        return value[len(etag) + 1 :]
    return None


def seat_snapshot(session: Session, show_id: int, *, with_grid: bool = False) -> SeatSnapshot:
    """The show's seat listing: from the cache when current, else rebuilt (once for all).

    ``with_grid`` also fetches the shared rendered grid (``snapshot.grid_gzip``;
    None if it could not be had). Raises ShowNotFound like
    ``booking.queries.list_seats``.
    """
    client = _client()
    if client is None:
        return _build(session, show_id, client=None, version=b"", with_grid=with_grid)
    keys = snapshot_keys(show_id)
    owner: str | None = None
    try:
        give_up_at = time.monotonic() + _BUILD_WAIT_S
        while True:
            cached, version = _read(client, keys, with_grid)
            if cached is not None:
                return cached
            token = secrets.token_hex(8)
            if client.set(keys.building, token, nx=True, px=_BUILD_LOCK_MS):
                # Another request may have stored it between our read and our lock.
                cached, version = _read(client, keys, with_grid)
                if cached is not None:
                    _unlock(client, keys, token)
                    return cached
                owner = token
                break
            if time.monotonic() >= give_up_at:
                break  # the builder seems stuck: build without the lock, once
            # Someone is building: wait until it stored a current snapshot or let
            # the lock go (then read, or take the lock ourselves, above).
            _wait_for_build(client, keys, give_up_at)
    except redis.RedisError as exc:
        _failed(exc)
        return _build(session, show_id, client=None, version=b"", with_grid=with_grid)
    try:
        return _build(session, show_id, client=client, version=version, with_grid=with_grid)
    finally:
        if owner is not None:
            try:
                _unlock(client, keys, owner)
            except redis.RedisError as exc:
                _failed(exc)


# Compare-and-delete: a lock that lapsed and was taken by another builder stays theirs.
_UNLOCK = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


def _unlock(client: redis.Redis, keys: SnapshotKeys, token: str) -> None:
    client.eval(_UNLOCK, 1, keys.building, token)


def _read(client: redis.Redis, keys: SnapshotKeys, with_grid: bool) -> tuple[SeatSnapshot | None, bytes]:
    """The current snapshot if stored, and the show's version either way."""
    if with_grid:
        version, entry, body, grid = client.mget(keys.version, keys.etag, keys.body, _grid_key(keys))
    else:
        version, entry, body = client.mget(keys.version, keys.etag, keys.body)
        grid = None
    version = version or b""
    etag = current_entry(version, entry)
    # The body is written before its validator, so a current validator never
    # points at an older body; the prefix check guards against one anyway.
    payload = cached_part(body, etag) if etag is not None else None
    if etag is None or payload is None:
        return None, version
    return SeatSnapshot(body=payload, etag=etag.decode(), grid_gzip=cached_part(grid, etag)), version


def _wait_for_build(client: redis.Redis, keys: SnapshotKeys, give_up_at: float) -> None:
    """Until the build lock is gone or a current snapshot is stored (or ``give_up_at``).

    Polls the small keys only; the snapshot itself is read once, by the caller.
    """
    while time.monotonic() < give_up_at:
        time.sleep(_BUILD_POLL_S)
        version, entry, building = client.mget(keys.version, keys.etag, keys.building)
        if building is None or current_entry(version, entry) is not None:
            return


def _build(
    session: Session, show_id: int, *, client: redis.Redis | None, version: bytes, with_grid: bool
) -> SeatSnapshot:
    # The version is read before the seats: a change committed in between
    # bumps it, so what we store below is already outdated and never served.
    seats = list_seats(session, show_id)
    body = dumps({"show_id": show_id, "seats": seats})
    snapshot = SeatSnapshot(body=body, etag=hashlib.blake2b(body, digest_size=12).hexdigest(), _seats=seats)
    renderer: GridRenderer | None = current_app.extensions.get(GRID_RENDERER)
    # Rendered here, under the build lock, so one request renders per change;
    # without Redis there is nothing to share, so only if the caller wants it.
    # Stored compressed: a 240-seat grid is 77 kB of markup and 4 kB gzipped,
    # and copying those bytes (Redis, socket, network) is most of what a poll
    # of a changed map costs. Browsers all take gzip; others get it inflated.
    if renderer is not None and (client is not None or with_grid):
        snapshot.grid_gzip = gzip.compress(renderer(session, show_id, seats), compresslevel=6, mtime=0)
    if client is not None:
        _store(client, session, version, snapshot, seats, snapshot_keys(show_id))
    if not with_grid:
        snapshot.grid_gzip = None
    return snapshot


def _store(
    client: redis.Redis,
    session: Session,
    version: bytes,
    snapshot: SeatSnapshot,
    seats: list[dict[str, Any]],
    keys: SnapshotKeys,
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
    etag = snapshot.etag.encode()
    try:
        with client.pipeline(transaction=False) as pipe:
            pipe.set(keys.body, etag + b"\n" + snapshot.body, px=ttl_ms)
            if snapshot.grid_gzip is not None:
                pipe.set(_grid_key(keys), etag + b"\n" + snapshot.grid_gzip, px=ttl_ms)
            # Last: the validator makes the entries above current.
            pipe.set(keys.etag, version + b" " + etag, px=ttl_ms)
            pipe.execute()
    except redis.RedisError as exc:
        _failed(exc)


def new_version(prefix: str) -> Callable[[int], tuple[str, str, int, str]]:
    """For the seat locker: a show's version key, a new version, its TTL, and the channel announcing it.

    A hold's lock release sets and announces it in the same Redis call
    (webapp/locks.py), and the ``seats_changed`` signal then says so
    (``version_bumped``).
    """
    channel = localgrids.channel(prefix)
    return lambda show_id: (
        snapshot_keys(show_id, prefix).version,
        secrets.token_hex(6),
        _VERSION_TTL_S,
        channel,
    )


def bump(show_id: int) -> None:
    """Give the show a new version, so no stored snapshot of it is used again.

    The new version is announced too: every web process drops its memo of
    the show's grid (webapp/localgrids.py), this one before returning. Tried
    even while reads skip Redis after a failure: a change that is not bumped
    stays unseen until the snapshot's MAX_AGE_MS runs out.
    """
    local: LocalGrids | None = current_app.extensions.get(LOCAL_GRIDS)
    client: redis.Redis = current_app.extensions["redis"]
    try:
        with client.pipeline(transaction=False) as pipe:
            pipe.set(snapshot_keys(show_id).version, secrets.token_hex(6), ex=_VERSION_TTL_S)
            pipe.publish(localgrids.channel(current_app.config["REDIS_KEY_PREFIX"]), str(show_id))
            pipe.execute()
    except redis.RedisError as exc:
        _failed(exc)
    finally:
        if local is not None:
            local.invalidate(show_id)


@seats_changed.connect
def _on_seats_changed(sender: Any, show_id: int, version_bumped: bool = False, **_: Any) -> None:
    if not has_app_context():  # jobs and requests both run inside one
        return
    if not version_bumped:
        bump(show_id)
        return
    # The lock release set and announced the new version; this process's memo
    # must not wait for the announcement to come back.
    local: LocalGrids | None = current_app.extensions.get(LOCAL_GRIDS)
    if local is not None:
        local.invalidate(show_id)
