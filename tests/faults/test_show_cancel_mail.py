"""A cancelled show's messages: each booker told exactly once, though a worker dies mid-delivery.

The cancel writes one ``show_cancelled`` outbox row per cancelled booking
with an e-mail, in its own transaction; a real worker delivers them slowly
and is SIGKILLed (with its work horse) inside one delivery. The next worker
redelivers the cut-short message after its lease, and nothing else again.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Figures
from flask.testing import FlaskClient
from jobsupport import descendants, read_eml, sigkill_tree, wait_for

from .jobstack import JobStack

pytestmark = pytest.mark.faults


def _hold(client: FlaskClient, show_id: int, seat: str, email: str | None, confirm: bool) -> str:
    body: dict[str, Any] = {"show_id": show_id, "seats": [seat]}
    if email is not None:
        body["email"] = email
    held = client.post("/api/bookings", json=body)
    assert held.status_code == 201, held.get_json()
    booking_id, token = held.get_json()["booking"]["id"], held.get_json()["token"]
    if confirm:
        confirmed = client.post(
            f"/api/bookings/{booking_id}/confirm", headers={"Authorization": f"Bearer {token}"}
        )
        assert confirmed.status_code == 200, confirmed.get_json()
    return booking_id


def test_a_worker_killed_mid_delivery_tells_each_booker_once(
    client: FlaskClient,
    make_show: Any,
    admin_headers: dict[str, str],
    stack: JobStack,
    figures: Figures,
) -> None:
    lease = int(stack.env["DELIVERY_LEASE_SECONDS"])
    show = make_show(rows=3, seats_per_row=8, title="Called off")
    labels = [f"{row}{n}" for row in "ABC" for n in range(1, 9)]
    # Confirmed and pending bookers alike are told; bookings without an e-mail are not.
    with_email = [
        _hold(client, show["id"], label, f"guest-{label.lower()}@example.com", confirm=i % 2 == 0)
        for i, label in enumerate(labels[:16])
    ]
    without_email = [_hold(client, show["id"], label, None, confirm=True) for label in labels[16:19]]

    cancelled = client.post(f"/api/shows/{show['id']}/cancel", headers=admin_headers)
    assert cancelled.status_code == 200
    assert stack.sql("SELECT DISTINCT kind FROM outbox") == [("show_cancelled",)]  # confirmations withdrawn
    assert stack.scalar("SELECT count(*) FROM outbox") == len(with_email)

    doomed = stack.procs.worker(DELIVERY_DELAY_SECONDS="0.3")

    def freshly_claimed() -> list[Any]:
        """Rows whose delivery began within the last 0.3 s (the claim pushed next_attempt_at a lease on)."""
        return stack.sql(
            """
            SELECT id FROM outbox WHERE status = 'PENDING' AND attempts = 1
              AND next_attempt_at > now() + make_interval(secs => %s)
            """,
            (lease - 0.3,),
        )

    wait_for(lambda: stack.scalar("SELECT count(*) FROM outbox WHERE status = 'SENT'") >= 3, 60, "a few sent")
    wait_for(freshly_claimed, 30, "a delivery just started", interval=0.005)
    assert descendants(doomed.pid), "the delivery runs in a work horse"
    sigkill_tree(doomed)
    at_kill = stack.sql("SELECT booking_id::text AS booking_id, status, attempts FROM outbox")
    in_flight = [row.booking_id for row in at_kill if (row.status, row.attempts) == ("PENDING", 1)]
    sent_before = sum(row.status == "SENT" for row in at_kill)
    assert len(in_flight) == 1, at_kill

    stack.procs.worker()
    stack.procs.scheduler()
    wait_for(
        lambda: stack.scalar("SELECT count(*) FROM outbox WHERE status = 'SENT'") == len(with_email),
        lease + 60,
        "every booker told, the cut-short one after its lease",
        interval=0.2,
    )
    # Two more relay runs after that: nothing may be delivered again.
    runs = stack.runs("relay_outbox")
    wait_for(lambda: stack.runs("relay_outbox") >= runs + 2, 30, "two more relay runs", interval=0.1)

    rows = {
        row.booking_id: row
        for row in stack.sql("SELECT booking_id::text AS booking_id, kind, status, attempts FROM outbox")
    }
    assert sorted(rows) == sorted(with_email)
    assert {b: rows[b].attempts for b in with_email} == {b: 2 if b in in_flight else 1 for b in with_email}
    files = {p.stem.removeprefix("show-cancelled-"): p for p in stack.mailbox.glob("*.eml")}
    assert sorted(files) == sorted(with_email)  # one message per booker, none for the others
    assert not set(files) & set(without_email)
    for booking_id, path in files.items():
        message = read_eml(path)
        assert message["Subject"] == "Your Marquee show is cancelled"
        assert message["X-Marquee-Delivery-Attempt"] == str(rows[booking_id].attempts)
    figures.record("bookers with an e-mail", len(with_email))
    figures.record("told before the SIGKILL", sent_before)
    figures.record("deliveries redone after the lease", len(in_flight))
