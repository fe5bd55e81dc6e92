"""Holds racing a show cancel, at a real gunicorn: no hold survives the cancel.

The hold statement reads the show row FOR KEY SHARE (only while SCHEDULED)
and the cancel takes it FOR UPDATE, so a hold either finishes before the
cancel (and is cancelled with the rest) or runs after it and finds the show
cancelled. These tests fire real parallel requests and then read the rows.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import requests
from flask import Flask
from invariants import assert_seat_invariants
from racing import ADMIN_HEADERS, HTTP_TIMEOUT_S, Api, fire_together, seat_row_lock, wait_for_lock_waiters
from support.database import run_sql
from support.processes import Server

pytestmark = pytest.mark.slow


@pytest.fixture
def api(live_server: Server) -> Api:
    return Api(live_server.url)


def cancel(api: Api, show_id: int) -> requests.Response:
    return requests.post(
        f"{api.base_url}/api/shows/{show_id}/cancel", headers=ADMIN_HEADERS, timeout=HTTP_TIMEOUT_S
    )


def assert_nothing_live(app: Flask, show_id: int) -> None:
    """The cancelled show has no live booking and no taken seat, and the seat rules still hold."""
    live = run_sql(
        app,
        "SELECT count(*) FROM bookings WHERE show_id = :id AND status IN ('PENDING', 'CONFIRMED')",
        id=show_id,
    )
    taken = run_sql(
        app, "SELECT count(*) FROM seats WHERE show_id = :id AND status <> 'AVAILABLE'", id=show_id
    )
    assert live == [(0,)] and taken == [(0,)]
    assert run_sql(app, "SELECT status FROM shows WHERE id = :id", id=show_id) == [("CANCELLED",)]
    assert_seat_invariants(app)


def test_parallel_holds_never_survive_a_cancel(app: Flask, api: Api, figures: Any) -> None:
    show_id = api.create_show(rows=10, seats_per_row=8)
    labels = [f"{row}{number}" for row in "ABCDEFGHIJ" for number in range(1, 9)]
    calls: list[Callable[[], requests.Response]] = [
        lambda label=label: api.hold(show_id, [label]) for label in labels[:39]
    ]
    calls.insert(20, lambda: cancel(api, show_id))  # in the middle of the burst

    responses = fire_together(calls)

    cancelled = responses.pop(20)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    outcomes = Counter(
        (r.status_code, r.json().get("code") if r.status_code != 201 else None) for r in responses
    )
    assert set(outcomes) <= {(201, None), (409, "show_cancelled")}, outcomes
    figures.record("holds before the cancel (then cancelled), refused after it", dict(outcomes))
    for response in responses:
        if response.status_code == 201:  # held before the cancel took the show: cancelled with it
            booking = api.booking(response.json()["booking"]["id"], response.json()["token"])
            assert booking["status"] == "CANCELLED"
    assert_nothing_live(app, show_id)


def test_a_hold_in_flight_finishes_first_and_a_later_one_is_refused(
    app: Flask, api: Api, database_url: str
) -> None:
    """Deterministic interleaving: a hold stuck on a seat lock holds the show FOR KEY SHARE,
    so the cancel waits for it; the cancel then cancels its booking too."""
    show_id = api.create_show(rows=2, seats_per_row=4)
    results: dict[str, Any] = {}

    def run(name: str, call: Callable[[], requests.Response]) -> threading.Thread:
        thread = threading.Thread(target=lambda: results.__setitem__(name, call()))
        thread.start()
        return thread

    with seat_row_lock(database_url, show_id, ["A1"]):
        in_flight = run("in_flight", lambda: api.hold(show_id, ["A1"]))
        wait_for_lock_waiters(database_url, 1)  # the hold waits on A1, holding the show FOR KEY SHARE
        cancelling = run("cancel", lambda: cancel(api, show_id))
        wait_for_lock_waiters(database_url, 2)  # the cancel waits for the hold's KEY SHARE
        assert "cancel" not in results
    in_flight.join(HTTP_TIMEOUT_S)
    cancelling.join(HTTP_TIMEOUT_S)

    assert results["in_flight"].status_code == 201
    held = results["in_flight"].json()
    assert results["cancel"].status_code == 200
    assert api.booking(held["booking"]["id"], held["token"])["status"] == "CANCELLED"
    later = api.hold(show_id, ["A2"])
    assert later.status_code == 409 and later.json()["code"] == "show_cancelled"
    assert_nothing_live(app, show_id)
