"""All-or-nothing Redis locks on seats, taken before the PostgreSQL transaction.

The locks are an optimisation, not the guarantee: they turn away a request
for seats another request is working on before it queues for row locks in
PostgreSQL. Row locks decide. So when Redis is unreachable we log it and go
on without locks, and a lock that expires mid-transaction is harmless.

Keys look like ``<prefix>seatlock:{show:42}:A1``: the hash tag puts every
seat of a show in one Redis Cluster slot, so one script can take them all.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

# KEYS: seat keys; ARGV[1]: owner token; ARGV[2]: TTL in ms.
# Returns the 1-based positions of keys someone else holds; empty = all taken.
_ACQUIRE = """
local busy = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then busy[#busy + 1] = i end
end
if #busy > 0 then return busy end
for _, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
end
return busy
"""

# Compare-and-delete: a lock that expired and was taken by someone else stays theirs.
_RELEASE = """
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    released = released + redis.call('DEL', key)
  end
end
return released
"""

# After a Redis failure, skip it for this long instead of paying a timeout per request.
_RETRY_AFTER_FAILURE_S = 1.0


@dataclass(frozen=True)
class SeatLock:
    keys: list[str]
    token: str


class SeatsLocked(Exception):
    """Another request holds the locks on these seats right now."""

    def __init__(self, labels: list[str]) -> None:
        super().__init__(", ".join(labels))
        self.labels = labels


class SeatLocker:
    def __init__(self, client: redis.Redis, prefix: str, ttl_ms: int, wait_ms: int) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_ms = ttl_ms
        self._wait_s = wait_ms / 1000
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
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
        lock = SeatLock([self.key(show_id, label) for label in labels], secrets.token_hex(16))
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
            if time.monotonic() + delay > deadline:
                raise SeatsLocked([labels[i - 1] for i in busy])
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def release(self, lock: SeatLock | None) -> None:
        if lock is None:
            return
        try:
            self._release(keys=lock.keys, args=[lock.token])
        except redis.RedisError as exc:
            # The TTL frees the keys soon enough.
            self._redis_failed(exc)

    def _redis_failed(self, exc: Exception) -> None:
        self._skip_until = time.monotonic() + _RETRY_AFTER_FAILURE_S
        log.warning("Redis unreachable, seat holds rely on PostgreSQL row locks alone: %s", exc)
