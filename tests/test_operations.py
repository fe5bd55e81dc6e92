"""Operating a cinema (issue 15): cancelling a show, admins cancelling bookings,
the show report and its CSV export, on the API and the admin pages."""

from __future__ import annotations

import csv
import io
from email import message_from_bytes
from pathlib import Path

from support.api import assert_problem, bearer, hold_ok, lapse_hold, run_sql

from webapp import jobs
from webapp.admin.operations_views import defuse
from webapp.booking.report import checked_in_count
from webapp.extensions import db

PRICED = {
    "layout": ["ss.pp", "wc.ss"],
    "prices": {"standard": 950, "premium": 1400, "wheelchair": 950, "companion": 500},
    "currency": "EUR",
}


def outbox(app) -> list[tuple[str, str]]:
    return sorted(
        (row.booking_id, row.kind) for row in run_sql(app, "SELECT booking_id::text, kind FROM outbox")
    )


def sign_in(client) -> None:
    assert client.post("/admin/sign-in", data={"token": "test-admin-token"}).status_code == 303


def test_cancelling_a_show_cancels_every_live_booking_once(app, client, make_show, admin_headers):
    show_id = make_show(rows=2, seats_per_row=4)["id"]
    confirmed = hold_ok(client, show_id, ["A1", "A2"], email="ana@example.com")
    assert client.post(f"/api/bookings/{confirmed['booking']['id']}/confirm",
                       headers=bearer(confirmed["token"])).status_code == 200  # fmt: skip
    pending = hold_ok(client, show_id, ["A3"], email="bo@example.com")
    anonymous = hold_ok(client, show_id, ["B1"])
    lapsed = hold_ok(client, show_id, ["B2"], email="cy@example.com")
    lapse_hold(app, lapsed["booking"]["id"])
    done = hold_ok(client, show_id, ["B3"], email="di@example.com")
    client.post(f"/api/bookings/{done['booking']['id']}/cancel", headers=bearer(done["token"]))

    response = client.post(f"/api/shows/{show_id}/cancel", headers=admin_headers)
    assert response.status_code == 200
    assert response.get_json()["status"] == "CANCELLED"
    stats = response.get_json()["stats"]
    assert stats == {"total": 8, "available": 8, "held": 0, "booked": 0, "checked_in": 0}

    statuses = dict(run_sql(app, "SELECT id::text, status FROM bookings"))
    assert statuses == {
        confirmed["booking"]["id"]: "CANCELLED",
        pending["booking"]["id"]: "CANCELLED",
        anonymous["booking"]["id"]: "CANCELLED",
        lapsed["booking"]["id"]: "EXPIRED",  # lazy expiry: it was EXPIRED to every reader already
        done["booking"]["id"]: "CANCELLED",
    }
    assert run_sql(
        app, "SELECT count(*) FROM bookings WHERE status = 'CANCELLED' AND cancelled_at IS NULL"
    ) == [(0,)]
    assert run_sql(app, "SELECT DISTINCT status FROM seats") == [("AVAILABLE",)]
    assert run_sql(app, "SELECT status, cancelled_at IS NOT NULL FROM shows") == [("CANCELLED", True)]
    # One "show cancelled" message per cancelled booking with an e-mail; the
    # unsent confirmation is withdrawn, the booker cancelled earlier is not told again.
    owed = sorted(
        [(confirmed["booking"]["id"], "show_cancelled"), (pending["booking"]["id"], "show_cancelled")]
    )
    assert outbox(app) == owed

    again = client.post(f"/api/shows/{show_id}/cancel", headers=admin_headers)
    assert again.status_code == 200 and again.get_json()["status"] == "CANCELLED"
    assert outbox(app) == owed
    assert dict(run_sql(app, "SELECT id::text, status FROM bookings")) == statuses


def test_holds_on_a_cancelled_show_are_refused(app, client, make_show, admin_headers):
    show_id = make_show()["id"]
    client.post(f"/api/shows/{show_id}/cancel", headers=admin_headers)
    body = assert_problem(client.post("/api/bookings", json={"show_id": show_id, "seats": ["A1"]}), 409,
                          "show_cancelled")  # fmt: skip
    assert "cancelled" in body["detail"]
    assert client.get(f"/api/shows/{show_id}").get_json()["status"] == "CANCELLED"
    assert client.get(f"/api/shows/{make_show()['id']}").get_json()["status"] == "SCHEDULED"
    assert run_sql(app, "SELECT count(*) FROM bookings") == [(0,)]

    page = client.post(f"/shows/{show_id}/hold", data={"seats": ["A1"]})
    assert page.status_code == 409
    assert "cancelled" in page.get_data(as_text=True)


