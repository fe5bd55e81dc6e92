"""Tickets and check-in at the door (issue 13): the API's answers; the database admits each ticket once."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import segno
from conftest import ConfigOverrides
from flask import Flask
from flask.testing import FlaskClient
from racing import ADMIN_HEADERS, HTTP_TIMEOUT_S, Api, fire_together, wait_for_lock_waiters
from sqlalchemy import text
from support.api import assert_booking_shape, assert_problem, bearer, hold_ok, timestamp
from support.database import libpq_dsn
from support.processes import Server

from webapp.extensions import db
from webapp.jobs import send_confirmation
from webapp.mail import mailbox_path

CODE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
DOOR_TOKEN = "test-door-token"


def confirmed(client: FlaskClient, show_id: int, seats: list[str], **kwargs: Any) -> dict[str, Any]:
    """Hold and confirm; returns ``{"booking", "token"}`` with the CONFIRMED booking."""
    held = hold_ok(client, show_id, seats, **kwargs)
    response = client.post(f"/api/bookings/{held['booking']['id']}/confirm", headers=bearer(held["token"]))
    assert response.status_code == 200, response.get_json()
    return {"booking": response.get_json(), "token": held["token"]}


def scan(client: FlaskClient, code: Any, headers: dict[str, str], **body: Any):
    return client.post("/api/checkins", json={"code": code, **body}, headers=headers)


def test_confirming_issues_one_random_ticket_per_seat(client, make_show):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1", "A2", "B3"])
    assert held["booking"]["tickets"] == []
    booking = confirmed(client, show["id"], ["C1", "C2"])["booking"]
    assert_booking_shape(booking)
    assert [t["seat"] for t in booking["tickets"]] == ["C1", "C2"]
    codes = [t["code"] for t in booking["tickets"]]
    assert all(CODE.match(code) and len(code) == 32 for code in codes)
    assert len(set(codes)) == 2
    assert all(t["checked_in_at"] is None for t in booking["tickets"])


def test_a_repeated_confirm_keeps_the_codes(client, make_show):
    show = make_show()
    booking = confirmed(client, show["id"], ["A1", "A2"])
    url = f"/api/bookings/{booking['booking']['id']}"
    again = client.post(f"{url}/confirm", headers=bearer(booking["token"])).get_json()
    read = client.get(url, headers=bearer(booking["token"])).get_json()
    assert again["tickets"] == booking["booking"]["tickets"] == read["tickets"]


def test_admin_listing_shows_check_ins_but_never_codes(client, make_show, admin_headers):
    show = make_show()
    booking = confirmed(client, show["id"], ["A1"])
    code = booking["booking"]["tickets"][0]["code"]
    assert scan(client, code, admin_headers).status_code == 200
    listed = client.get(f"/api/shows/{show['id']}/bookings", headers=admin_headers)
    [row] = listed.get_json()["bookings"]
    assert row["tickets"][0]["code"] is None
    assert row["tickets"][0]["checked_in_at"] is not None
    assert code not in listed.get_data(as_text=True)


def test_first_scan_admits_and_every_later_one_is_already_checked_in(app, client, make_show, app_config):
    app_config.set(CHECKIN_TOKEN=DOOR_TOKEN)
    show = make_show()
    booking = confirmed(client, show["id"], ["B2", "B3"])
    code = booking["booking"]["tickets"][1]["code"]

    admitted = scan(client, code, bearer(DOOR_TOKEN), show_id=show["id"])
    assert admitted.status_code == 200, admitted.get_json()
    body = admitted.get_json()
    assert set(body) == {"result", "seat", "show_id", "booking_id", "checked_in_at"}
    assert (body["result"], body["seat"], body["show_id"]) == ("admitted", "B3", show["id"])
    assert body["booking_id"] == booking["booking"]["id"]
    checked_in_at = timestamp(body["checked_in_at"])

    again = assert_problem(scan(client, code, bearer(DOOR_TOKEN)), 409, "already_checked_in")
    assert timestamp(again["checked_in_at"]) == checked_in_at
    # A scanner's trailing newline is not part of the code.
    assert_problem(scan(client, code + "\n", bearer(DOOR_TOKEN)), 409, "already_checked_in")

    read = client.get(f"/api/bookings/{body['booking_id']}", headers=bearer(booking["token"])).get_json()
    assert [timestamp(t["checked_in_at"]) if t["checked_in_at"] else None for t in read["tickets"]] == [
        None,
        checked_in_at,
    ]
    stats = client.get(f"/api/shows/{show['id']}").get_json()["stats"]
    assert (stats["checked_in"], stats["booked"]) == (1, 2)


def test_refusals_unknown_void_and_wrong_show(client, make_show, admin_headers):
    show = make_show()
    other = make_show(title="Other")
    assert_problem(scan(client, "A" * 32, admin_headers), 404, "ticket_not_found")
    assert_problem(scan(client, "not a code", admin_headers), 404, "ticket_not_found")
    assert_problem(scan(client, "", admin_headers), 422, "validation_error")
    assert_problem(scan(client, ["x"], admin_headers), 422, "validation_error")

    booking = confirmed(client, show["id"], ["A1"])
    code = booking["booking"]["tickets"][0]["code"]
    assert_problem(scan(client, code, admin_headers, show_id=other["id"]), 409, "wrong_show")
    # Refused without a trace: the right show still admits it.
    assert scan(client, code, admin_headers, show_id=show["id"]).status_code == 200

    void = confirmed(client, show["id"], ["A2"])
    url = f"/api/bookings/{void['booking']['id']}"
    cancelled = client.delete(url, headers=bearer(void["token"])).get_json()
    assert (cancelled["status"], cancelled["tickets"]) == ("CANCELLED", [])
    assert_problem(scan(client, void["booking"]["tickets"][0]["code"], admin_headers), 409, "ticket_void")


def test_tokens_missing_wrong_or_unset(client, make_show, admin_headers, app_config: ConfigOverrides):
    show = make_show()
    code = confirmed(client, show["id"], ["A1"])["booking"]["tickets"][0]["code"]
    assert_problem(scan(client, code, {}), 401, "authentication_required")
    assert_problem(scan(client, code, bearer("nope")), 403, "forbidden")
    booking_token = hold_ok(client, show["id"], ["A2"])["token"]
    assert_problem(scan(client, code, bearer(booking_token)), 403, "forbidden")
    # CHECKIN_TOKEN unset (the default): it is no token at all, not an empty one.
    assert_problem(scan(client, code, bearer("")), 401, "authentication_required")
    app_config.set(CHECKIN_TOKEN=DOOR_TOKEN)
    # The door token opens check-ins and nothing of the admin API.
    assert client.get(f"/api/shows/{show['id']}/bookings", headers=bearer(DOOR_TOKEN)).status_code == 403
    app_config.set(CHECKIN_TOKEN=None, ADMIN_TOKEN=None)
    problem = assert_problem(scan(client, code, admin_headers), 403, "forbidden")
    assert "disabled" in problem["detail"]


def test_a_checked_in_booking_cannot_be_cancelled(client, make_show, admin_headers):
    show = make_show()
    booking = confirmed(client, show["id"], ["A1", "A2"])
    url = f"/api/bookings/{booking['booking']['id']}"
    assert scan(client, booking["booking"]["tickets"][0]["code"], admin_headers).status_code == 200
    for method in ("POST", "DELETE"):
        path = f"{url}/cancel" if method == "POST" else url
        refused = assert_problem(
            client.open(path, method=method, headers=bearer(booking["token"])), 409, "already_checked_in"
        )
        assert refused["checked_in_at"]
    still = client.get(url, headers=bearer(booking["token"])).get_json()
    assert still["status"] == "CONFIRMED"
    # The other seat's ticket still admits its holder.
    assert scan(client, booking["booking"]["tickets"][1]["code"], admin_headers).status_code == 200


def test_cancel_voids_the_tickets_in_the_database(app: Flask, client, make_show):
    show = make_show()
    booking = confirmed(client, show["id"], ["A1", "A2"])
    client.delete(f"/api/bookings/{booking['booking']['id']}", headers=bearer(booking["token"]))
    with app.app_context():
        rows = db.session.execute(
            text("SELECT voided_at IS NOT NULL AS void FROM tickets WHERE booking_id = :id"),
            {"id": booking["booking"]["id"]},
        ).all()
    assert [row.void for row in rows] == [True, True]


def test_twelve_simultaneous_scans_of_one_code_admit_exactly_once(live_server: Server):
    api = Api(live_server.url)
    show_id = api.create_show(rows=2, seats_per_row=4)
    held = api.hold(show_id, ["A1", "A2"]).json()
    booking = api.act("confirm", held["booking"]["id"], held["token"]).json()
    code = booking["tickets"][0]["code"]

    def scan_once() -> Any:
        return requests.post(
            f"{live_server.url}/api/checkins",
            json={"code": code},
            headers=ADMIN_HEADERS,
            timeout=HTTP_TIMEOUT_S,
        )

    answers = fire_together([scan_once] * 12)
    assert Counter(a.status_code for a in answers) == {200: 1, 409: 11}, [a.text for a in answers]
    [admitted] = [a.json() for a in answers if a.status_code == 200]
    refusals = [a.json() for a in answers if a.status_code == 409]
    assert {r["code"] for r in refusals} == {"already_checked_in"}
    assert {r["checked_in_at"] for r in refusals} == {admitted["checked_in_at"]}
    assert api.booking(held["booking"]["id"], held["token"])["tickets"][0]["checked_in_at"] is not None
    stats = live_server.get(f"/api/shows/{show_id}").json()["stats"]
    assert stats["checked_in"] == 1


def test_parallel_confirms_issue_one_set_of_codes(live_server: Server):
    api = Api(live_server.url)
    show_id = api.create_show(rows=1, seats_per_row=4)
    held = api.hold(show_id, ["A1", "A2"]).json()
    answers = fire_together([lambda: api.act("confirm", held["booking"]["id"], held["token"])] * 8)
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    issued = {tuple((t["seat"], t["code"]) for t in a.json()["tickets"]) for a in answers}
    assert len(issued) == 1 and [seat for seat, _ in next(iter(issued))] == ["A1", "A2"]
    assert api.booking(held["booking"]["id"], held["token"])["tickets"] == answers[0].json()["tickets"]


@contextmanager
def ticket_row_lock(database_url: str, code: str) -> Iterator[None]:
    """Hold ``FOR UPDATE`` on the ticket's row until the block ends, so requests queue behind it."""
    with psycopg.connect(libpq_dsn(database_url)) as conn:
        assert conn.execute("SELECT id FROM tickets WHERE code = %s FOR UPDATE", (code,)).fetchone()
        try:
            yield
        finally:
            conn.rollback()


