"""The hold path through the API in-process: the basic contract of holding seats."""

from __future__ import annotations


def hold(client, show_id, seats, **headers):
    return client.post("/api/bookings", json={"show_id": show_id, "seats": seats}, headers=headers)


def test_hold_then_conflict_then_release(client, make_show):
    show = make_show()
    first = hold(client, show["id"], ["A1", "A2"])
    assert first.status_code == 201
    body = first.get_json()
    assert body["booking"]["status"] == "PENDING"
    assert body["booking"]["seats"] == ["A1", "A2"]
    assert first.headers["Location"].endswith(body["booking"]["id"])

    clash = hold(client, show["id"], ["A2", "A3"])
    assert clash.status_code == 409
    assert clash.mimetype == "application/problem+json"
    assert clash.get_json()["code"] == "seats_unavailable"
    assert clash.get_json()["seats"] == ["A2"]

    token = body["token"]
    cancel = client.post(
        f"/api/bookings/{body['booking']['id']}/cancel", headers={"Authorization": f"Bearer {token}"}
    )
    assert cancel.status_code == 200
    assert cancel.get_json()["status"] == "CANCELLED"
    assert hold(client, show["id"], ["A2", "A3"]).status_code == 201
