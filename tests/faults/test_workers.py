"""Workers SIGKILLed mid-job: expiry converges and every confirmation still goes out exactly once.

Real ``flask --app wsgi worker`` / ``scheduler`` processes on real Redis and
PostgreSQL. The worker and its RQ work horse die together by SIGKILL, as an
OOM killer or a lost host would take them: no handler runs, the database
only sees the connection drop. tests/test_jobs.py already kills a worker in
the middle of one delivery; these kill one in the middle of a 20,000-hold
expiry run and in the middle of a batch of deliveries.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from conftest import Figures
from flask import Flask
from flask.testing import FlaskClient
from invariants import assert_seat_invariants
from jobsupport import descendants, read_eml, sigkill_tree, wait_for

from webapp.jobs import queue

from .jobstack import JobStack, transition_log

pytestmark = pytest.mark.faults

LAPSED_HOLDS = 20_000
#: Holds still running when the worker dies: expiry must leave them alone.
LIVE_HOLDS = 300
SEATS_PER_SHOW = 26 * 50


def create_shows(stack: JobStack, count: int) -> list[int]:
    """Full-size shows written in SQL (as bench/run.py does): the set-up is not under test."""
    show_ids = []
    for _ in range(count):
        show_id = stack.scalar(
            "INSERT INTO shows (title, starts_at, rows, seats_per_row, layout) "
            "VALUES ('Expiry under fire', now() + interval '30 days', 26, 50, "
            "to_jsonb(array_fill(repeat('s', 50), ARRAY[26]))) RETURNING id"
        )
        stack.sql(
            "INSERT INTO seats (show_id, row, number, col) SELECT %s, chr(64 + r), n, n "
            "FROM generate_series(1, 26) r, generate_series(1, 50) n ORDER BY r, n",
            (show_id,),
        )
        show_ids.append(show_id)
    return show_ids


def insert_holds(stack: JobStack, show_ids: list[int], *, lapsed: bool, limit: int) -> list[str]:
    """One PENDING one-seat booking per free seat, in one statement; returns the booking ids."""
    expires = "now() - interval '1 minute'" if lapsed else "now() + interval '1 hour'"
    rows = stack.sql(
        f"""
        WITH picked AS (
            SELECT id AS seat_id, show_id, label, gen_random_uuid() AS booking_id
            FROM seats WHERE show_id = ANY(%s) AND status = 'AVAILABLE'
            ORDER BY id LIMIT %s
        ), b AS (
            INSERT INTO bookings (id, show_id, status, token_hash, hold_expires_at, created_at)
            SELECT booking_id, show_id, 'PENDING', sha256(convert_to(booking_id::text, 'UTF8')),
                   {expires}, now() - interval '2 minutes'
            FROM picked
        ), s AS (
            UPDATE seats SET status = 'HELD', booking_id = p.booking_id, hold_expires_at = {expires}
            FROM picked p WHERE seats.id = p.seat_id
        ), bs AS (
            INSERT INTO booking_seats (booking_id, seat_id, label, booking_status)
            SELECT booking_id, seat_id, label, 'PENDING' FROM picked
        )
        SELECT booking_id::text FROM picked
        """,
        (show_ids, limit),
    )
    return [row[0] for row in rows]


def expired_by(worker_log: str) -> int:
    return sum(int(n) for n in re.findall(r"expired (\d+) lapsed hold", worker_log))


def test_a_worker_killed_mid_expiry_converges_and_expires_every_hold_once(
    app: Flask, stack: JobStack, figures: Figures
) -> None:
    shows = create_shows(stack, -(-(LAPSED_HOLDS + LIVE_HOLDS) // SEATS_PER_SHOW))
    lapsed = insert_holds(stack, shows, lapsed=True, limit=LAPSED_HOLDS)
    live = insert_holds(stack, shows, lapsed=False, limit=LIVE_HOLDS)
    assert (len(lapsed), len(live)) == (LAPSED_HOLDS, LIVE_HOLDS)
    stack.sql("ANALYZE")  # as autovacuum would have, long before a backlog this size

    def expired_now() -> int:
        return stack.scalar("SELECT count(*) FROM bookings WHERE status = 'EXPIRED'")

    with transition_log(stack):
        doomed = stack.procs.worker()
        queue(app).enqueue_call("webapp.jobs.expire_holds", timeout=120)
        # Kill as soon as the first batch has committed: the run is well under way.
        wait_for(lambda: expired_now() > 0, 60, "the first expiry batch committed", interval=0.005)
        assert descendants(doomed.pid), "the expiry runs in a work horse"
        sigkill_tree(doomed)
        # PostgreSQL rolls the horse's open batch back once it notices the dropped connection.
        wait_for(lambda: stack.busy_backends() == 0, 30, "the dead horse's session ended")
        at_kill = expired_now()
        time.sleep(1)
        assert expired_now() == at_kill, "nothing runs expiry any more"
        assert 0 < at_kill < LAPSED_HOLDS, f"killed mid-run: {at_kill} of {LAPSED_HOLDS} expired"
        assert_seat_invariants(app)  # each committed batch is whole, the rolled back one left no trace

        survivor = stack.procs.worker()
        stack.procs.scheduler()
        started = time.monotonic()
        wait_for(
            lambda: (
                stack.scalar(
                    "SELECT count(*) FROM bookings WHERE status = 'PENDING' AND hold_expires_at <= now()"
                )
                == 0
            ),
            120,
            "the scheduler's runs expired the rest",
            interval=0.2,
        )
        converged = time.monotonic() - started
        wait_for(lambda: expired_by(survivor.log()) == LAPSED_HOLDS - at_kill, 20, "the survivor's log")

        transitions = stack.sql(
            """
            SELECT booking_id::text AS booking_id, old_status, new_status,
                   old_expired_at IS NULL AS was_unset, new_expired_at IS NOT NULL AS is_set
            FROM fault_booking_transitions
            """
        )
    figures.record("lapsed holds", LAPSED_HOLDS)
    figures.record("expired before the SIGKILL", at_kill)
    figures.record("expired by the next worker", LAPSED_HOLDS - at_kill)
    figures.record("seconds to converge after the kill", converged)

    # One change per lapsed hold, PENDING -> EXPIRED with expired_at set from nothing, and none else.
    assert len(transitions) == LAPSED_HOLDS
    assert sorted(t.booking_id for t in transitions) == sorted(lapsed)
    assert all(
        (t.old_status, t.new_status, t.was_unset, t.is_set) == ("PENDING", "EXPIRED", True, True)
        for t in transitions
    )
    counts = stack.sql(
        """
        SELECT count(*) FILTER (WHERE status = 'EXPIRED' AND expired_at IS NOT NULL) AS expired,
               count(*) FILTER (WHERE status = 'PENDING' AND hold_expires_at > now()) AS live,
               count(*) AS total
        FROM bookings
        """
    )[0]
    assert (counts.expired, counts.live, counts.total) == (
        LAPSED_HOLDS,
        LIVE_HOLDS,
        LAPSED_HOLDS + LIVE_HOLDS,
    )
    seats = stack.sql(
        """
        SELECT count(*) FILTER (WHERE s.status = 'HELD') AS held,
               count(*) FILTER (WHERE b.status = 'EXPIRED') AS held_by_expired,
               count(*) FILTER (WHERE s.status = 'AVAILABLE') AS available
        FROM seats s LEFT JOIN bookings b ON b.id = s.booking_id
        """
    )[0]
    assert (seats.held, seats.held_by_expired) == (LIVE_HOLDS, 0)
    assert seats.available == len(shows) * SEATS_PER_SHOW - LIVE_HOLDS
    assert stack.scalar("SELECT count(*) FROM booking_seats WHERE booking_status = 'EXPIRED'") == LAPSED_HOLDS
    assert_seat_invariants(app)


def _confirmed_booking(client: FlaskClient, show_id: int, seat: str, email: str | None) -> str:
    body: dict[str, Any] = {"show_id": show_id, "seats": [seat]}
    if email is not None:
        body["email"] = email
    held = client.post("/api/bookings", json=body)
    assert held.status_code == 201, held.get_json()
    booking_id, token = held.get_json()["booking"]["id"], held.get_json()["token"]
    confirmed = client.post(
        f"/api/bookings/{booking_id}/confirm", headers={"Authorization": f"Bearer {token}"}
    )
    assert confirmed.status_code == 200, confirmed.get_json()
    return booking_id


def test_a_worker_killed_during_a_batch_of_deliveries_sends_each_message_once(
    client: FlaskClient, make_show: Any, stack: JobStack, figures: Figures
) -> None:
    lease = int(stack.env["DELIVERY_LEASE_SECONDS"])
    show = make_show(rows=4, seats_per_row=8, title="Deliveries under fire")
    labels = [f"{row}{n}" for row in "ABC" for n in range(1, 9)]
    with_email = [
        _confirmed_booking(client, show["id"], label, f"guest-{label.lower()}@example.com")
        for label in labels[:20]
    ]
    without_email = [_confirmed_booking(client, show["id"], label, None) for label in labels[20:23]]
    assert stack.scalar("SELECT count(*) FROM outbox") == len(with_email)

    # Slow deliveries, so that the kill lands inside one rather than between two.
    doomed = stack.procs.worker(DELIVERY_DELAY_SECONDS="0.3")

    def freshly_claimed() -> list[Any]:
        """Rows whose delivery began within the last 0.3 s (the claim pushed next_attempt_at a lease on)."""
        return stack.sql(
            """
            SELECT id, booking_id::text AS booking_id FROM outbox
            WHERE status = 'PENDING' AND attempts = 1
              AND next_attempt_at > now() + make_interval(secs => %s)
            """,
            (lease - 0.3,),
        )

    wait_for(
        lambda: stack.scalar("SELECT count(*) FROM outbox WHERE status = 'SENT'") >= 3,
        60,
        "a few messages sent",
    )
    wait_for(freshly_claimed, 30, "a delivery just started", interval=0.005)
    assert descendants(doomed.pid), "the delivery runs in a work horse"
    sigkill_tree(doomed)

    at_kill = stack.sql("SELECT booking_id::text AS booking_id, status, attempts FROM outbox")
    in_flight = [row.booking_id for row in at_kill if (row.status, row.attempts) == ("PENDING", 1)]
    sent_before = sum(row.status == "SENT" for row in at_kill)
    assert len(in_flight) == 1, at_kill  # one worker, one horse: exactly one delivery cut short
    assert sent_before < len(with_email)

    stack.procs.worker()
    stack.procs.scheduler()
    wait_for(
        lambda: stack.scalar("SELECT count(*) FROM outbox WHERE status = 'SENT'") == len(with_email),
        lease + 60,
        "every message sent, the cut-short one after its lease",
        interval=0.2,
    )
    time.sleep(2)  # a few more relay runs: nothing may be delivered again

    rows = {
        row.booking_id: row
        for row in stack.sql("SELECT booking_id::text AS booking_id, status, attempts FROM outbox")
    }
    assert sorted(rows) == sorted(with_email)  # nothing owed to bookings without an email
    assert {b: rows[b].attempts for b in with_email} == {b: 2 if b in in_flight else 1 for b in with_email}
    messages = stack.messages()
    assert sorted(messages) == sorted(with_email)  # one file per booking: none lost, none for the others
    assert not set(messages) & set(without_email)
    for booking_id, path in messages.items():
        message = read_eml(path)
        assert message["To"].startswith("guest-")
        # Written once by the claim that recorded it; a redelivery replaced the cut-short attempt's file.
        assert message["X-Marquee-Delivery-Attempt"] == str(rows[booking_id].attempts)
    figures.record("confirmed bookings with an email", len(with_email))
    figures.record("sent before the SIGKILL", sent_before)
    figures.record("messages in the mailbox", len(messages))
    figures.record("deliveries redone after the lease", len(in_flight))