def test_the_show_cancelled_message_is_delivered(app, client, make_show, admin_headers):
    show_id = make_show(title="Nosferatu", **PRICED)["id"]
    held = hold_ok(client, show_id, ["A1", "A3"], email="ana@example.com")
    client.post(f"/api/shows/{show_id}/cancel", headers=admin_headers)
    [(outbox_id,)] = run_sql(app, "SELECT id FROM outbox WHERE kind = 'show_cancelled'")
    with app.app_context():
        assert jobs.send_confirmation(outbox_id)["status"] == "SENT"
        assert jobs.send_confirmation(outbox_id)["status"] == "not due"  # delivered once
    path = Path(app.config["MAILBOX_DIR"]) / f"show-cancelled-{held['booking']['id']}.eml"
    message = message_from_bytes(path.read_bytes())
    assert message["To"] == "ana@example.com"
    assert "cancelled" in message["Subject"]
    text = message.get_payload(decode=True).decode()
    assert "Nosferatu" in text and "A1, A3" in text and "€23.50" in text


def test_admin_token_cancels_any_booking(app, client, make_show, admin_headers):
    show_id = make_show()["id"]
    first = hold_ok(client, show_id, ["A1"])["booking"]["id"]
    second = hold_ok(client, show_id, ["A2"])["booking"]["id"]
    by_post = client.post(f"/api/bookings/{first}/cancel", headers=admin_headers)
    assert by_post.status_code == 200 and by_post.get_json()["status"] == "CANCELLED"
    by_delete = client.delete(f"/api/bookings/{second}", headers=admin_headers)
    assert by_delete.status_code == 200 and by_delete.get_json()["status"] == "CANCELLED"
    # The admin token cancels; it does not confirm, nor read a booking.
    third = hold_ok(client, show_id, ["A3"])["booking"]["id"]
    assert_problem(client.post(f"/api/bookings/{third}/confirm", headers=admin_headers), 403)
    assert_problem(client.get(f"/api/bookings/{third}", headers=admin_headers), 403)
    assert_problem(client.delete(f"/api/bookings/{third}", headers=bearer("not-the-admin")), 403)
    assert_problem(
        client.delete("/api/bookings/00000000-0000-0000-0000-000000000000", headers=admin_headers), 404
    )


def test_admin_pages_cancel_a_booking_and_a_show(app, client, make_show):
    show_id = make_show()["id"]
    booking_id = hold_ok(client, show_id, ["B2"], email="ana@example.com")["booking"]["id"]
    sign_in(client)
    page = client.get(f"/admin/shows/{show_id}").get_data(as_text=True)
    assert f'data-cancel-booking="{booking_id}"' in page and 'name="csrf_token"' in page
    assert client.post(f"/admin/bookings/{booking_id}/cancel", data={"show_id": show_id}).status_code == 303
    assert run_sql(app, "SELECT status FROM bookings") == [("CANCELLED",)]

    hold_ok(client, show_id, ["C1"], email="bo@example.com")
    confirm_page = client.get(f"/admin/shows/{show_id}/cancel")
    assert confirm_page.status_code == 200
    assert 'id="confirm-cancel-show"' in confirm_page.get_data(as_text=True)
    assert run_sql(app, "SELECT status FROM shows") == [("SCHEDULED",)]  # looking is not cancelling
    assert client.post(f"/admin/shows/{show_id}/cancel").status_code == 303
    assert run_sql(app, "SELECT status FROM shows") == [("CANCELLED",)]
    assert run_sql(app, "SELECT count(*) FROM outbox WHERE kind = 'show_cancelled'") == [(1,)]
    after = client.get(f"/admin/shows/{show_id}").get_data(as_text=True)
    assert 'id="show-cancelled"' in after and 'id="cancel-show"' not in after

    visitor = app.test_client()
    assert visitor.post(f"/admin/shows/{show_id}/cancel").status_code == 401  # the sign-in form


def test_map_and_list_say_a_show_is_cancelled(app, client, make_show, admin_headers):
    show_id = make_show()["id"]
    assert 'id="hold-seats"' in client.get(f"/shows/{show_id}").get_data(as_text=True)
    client.post(f"/api/shows/{show_id}/cancel", headers=admin_headers)
    page = client.get(f"/shows/{show_id}").get_data(as_text=True)
    assert 'data-show-status="CANCELLED"' in page
    assert 'id="hold-seats"' not in page and 'id="hold-form"' not in page
    listing = client.get("/").get_data(as_text=True)
    assert 'data-show-status="CANCELLED"' in listing and "Cancelled" in listing


