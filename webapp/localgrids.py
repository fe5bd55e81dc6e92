"""Each web process's memo of the current seat grids, kept fresh by Redis pub/sub.

A poll answered from Redis costs one round trip, and for a gthread worker a
round trip is most of the request: the thread blocks, the GIL changes hands
twice, and a wake-up follows (measured: 0.08 ms of CPU for a bare answer,
0.29 ms with one MGET). Nearly every poll asks about a grid the process has
just served, so the process keeps the current grid of each show in memory
for a short while and answers from there.

It stays correct because it is told, not because it guesses:

* every change bumps the show's version (webapp/seatcache.py) and publishes
  the show id on one channel; a listener thread in each process drops that
  show's entry when the message arrives (about a millisecond later), and the
  process that made the change drops it at once, before the commit returns;
* an entry lives ``TTL_S`` at most, and never longer than the Redis snapshot
  it was read from (which itself ends at the earliest hold expiry), so a lost
  message or a silently dead connection leaves a map stale for less than one
  poll interval;
* while the listener is not subscribed (starting, Redis down, reconnecting)
  the memo is empty and unused: every poll goes to Redis as before.

A read racing with a change cannot put an old grid back: entries are stored
only if no message about that show arrived since the read began.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass

import redis

log = logging.getLogger(__name__)

#: Longest an entry is used without hearing from Redis; below the 1 s poll.
TTL_S = 0.5
#: Entries kept at most; beyond it the memo starts afresh (shows are few).
MAX_SHOWS = 4096
_RECONNECT_AFTER_S = 1.0


def channel(prefix: str) -> str:
    return f"{prefix}seatmap:changed"


@dataclass(frozen=True, slots=True)
class GridEntry:
    #: The seat listing's ETag the grid was drawn from.
    snapshot_etag: str
    #: The grid's own validator (webapp.web.seatmap.seat_map_etag).
    etag: str
    grid_gzip: bytes
    expires_at: float


class LocalGrids:
    def __init__(self, client: redis.Redis, prefix: str, ttl_s: float = TTL_S) -> None:
        self._client = client
        self._channel = channel(prefix)
        self.ttl_s = ttl_s
        self._entries: dict[int, GridEntry] = {}
        #: Messages seen per show, so a read that overlapped one is not stored.
        self._generations: dict[int, int] = {}
        self._lock = threading.Lock()
        self._listening = False
        self._listener_pid: int | None = None
        #: The clock entries expire by (tests move it instead of waiting).
        self.clock = time.monotonic

    def get(self, show_id: int) -> GridEntry | None:
        self._ensure_listener()
        entry = self._entries.get(show_id)
        if entry is None or not self._listening:
            return None
        if entry.expires_at <= self.clock():
            self._entries.pop(show_id, None)
            return None
        return entry

    def generation(self, show_id: int) -> int:
        """Call before reading Redis; hand the value to ``put``."""
        return self._generations.get(show_id, 0)

    def put(self, show_id: int, generation: int, entry: GridEntry) -> None:
        with self._lock:
            if not self._listening or self._generations.get(show_id, 0) != generation:
                return
            if len(self._entries) >= MAX_SHOWS:
                self._entries.clear()
            self._entries[show_id] = entry

    def invalidate(self, show_id: int) -> None:
        with self._lock:
            if len(self._generations) >= MAX_SHOWS:
                # Dropping the counters could let an overlapping read store an
                # old grid; dropping every entry with them rules that out.
                self._generations.clear()
                self._entries.clear()
            self._generations[show_id] = self._generations.get(show_id, 0) + 1
            self._entries.pop(show_id, None)

    @property
    def listening(self) -> bool:
        return self._listening

    def clear(self) -> None:
        """Forget every entry (the tests reset Redis between tests, and show ids start again)."""
        self._forget_all(listening=self._listening)

    def _forget_all(self, listening: bool) -> None:
        with self._lock:
            self._listening = listening
            self._entries.clear()
            for show_id in self._generations:
                self._generations[show_id] += 1

    def _ensure_listener(self) -> None:
        # Started on first use in each process: gunicorn forks workers after
        # the app is built, and threads do not survive a fork.
        if self._listener_pid == os.getpid():
            return
        with self._lock:
            if self._listener_pid == os.getpid():
                return
            self._listener_pid = os.getpid()
            self._listening = False
            self._entries.clear()
        threading.Thread(target=self._listen, name="seat-grid-listener", daemon=True).start()

    def _listen(self) -> None:
        failed = False
        while True:
            pubsub = self._client.pubsub()
            try:
                pubsub.subscribe(self._channel)
                while True:
                    message = pubsub.get_message(timeout=30.0)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        self._forget_all(listening=True)
                        if failed:
                            log.warning("seat-grid listener subscribed again")
                            failed = False
                    elif message["type"] == "message":
                        try:
                            self.invalidate(int(message["data"]))
                        except ValueError:
                            log.warning("seat-grid listener: ignoring %r", message["data"])
            except (redis.RedisError, OSError) as exc:
                self._forget_all(listening=False)
                if not failed:
                    log.warning(
                        "seat-grid listener lost Redis (%s); polls read Redis", exc.__class__.__name__
                    )
                    failed = True
            except Exception:
                # Never die with the memo still trusted: forget it, say why, listen again.
                self._forget_all(listening=False)
                log.exception("seat-grid listener failed; polls read Redis until it listens again")
                failed = True
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
            time.sleep(_RECONNECT_AFTER_S)  # a background thread's back-off, not a test wait
