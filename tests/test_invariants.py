"""The seat invariant is kept by the database itself, and the checker can tell.

The first tests play "code that forgot a step" with raw SQL and expect
PostgreSQL to refuse the commit. The next ones corrupt rows in ways the
schema allows on purpose and expect ``assert_seat_invariants`` to notice, so
the concurrency tests that rely on it are not checking something that cannot
fail. The last walks a booking through every transition through the API.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from invariants import assert_api_matches_database, assert_seat_invariants
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from support.api import hold_ok
from support.database import lapse_hold

from webapp.booking.expiry import expire_overdue_holds
from webapp.extensions import db


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.rollback()


def insert_pending_booking(session: Session, show_id: int) -> uuid.UUID:
    booking_id = uuid.uuid4()
    session.execute(
        text(
            """
            INSERT INTO bookings (id, show_id, status, token_hash, hold_expires_at)
            VALUES (:id, :show_id, 'PENDING', :hash, now() + interval '1 hour')
            """
        ),
        {"id": booking_id, "show_id": show_id, "hash": b"\0" * 32},
    )
    return booking_id


def getters(client: FlaskClient, admin_headers: dict[str, str]):
    def get(path: str) -> tuple[int, Any]:
        response = client.get(path)
        return response.status_code, response.get_json()

    def admin_get(path: str) -> tuple[int, Any]:
        response = client.get(path, headers=admin_headers)
        return response.status_code, response.get_json()

    return get, admin_get


# --- what PostgreSQL refuses -------------------------------------------------------


def test_database_refuses_a_second_live_booking_of_a_seat(client, make_show, session) -> None:
    show = make_show()
    hold_ok(client, show["id"], ["A1"])
    intruder = insert_pending_booking(session, show["id"])
    with pytest.raises(IntegrityError, match="uq_booking_seats_live_seat"):
        session.execute(
            text(
                """
                INSERT INTO booking_seats (booking_id, seat_id, label, booking_status)
                SELECT :id, id, label, 'PENDING' FROM seats WHERE show_id = :show AND label = 'A1'
                """
            ),
            {"id": intruder, "show": show["id"]},
        )


def test_database_refuses_a_held_seat_of_a_cancelled_booking(client, make_show, session) -> None:
    show = make_show()
    booking_id = hold_ok(client, show["id"], ["A1", "A2"])["booking"]["id"]
    # Cancel the booking but "forget" to release its seats.
    session.execute(
        text("UPDATE bookings SET status = 'CANCELLED', cancelled_at = now() WHERE id = :id"),
        {"id": booking_id},
    )
    with pytest.raises(IntegrityError, match="fk_seats_holder_bookings"):
        session.commit()


def test_database_refuses_a_booked_seat_of_a_pending_booking(client, make_show, session) -> None:
    show = make_show()
    booking_id = hold_ok(client, show["id"], ["B1"])["booking"]["id"]
    session.execute(
        text("UPDATE seats SET status = 'BOOKED', hold_expires_at = NULL WHERE booking_id = :id"),
        {"id": booking_id},
    )
    with pytest.raises(IntegrityError, match="fk_seats_holder_bookings"):
        session.commit()


def test_database_refuses_a_held_seat_without_a_holder(make_show, session) -> None:
    show = make_show()
    with pytest.raises(IntegrityError, match="holder_matches_status"):
        session.execute(
            text(
                """
                UPDATE seats SET status = 'HELD', hold_expires_at = now() + interval '1 minute'
                WHERE show_id = :show AND label = 'A1'
                """
            ),
            {"show": show["id"]},
        )


# --- what only the checker sees ------------------------------------------------------


def test_checker_reports_a_pending_booking_whose_seat_was_freed(app, client, make_show, session) -> None:
    show = make_show()
    booking_id = hold_ok(client, show["id"], ["A1"])["booking"]["id"]
    assert_seat_invariants(app)
    session.execute(
        text(
            """
            UPDATE seats SET status = 'AVAILABLE', booking_id = NULL, hold_expires_at = NULL
            WHERE booking_id = :id
            """
        ),
        {"id": booking_id},
    )
    session.commit()  # the schema allows it: booking_seats keeps the claim
    with pytest.raises(AssertionError, match="lost a seat it lists"):
        assert_seat_invariants(app)


def test_checker_reports_a_seat_pointing_at_a_booking_that_does_not_list_it(
    app, client, make_show, session
) -> None:
    show = make_show()
    hold_ok(client, show["id"], ["A1"])
    other = insert_pending_booking(session, show["id"])
    session.execute(
        text(
            """
            UPDATE seats SET booking_id = :other,
                   hold_expires_at = (SELECT hold_expires_at FROM bookings WHERE id = :other)
            WHERE show_id = :show AND label = 'A1'
            """
        ),
        {"other": other, "show": show["id"]},
    )
    session.commit()
    with pytest.raises(AssertionError) as failure:
        assert_seat_invariants(app)
    message = str(failure.value)
    assert "points at a booking that does not match it" in message
    assert "lost a seat it lists" in message
    assert "a booking has no seats" in message


def test_api_check_reports_a_listing_that_disagrees_with_the_rows(
    app, client, make_show, admin_headers
) -> None:
    show = make_show()
    hold_ok(client, show["id"], ["A1"])
    get, admin_get = getters(client, admin_headers)
    assert_api_matches_database(app, get, admin_get, show["id"])

    def stale_get(path: str) -> tuple[int, Any]:
        status, body = get(path)
        if path.endswith("/seats"):
            body["seats"][0]["status"] = "AVAILABLE"
        return status, body

    with pytest.raises(AssertionError):
        assert_api_matches_database(app, stale_get, admin_get, show["id"])


# --- every transition keeps the invariants ---------------------------------------------


def test_invariants_hold_through_every_transition(app, client, make_show, admin_headers, session) -> None:
    show = make_show(rows=2, seats_per_row=4)
    show_id = show["id"]
    get, admin_get = getters(client, admin_headers)

    def check() -> None:
        assert_seat_invariants(app)
        assert_api_matches_database(app, get, admin_get, show_id)

    def act(action: str, held: dict[str, Any]) -> Any:
        return client.post(
            f"/api/bookings/{held['booking']['id']}/{action}",
            headers={"Authorization": f"Bearer {held['token']}"},
        )

    def lapse(held: dict[str, Any]) -> None:
        lapse_hold(app, held["booking"]["id"], ago="1 second")

    confirmed = hold_ok(client, show_id, ["A1", "A2"])
    check()
    assert act("confirm", confirmed).status_code == 200
    check()
    cancelled = hold_ok(client, show_id, ["A3"])
    assert act("cancel", cancelled).status_code == 200
    check()
    assert act("cancel", confirmed).status_code == 200
    check()

    lazily_expired = hold_ok(client, show_id, ["B1", "B2"])
    lapse(lazily_expired)
    check()  # EXPIRED to readers, still PENDING in the row
    retaken = hold_ok(client, show_id, ["B2", "B3"])  # expires B1+B2's booking on the way
    check()
    assert act("confirm", lazily_expired).get_json()["code"] == "hold_expired"
    check()

    job_expired = hold_ok(client, show_id, ["A4"])
    lapse(job_expired)
    assert expire_overdue_holds(session) == 1
    session.commit()
    check()
    assert act("cancel", job_expired).get_json()["code"] == "hold_expired"
    assert act("confirm", retaken).status_code == 200
    check()
