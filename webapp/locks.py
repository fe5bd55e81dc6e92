"""All-or-nothing Redis locks on seats, taken before the PostgreSQL transaction.

The locks are an optimisation, not the guarantee: they turn away a request
for seats another request is working on before it queues for row locks in
PostgreSQL. Row locks decide. So when Redis is unreachable we log it and go
on without locks, and a lock that expires mid-transaction is harmless.

Keys look like ``<prefix>seatlock:{show:42}:A1``: the hash tag puts every
seat of a show in one Redis Cluster slot, so one script can take them all.

A seat's key also remembers, for a moment, that PostgreSQL has it taken:
when a transaction that held it commits, or that found it held or booked
ends, its lock is not deleted but turned into a ``taken`` marker for
SEAT_TAKEN_TTL_MS (2 s, never past the hold's own expiry). Under contention
most requests ask for seats already taken; when every seat asked for is
marked taken the request is turned away by the lock script alone (409, no
PostgreSQL work, no waiting). When only some are, the others are locked
and PostgreSQL says exactly which seats are taken. The marker can only be
stale by a cancel whose clearing failed (``forget`` is best effort), and
then for at most its TTL, as long as the seat-map snapshot may be
(webapp/seatcache.py). A seat that is free is never refused for longer.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

#: The value of a key that marks its seat as taken in PostgreSQL, not locked by a request.
TAKEN = "taken"

# KEYS: seat keys; ARGV[1]: owner token; ARGV[2]: TTL in ms.
# Another request's lock on any key: returns {0, 1-based positions of the locked keys}.
# Every key a taken marker: returns {1, every position} (all of them are taken).
# Otherwise locks the free keys and returns {} (markers on some keys are left
# as they are: PostgreSQL will say exactly which seats are taken).
_ACQUIRE = """
local locked = {}
local taken = 0
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value == 'taken' then
    taken = taken + 1
  elseif value then
    locked[#locked + 1] = i
  end
end
if #locked > 0 then
  table.insert(locked, 1, 0)
  return locked
end
if taken == #KEYS then
  local all = {1}
  for i = 1, #KEYS do all[#all + 1] = i end
  return all
end
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
end
return {}
"""

# Compare-and-delete: a lock that expired and was taken by someone else stays
# theirs. ARGV[1]: owner token; ARGV[2]: n, the number of seat keys;
# ARGV[i + 2]: ms to keep KEYS[i] as a taken marker instead of deleting it
# (0: delete). With a KEYS[n + 1] (the show's seat-map version key, same hash
# tag) it is set to ARGV[n + 3] for ARGV[n + 4] seconds and the show id
# ARGV[n + 6] published on channel ARGV[n + 5] (webapp/localgrids.py), in the
# same call: one round trip after a hold's commit instead of three.
_RELEASE = """
local n = tonumber(ARGV[2])
local released = 0
for i = 1, n do
  local key = KEYS[i]
  if redis.call('GET', key) == ARGV[1] then
    local keep = tonumber(ARGV[i + 2] or '0')
    if keep > 0 then
      redis.call('SET', key, 'taken', 'PX', keep)
    else
      redis.call('DEL', key)
    end
    released = released + 1
  end
end
if KEYS[n + 1] then
  redis.call('SET', KEYS[n + 1], ARGV[n + 3], 'EX', ARGV[n + 4])
  redis.call('PUBLISH', ARGV[n + 5], ARGV[n + 6])
end
return released
"""

# Forget taken markers (a cancel freed the seats); a request's lock is left alone.
_FORGET = """
local forgotten = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == 'taken' then forgotten = forgotten + redis.call('DEL', key) end
end
return forgotten
"""

# After a Redis failure, skip it for this long instead of paying a timeout per request.
_RETRY_AFTER_FAILURE_S = 1.0


#: show id -> (its seat-map version key, a new version, the key's TTL in seconds,
#: the channel that announces new versions).
VersionBump = Callable[[int], tuple[str, str, int, str]]


@dataclass(frozen=True)
class SeatLock:
    keys: list[str]
    token: str
    labels: tuple[str, ...] = ()
    show_id: int = 0


class SeatsLocked(Exception):
    """Another request holds the locks on these seats right now, or they are taken."""

    def __init__(self, labels: list[str], taken: bool = False) -> None:
        super().__init__(", ".join(labels))
        self.labels = labels
        #: True when a seat is known taken in PostgreSQL (no wait was worth it).
        self.taken = taken


class SeatLocker:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        ttl_ms: int,
        wait_ms: int,
        taken_ms: int = 0,
        version: VersionBump | None = None,
    ) -> None:
        """``version``: how to give a show's seat map a new version (webapp/seatcache.py),
        which ``release(..., bump_version=True)`` does in the same call."""
        self._client = client
        self._version = version
        self._prefix = prefix
        self._ttl_ms = ttl_ms
        self._wait_s = wait_ms / 1000
        self._taken_ms = taken_ms
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._forget = client.register_script(_FORGET)
        self._skip_until = 0.0

    def key(self, show_id: int, label: str) -> str:
        return f"{self._prefix}seatlock:{{show:{show_id}}}:{label}"

    def acquire(self, show_id: int, labels: Sequence[str]) -> SeatLock | None:
        """Lock every seat or none, waiting briefly for locks held by others.

        Returns None when Redis is unreachable: the caller proceeds on row
        locks alone. Raises SeatsLocked when the wait runs out.
        """
        if time.monotonic() < self._skip_until:
            return None
        lock = SeatLock(
            [self.key(show_id, label) for label in labels], secrets.token_hex(16), tuple(labels), show_id
        )
        deadline = time.monotonic() + self._wait_s
        delay = 0.005
        while True:
            try:
                busy = self._acquire(keys=lock.keys, args=[lock.token, self._ttl_ms])
            except redis.RedisError as exc:
                self._redis_failed(exc)
                return None
            if not busy:
                return lock
            taken, positions = busy[0] == 1, busy[1:]
            if taken or time.monotonic() + delay > deadline:
                raise SeatsLocked([labels[i - 1] for i in positions], taken=taken)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def release(
        self, lock: SeatLock | None, taken_ms: dict[str, int] | None = None, *, bump_version: bool = False
    ) -> bool:
        """Give the locks up; seats in ``taken_ms`` (label -> ms they stay taken at least)
        are remembered as taken for that long, capped at SEAT_TAKEN_TTL_MS.

        With ``bump_version`` the show's seat map gets a new version in the
        same call; returns True if it did (the caller need not bump again).
        """
        if lock is None:
            return False
        taken_ms = taken_ms or {}
        keep = [min(self._taken_ms, max(0, taken_ms.get(label, 0))) for label in lock.labels]
        keys, args = list(lock.keys), [lock.token, len(lock.keys), *keep]
        bump = bump_version and self._version is not None
        if bump:
            key, value, ttl_s, channel = self._version(lock.show_id)  # type: ignore[misc]
            keys.append(key)
            args += [value, ttl_s, channel, lock.show_id]
        try:
            self._release(keys=keys, args=args)
        except redis.RedisError as exc:
            # The TTL frees the keys soon enough.
            self._redis_failed(exc)
            return False
        return bump

    def forget_show(self, show_id: int) -> None:
        """The show was cancelled: drop every taken marker of it, so that holds hear
        ``show_cancelled`` from PostgreSQL rather than "taken" from here. Rare: a SCAN."""
        if not self._taken_ms or time.monotonic() < self._skip_until:
            return
        try:
            pattern = f"{self._prefix}seatlock:{{show:{show_id}}}:*"
            keys = list(self._client.scan_iter(match=pattern, count=1000))
            for start in range(0, len(keys), 500):
                self._forget(keys=keys[start : start + 500])
        except redis.RedisError as exc:
            self._redis_failed(exc)

    def forget(self, show_id: int, labels: Sequence[str]) -> None:
        """These seats were freed (a cancel): drop their taken markers now, not at their TTL."""
        if not labels or not self._taken_ms or time.monotonic() < self._skip_until:
            return
        try:
            self._forget(keys=[self.key(show_id, label) for label in labels])
        except redis.RedisError as exc:
            self._redis_failed(exc)

    def _redis_failed(self, exc: Exception) -> None:
        self._skip_until = time.monotonic() + _RETRY_AFTER_FAILURE_S
        log.warning("Redis unreachable, seat holds rely on PostgreSQL row locks alone: %s", exc)
