"""webapp/locks.py against a real Redis: all-or-nothing, owner-checked, bounded."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from conftest import TEST_REDIS_URL
from redis.crc import key_slot
from support.processes import free_port

from webapp.locks import SeatLocker, SeatsLocked


@pytest.fixture
def prefix(redis_conn: redis.Redis, redis_prefix: str) -> Iterator[str]:
    """A namespace of its own per test, removed afterwards."""
    namespace = f"{redis_prefix}locks-{time.monotonic_ns()}:"
    yield namespace
    keys = list(redis_conn.scan_iter(match=f"{namespace}*"))
    if keys:
        redis_conn.delete(*keys)


def make_locker(prefix: str, ttl_ms: int = 5000, wait_ms: int = 0, taken_ms: int = 0) -> SeatLocker:
    return SeatLocker(
        redis.Redis.from_url(TEST_REDIS_URL), prefix=prefix, ttl_ms=ttl_ms, wait_ms=wait_ms, taken_ms=taken_ms
    )


def test_acquire_takes_every_key_with_owner_token_and_ttl(redis_conn, prefix) -> None:
    locker = make_locker(prefix, ttl_ms=4000)
    lock = locker.acquire(7, ["A1", "B2"])
    assert lock is not None
    assert lock.keys == [f"{prefix}seatlock:{{show:7}}:A1", f"{prefix}seatlock:{{show:7}}:B2"]
    for key in lock.keys:
        assert redis_conn.get(key) == lock.token.encode()
        assert 3000 < redis_conn.pttl(key) <= 4000
    locker.release(lock)
    assert redis_conn.exists(*lock.keys) == 0


def test_acquire_is_all_or_nothing_and_names_the_busy_seats(redis_conn, prefix) -> None:
    holder, racer = make_locker(prefix), make_locker(prefix)
    held = holder.acquire(1, ["A2", "A4"])
    assert held is not None

    with pytest.raises(SeatsLocked) as refused:
        racer.acquire(1, ["A4", "A1", "A2", "A3"])
    assert refused.value.labels == ["A4", "A2"]  # in the order asked for
    # Nothing of the refused request was taken, not even the free seats.
    assert redis_conn.exists(racer.key(1, "A1"), racer.key(1, "A3")) == 0
    assert redis_conn.get(racer.key(1, "A2")) == held.token.encode()

    # Another show's seats with the same labels are different locks.
    other_show = racer.acquire(2, ["A2", "A4"])
    assert other_show is not None
    racer.release(other_show)
    holder.release(held)
    assert racer.acquire(1, ["A4", "A1", "A2", "A3"]) is not None


def test_release_does_not_delete_a_lock_someone_else_took_after_expiry(redis_conn, prefix) -> None:
    slow, fast = make_locker(prefix, ttl_ms=50), make_locker(prefix, ttl_ms=5000)
    stale = slow.acquire(3, ["C1", "C2"])
    assert stale is not None
    deadline = time.monotonic() + 2
    while redis_conn.exists(*stale.keys) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert redis_conn.exists(*stale.keys) == 0, "the 50 ms lock never expired"
    fresh = fast.acquire(3, ["C2"])
    assert fresh is not None

    slow.release(stale)  # the slow owner finally finishes

    assert redis_conn.get(fast.key(3, "C2")) == fresh.token.encode()
    with pytest.raises(SeatsLocked):
        slow.acquire(3, ["C2"])
    fast.release(fresh)
    assert redis_conn.exists(fast.key(3, "C2")) == 0


def test_keys_of_one_show_share_a_cluster_slot(prefix) -> None:
    locker = make_locker(prefix)
    labels = [f"{row}{n}" for row in "AJZ" for n in (1, 9, 50)]
    slots = {key_slot(locker.key(42, label).encode()) for label in labels}
    assert len(slots) == 1
    assert slots == {key_slot(b"show:42")}
    assert "{show:42}" in locker.key(42, "A1")


def test_a_held_lock_is_waited_for_then_refused(prefix) -> None:
    holder = make_locker(prefix)
    racer = make_locker(prefix, wait_ms=300)
    held = holder.acquire(5, ["D1"])
    assert held is not None
    started = time.monotonic()
    with pytest.raises(SeatsLocked):
        racer.acquire(5, ["D1"])
    waited = time.monotonic() - started
    assert 0.25 <= waited < 1.5, waited
    holder.release(held)


def test_a_lock_released_during_the_wait_is_taken(redis_conn, prefix) -> None:
    holder = make_locker(prefix)
    racer = make_locker(prefix, wait_ms=2000)
    held = holder.acquire(6, ["E1", "E2"])
    assert held is not None
    releaser = threading.Timer(0.15, holder.release, args=[held])
    started = time.monotonic()
    releaser.start()
    try:
        taken = racer.acquire(6, ["E2", "E1"])
    finally:
        releaser.join()
    waited = time.monotonic() - started
    assert taken is not None
    assert 0.14 <= waited < 1.5, waited
    assert redis_conn.get(racer.key(6, "E1")) == taken.token.encode()


def test_unreachable_redis_means_no_lock_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    # A port nothing listens on: connections are refused at once. Built like
    # the app's client (from_url: no client-side retries with backoff).
    client = redis.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    locker = SeatLocker(client, prefix="unreachable:", ttl_ms=1000, wait_ms=200)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="webapp.locks"):
        assert locker.acquire(1, ["A1"]) is None
    assert time.monotonic() - started < 1.0
    assert any("Redis unreachable" in record.getMessage() for record in caplog.records)
    assert all(record.levelno == logging.WARNING for record in caplog.records)

    # Right after a failure Redis is skipped instead of costing a timeout per request.
    caplog.clear()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="webapp.locks"):
        assert locker.acquire(1, ["A1"]) is None
    assert time.monotonic() - started < 0.05
    assert not caplog.records
    locker.release(None)  # a lock never taken releases nothing, quietly


def test_a_seat_released_as_taken_is_refused_at_once_for_at_most_its_ttl(redis_conn, prefix) -> None:
    # A long wait, so that "at once" means the taken marker, not a wait that ran out.
    holder, racer = make_locker(prefix, taken_ms=300), make_locker(prefix, wait_ms=2000, taken_ms=300)
    lock = holder.acquire(4, ["A1", "A2"])
    holder.release(lock, {"A1": 60_000, "A2": 60_000})  # held for a minute: capped at 300 ms
    assert redis_conn.get(holder.key(4, "A1")) == b"taken"
    assert 0 < redis_conn.pttl(holder.key(4, "A1")) <= 300

    started = time.monotonic()
    with pytest.raises(SeatsLocked) as refused:
        racer.acquire(4, ["A2", "A1"])
    assert time.monotonic() - started < 1.0
    assert refused.value.taken and refused.value.labels == ["A2", "A1"]

    deadline = time.monotonic() + 5
    while redis_conn.exists(holder.key(4, "A1")) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert racer.acquire(4, ["A2", "A1"]) is not None, "the marker outlived its TTL"


def test_partly_taken_seats_are_locked_and_left_to_postgresql(redis_conn, prefix) -> None:
    locker = make_locker(prefix, taken_ms=5000)
    first = locker.acquire(5, ["B1"])
    locker.release(first, {"B1": 5000})
    # B2 is free: the request goes on (PostgreSQL names what is taken), B1's marker stays.
    lock = locker.acquire(5, ["B1", "B2"])
    assert lock is not None
    assert redis_conn.get(locker.key(5, "B1")) == b"taken"
    assert redis_conn.get(locker.key(5, "B2")) == lock.token.encode()
    locker.release(lock)  # rolled back: B2 is deleted, the marker it did not own stays
    assert redis_conn.exists(locker.key(5, "B2")) == 0
    assert redis_conn.get(locker.key(5, "B1")) == b"taken"


def test_forget_drops_taken_markers_but_not_a_request_s_lock(redis_conn, prefix) -> None:
    locker = make_locker(prefix, taken_ms=5000)
    locker.release(locker.acquire(6, ["C1"]), {"C1": 5000})
    in_flight = locker.acquire(6, ["C2"])
    locker.forget(6, ["C1", "C2"])  # a cancel freed C1 (and names C2, locked by another request)
    assert redis_conn.exists(locker.key(6, "C1")) == 0
    assert redis_conn.get(locker.key(6, "C2")) == in_flight.token.encode()
    assert make_locker(prefix).acquire(6, ["C1"]) is not None


def test_release_after_a_commit_bumps_the_seat_map_version_in_the_same_call(redis_conn, prefix) -> None:
    versions = iter(["v1", "v2"])
    locker = SeatLocker(
        redis.Redis.from_url(TEST_REDIS_URL),
        prefix=prefix,
        ttl_ms=5000,
        wait_ms=0,
        version=lambda show_id: (
            f"{prefix}seatmap:{{show:{show_id}}}:version",
            next(versions),
            60,
            f"{prefix}changes",
        ),
    )
    version_key = f"{prefix}seatmap:{{show:8}}:version"
    assert key_slot(version_key.encode()) == key_slot(locker.key(8, "A1").encode())  # one script, one slot
    listener = redis_conn.pubsub()
    listener.subscribe(f"{prefix}changes")
    assert listener.get_message(timeout=5)["type"] == "subscribe"
    assert locker.release(locker.acquire(8, ["A1"])) is False  # a rollback: no new version
    assert redis_conn.exists(version_key) == 0
    assert locker.release(locker.acquire(8, ["A1"]), bump_version=True) is True
    assert redis_conn.get(version_key) == b"v1"
    assert 0 < redis_conn.ttl(version_key) <= 60
    # ...and announced it, once, to every web process's memo of the grid (webapp/localgrids.py).
    announced = listener.get_message(timeout=5)
    assert announced is not None and announced["data"] == b"8"
    assert listener.get_message(timeout=0.2) is None
    listener.close()
    assert redis_conn.exists(locker.key(8, "A1")) == 0