def test_report_counts_seats_and_revenue(app, client, make_show, admin_headers):
    show_id = make_show(**PRICED)["id"]
    for seats in (["A1", "A3"], ["B1", "B2"]):  # 950 + 1400, then 950 + 500
        booked = hold_ok(client, show_id, seats)
        client.post(f"/api/bookings/{booked['booking']['id']}/confirm", headers=bearer(booked["token"]))
    hold_ok(client, show_id, ["A2"])
    lapsed = hold_ok(client, show_id, ["B3"])
    lapse_hold(app, lapsed["booking"]["id"])  # counts as available before the expiry job runs

    report = client.get(f"/api/shows/{show_id}/report", headers=admin_headers)
    assert report.status_code == 200
    assert report.get_json() == {
        "capacity": 8,
        "sold": 4,
        "held": 1,
        "available": 3,
        "checked_in": 0,
        "revenue": {
            "total": 3800,
            "currency": "EUR",
            "by_kind": {"standard": 950, "premium": 1400, "wheelchair": 950, "companion": 500},
        },
    }
    unpriced = make_show()["id"]
    assert client.get(f"/api/shows/{unpriced}/report", headers=admin_headers).get_json()["revenue"] == {
        "total": None,
        "currency": None,
        "by_kind": {},
    }
    sign_in(client)
    page = client.get(f"/admin/shows/{show_id}").get_data(as_text=True)
    assert 'id="occupancy-bar"' in page
    assert 'data-report="sold">4<' in page and 'data-report="available">3<' in page
    assert "€38.00" in page


def test_checked_in_waits_for_tickets(app):
    with app.app_context():
        assert checked_in_count(db.session, 1) == 0


def test_csv_export_has_a_row_per_booking_and_defuses_formulas(app, client, make_show):
    show_id = make_show(**PRICED)["id"]
    first = hold_ok(client, show_id, ["A1", "A2"], email="ana@example.com")
    client.post(f"/api/bookings/{first['booking']['id']}/confirm", headers=bearer(first["token"]))
    run_sql(app, "UPDATE bookings SET email = '=HYPERLINK(\"x\")@evil.example' WHERE id = :id",
            id=first["booking"]["id"])  # fmt: skip
    second = hold_ok(client, show_id, ["B3"])
    sign_in(client)

    response = client.get(f"/admin/shows/{show_id}/bookings.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["id", "status", "seats", "total", "email", "created", "confirmed", "cancelled"]
    assert [row[:5] for row in rows[1:]] == [
        [first["booking"]["id"], "CONFIRMED", "A1 A2", "1900", '\'=HYPERLINK("x")@evil.example'],
        [second["booking"]["id"], "PENDING", "B3", "950", ""],
    ]
    assert rows[1][6] and not rows[2][6]  # confirmed at, for the confirmed one only
    stranger = app.test_client().get(f"/admin/shows/{show_id}/bookings.csv")
    assert stranger.mimetype == "text/html" and "ana@" not in stranger.get_data(as_text=True)  # sign-in form


def test_defuse_spreadsheet_formulas():
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert defuse(dangerous) == "'" + dangerous
    assert defuse("ana@example.com") == "ana@example.com"
    assert defuse(None) == ""
    assert defuse(950) == "950"


def test_cancelling_a_show_voids_its_tickets_and_keeps_who_came_in(client, make_show, admin_headers):
    show_id = make_show(rows=1, seats_per_row=4)["id"]
    tickets = []
    for seats in (["A1"], ["A2", "A3"]):
        held = hold_ok(client, show_id, seats)
        booking_id = held["booking"]["id"]
        confirmed = client.post(f"/api/bookings/{booking_id}/confirm", headers=bearer(held["token"]))
        tickets.append(confirmed.get_json()["tickets"])
    came_in = client.post("/api/checkins", json={"code": tickets[0][0]["code"]}, headers=admin_headers)
    assert came_in.status_code == 200

    assert client.post(f"/api/shows/{show_id}/cancel", headers=admin_headers).status_code == 200
    for ticket in tickets[1]:
        refused = client.post("/api/checkins", json={"code": ticket["code"]}, headers=admin_headers)
        assert_problem(refused, 409, "ticket_void")
    # The show is off: even the ticket already used admits nobody again...
    again = client.post("/api/checkins", json={"code": tickets[0][0]["code"]}, headers=admin_headers)
    assert_problem(again, 409, "ticket_void")
    # ...but the record of who came in stays.
    report = client.get(f"/api/shows/{show_id}/report", headers=admin_headers).get_json()
    assert report["checked_in"] == 1
    assert report["sold"] == 0