def test_a_cancel_and_a_scan_at_once_never_both_win(live_server: Server, database_url: str):
    """Both queue on the ticket's row lock; whichever PostgreSQL lets in first wins, the other is refused."""
    api = Api(live_server.url)
    show_id = api.create_show(rows=1, seats_per_row=4)
    outcomes: Counter[str] = Counter()
    for seat in ("A1", "A2", "A3", "A4"):
        held = api.hold(show_id, [seat]).json()
        booking_id, token = held["booking"]["id"], held["token"]
        code = api.act("confirm", booking_id, token).json()["tickets"][0]["code"]
        with ThreadPoolExecutor(max_workers=2) as pool:
            with ticket_row_lock(database_url, code):
                cancelling = pool.submit(api.act, "cancel", booking_id, token)
                scanning = pool.submit(
                    requests.post,
                    f"{live_server.url}/api/checkins",
                    json={"code": code},
                    headers=ADMIN_HEADERS,
                    timeout=HTTP_TIMEOUT_S,
                )
                wait_for_lock_waiters(database_url, 2)  # both are in, waiting on the ticket
            cancel, scan = cancelling.result(), scanning.result()
        final = api.booking(booking_id, token)
        if scan.status_code == 200:
            assert cancel.status_code == 409 and cancel.json()["code"] == "already_checked_in", cancel.text
            assert final["status"] == "CONFIRMED" and final["tickets"][0]["checked_in_at"] is not None
            outcomes["admitted, cancel refused"] += 1
        else:
            assert (scan.status_code, scan.json()["code"]) == (409, "ticket_void"), scan.text
            assert cancel.status_code == 200, cancel.text
            assert (final["status"], final["tickets"]) == ("CANCELLED", [])
            outcomes["cancelled, scan refused"] += 1
    assert (
        live_server.get(f"/api/shows/{show_id}").json()["stats"]["checked_in"]
        == outcomes["admitted, cancel refused"]
    )
    print(f"cancel/scan race outcomes: {dict(outcomes)}")


