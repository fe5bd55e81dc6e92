"""Hold, confirm, cancel and expire in random orders, checked against a tiny model.

Hypothesis drives the in-process API; after every step the seat listing, the
stats, the admin booking list and the SQL invariants must all agree with a
plain-Python model of who holds which seat. Expiry is simulated by moving
``hold_expires_at`` into the past, then either running the expiry job or
leaving it to lazy expiry.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import redis
from conftest import ConfigOverrides, reset_state
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from invariants import assert_seat_invariants
from sqlalchemy import text
from support.database import lapse_hold

from webapp.booking.expiry import expire_overdue_holds
from webapp.extensions import db

ROWS, SEATS_PER_ROW = 2, 3
LABELS = [f"{chr(65 + r)}{n}" for r in range(ROWS) for n in range(1, SEATS_PER_ROW + 1)]


@dataclass
class ModelBooking:
    id: str
    token: str
    seats: list[str]
    #: As written in the row: PENDING, CONFIRMED, CANCELLED or EXPIRED.
    stored: str = "PENDING"
    #: Its hold_expires_at was moved into the past.
    lapsed: bool = False
    confirmed_at: str | None = None
    cancelled_at: str | None = None

    @property
    def status(self) -> str:
        """What every reader must be told (lazy expiry)."""
        return "EXPIRED" if self.stored == "PENDING" and self.lapsed else self.stored

    @property
    def live(self) -> bool:
        return self.status in {"PENDING", "CONFIRMED"}


def test_bookings_follow_the_model(
    app: Flask,
    client: FlaskClient,
    redis_conn: redis.Redis,
    redis_prefix: str,
    admin_headers: dict[str, str],
    app_config: ConfigOverrides,
) -> None:
    # No hold may lapse by the clock in the middle of an example, only when a rule says so.
    app_config.set(HOLD_SECONDS=3600)
    app_config.set(MAX_HELD_SEATS_PER_VISITOR=0)

    class BookingMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            reset_state(app, redis_conn, redis_prefix)
            body = {
                "title": "Model night",
                "starts_at": "2099-01-01T20:00:00+00:00",
                "rows": ROWS,
                "seats_per_row": SEATS_PER_ROW,
            }
            response = client.post("/api/shows", json=body, headers=admin_headers)
            assert response.status_code == 201
            self.show_id: int = response.get_json()["id"]
            self.bookings: list[ModelBooking] = []

        # --- the model ---------------------------------------------------------

        def owner(self, label: str) -> ModelBooking | None:
            owners = [b for b in self.bookings if b.live and label in b.seats]
            assert len(owners) <= 1, "the model itself double-booked"
            return owners[0] if owners else None

        def seat_status(self, label: str) -> str:
            booking = self.owner(label)
            if booking is None:
                return "AVAILABLE"
            return "BOOKED" if booking.status == "CONFIRMED" else "HELD"

        def pick(self, index: int) -> ModelBooking:
            return self.bookings[index % len(self.bookings)]

        def act(self, action: str, booking: ModelBooking) -> tuple[int, Any]:
            response = client.post(
                f"/api/bookings/{booking.id}/{action}",
                headers={"Authorization": f"Bearer {booking.token}"},
            )
            return response.status_code, response.get_json()

        # --- rules -------------------------------------------------------------

        @rule(seats=st.lists(st.sampled_from(LABELS), min_size=1, max_size=3, unique=True))
        def hold(self, seats: list[str]) -> None:
            taken = [label for label in seats if self.owner(label) is not None]
            response = client.post("/api/bookings", json={"show_id": self.show_id, "seats": seats})
            body = response.get_json()
            if taken:
                assert response.status_code == 409, body
                assert body["code"] == "seats_unavailable"
                assert body["seats"] == taken
                return
            assert response.status_code == 201, body
            booking = body["booking"]
            assert booking["status"] == "PENDING"
            assert booking["seats"] == sorted(seats, key=LABELS.index)
            # Lapsed holds on the requested seats were expired on the way.
            for other in self.bookings:
                if other.status == "EXPIRED" and set(other.seats) & set(seats):
                    other.stored = "EXPIRED"
            self.bookings.append(ModelBooking(booking["id"], body["token"], list(booking["seats"])))

        @precondition(lambda self: self.bookings)
        @rule(index=st.integers(min_value=0))
        def confirm(self, index: int) -> None:
            booking = self.pick(index)
            before = booking.status
            status, body = self.act("confirm", booking)
            if before in {"PENDING", "CONFIRMED"}:
                assert status == 200, body
                assert body["status"] == "CONFIRMED"
                if before == "CONFIRMED":
                    assert body["confirmed_at"] == booking.confirmed_at  # a repeat changes nothing
                booking.stored, booking.confirmed_at = "CONFIRMED", body["confirmed_at"]
            elif before == "CANCELLED":
                assert (status, body["code"]) == (409, "booking_cancelled")
            else:
                assert (status, body["code"]) == (409, "hold_expired")
                booking.stored = "EXPIRED"

        @precondition(lambda self: self.bookings)
        @rule(index=st.integers(min_value=0))
        def cancel(self, index: int) -> None:
            booking = self.pick(index)
            before = booking.status
            status, body = self.act("cancel", booking)
            if before == "EXPIRED":
                assert (status, body["code"]) == (409, "hold_expired")
                booking.stored = "EXPIRED"
                return
            assert status == 200, body
            assert body["status"] == "CANCELLED"
            assert body["confirmed_at"] == booking.confirmed_at
            if before == "CANCELLED":
                assert body["cancelled_at"] == booking.cancelled_at
            booking.stored, booking.cancelled_at = "CANCELLED", body["cancelled_at"]

        @precondition(lambda self: any(b.status == "PENDING" for b in self.bookings))
        @rule(index=st.integers(min_value=0), run_job=st.booleans())
        def expire(self, index: int, run_job: bool) -> None:
            pending = [b for b in self.bookings if b.status == "PENDING"]
            booking = pending[index % len(pending)]
            lapse_hold(app, booking.id, ago="1 second")
            booking.lapsed = True
            if run_job:
                self.run_expiry_job()

        @rule()
        def run_expiry_job(self) -> None:
            due = [b for b in self.bookings if b.stored == "PENDING" and b.lapsed]
            with app.app_context():
                expired = expire_overdue_holds(db.session)
                db.session.commit()
            assert expired == len(due)
            for booking in due:
                booking.stored = "EXPIRED"

        # --- what must always be true -------------------------------------------

        @invariant()
        def database_keeps_the_rules(self) -> None:
            assert_seat_invariants(app)
            with app.app_context():
                stored = dict(
                    db.session.execute(text("SELECT id::text, status FROM bookings")).tuples().all()
                )
                db.session.rollback()
            assert stored == {b.id: b.stored for b in self.bookings}

        @invariant()
        def api_agrees_with_the_model(self) -> None:
            listing = client.get(f"/api/shows/{self.show_id}/seats").get_json()
            assert {s["seat"]: s["status"] for s in listing["seats"]} == {
                label: self.seat_status(label) for label in LABELS
            }
            counts = Counter(self.seat_status(label) for label in LABELS)
            stats = client.get(f"/api/shows/{self.show_id}/seats/stats").get_json()
            assert stats == {
                "total": len(LABELS),
                "available": counts["AVAILABLE"],
                "held": counts["HELD"],
                "booked": counts["BOOKED"],
            }
            listed = client.get(f"/api/shows/{self.show_id}/bookings", headers=admin_headers).get_json()
            assert {b["id"]: (b["status"], b["seats"]) for b in listed["bookings"]} == {
                b.id: (b.status, b.seats) for b in self.bookings
            }

    run_state_machine_as_test(
        BookingMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