def test_the_confirmation_email_carries_every_ticket(app: Flask, client, make_show):
    show = make_show(title="Mail Tickets")
    booking = confirmed(client, show["id"], ["A1", "A2", "A3"], email="ana@example.com")["booking"]
    with app.app_context():
        outbox_id = db.session.execute(
            text("SELECT id FROM outbox WHERE booking_id = :id"), {"id": booking["id"]}
        ).scalar_one()
        assert send_confirmation(outbox_id)["status"] == "SENT"
        path = mailbox_path(app.config["MAILBOX_DIR"], f"booking-confirmed-{booking['id']}")
    message = message_from_bytes(Path(path).read_bytes(), policy=policy.default)

    body = message.get_body(("plain",)).get_content()
    images = [part for part in message.iter_attachments() if part.get_content_type() == "image/png"]
    assert len(images) == len(booking["tickets"]) == 3
    for ticket, image in zip(booking["tickets"], images, strict=True):
        code = ticket["code"]
        assert f"Seat {ticket['seat']:<4} {code}" in body
        assert image.get_content_disposition() == "inline"
        assert image.get_filename() == f"ticket-{ticket['seat']}-{code}.png"
        assert image["Content-ID"] == f"<ticket-{code}@marquee>"
        png = image.get_content()
        # The very image segno draws of this code's QR symbol (we decode no QR by hand): a
        # same-sized picture of another code, or of nothing, would differ.
        expected = io.BytesIO()
        segno.make_qr(code, error="m").save(expected, kind="png", scale=6, border=4)
        assert png == expected.getvalue()


@pytest.mark.parametrize("status", ["PENDING", "CANCELLED"])
def test_only_a_confirmed_booking_has_tickets(client, make_show, status):
    show = make_show()
    held = hold_ok(client, show["id"], ["A1"])
    url = f"/api/bookings/{held['booking']['id']}"
    if status == "CANCELLED":
        client.post(f"{url}/confirm", headers=bearer(held["token"]))
        client.post(f"{url}/cancel", headers=bearer(held["token"]))
    booking = client.get(url, headers=bearer(held["token"])).get_json()
    assert (booking["status"], booking["tickets"]) == (status, [])
