"""GET /metrics: Prometheus text, admin only, correct across several gunicorn workers."""

from __future__ import annotations

from typing import Any

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families
from racing import ADMIN_HEADERS, fire_together
from support.api import assert_problem, bearer, hold_ok, lapse_hold, run_sql
from support.processes import start_gunicorn, stop_process


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels: str) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client) -> dict:
    response = client.get("/metrics", headers=bearer("test-admin-token"))
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


def test_metrics_need_the_admin_token(client):
    assert_problem(client.get("/metrics"), 401)
    assert_problem(client.get("/metrics", headers=bearer("nope")), 403)


def test_holds_are_counted_by_outcome(app, client, make_show):
    show_id = make_show()["id"]
    before = scrape(client)
    hold_ok(client, show_id, ["A1"])
    assert client.post("/api/bookings", json={"show_id": show_id, "seats": ["A1"]}).status_code == 409
    after = scrape(client)
    for outcome, more in (("held", 1), ("unavailable", 1)):
        counted = value(after, "marquee_holds_total", outcome=outcome)
        assert counted - value(before, "marquee_holds_total", outcome=outcome) == more
    # Latency by the route's endpoint name, not the path with its ids.
    assert (
        value(after, "marquee_request_duration_seconds_count", endpoint="api.create_booking", method="POST")
        >= 2
    )
    assert not any("/api/" in str(labels) for _, labels in after)


def test_best_available_holds_are_counted_too(client, make_show):
    show_id = make_show(rows=1, seats_per_row=3)["id"]
    best = {"show_id": show_id, "quantity": 2}
    key = {"Idempotency-Key": "best-available-counted-0001"}
    before = scrape(client)
    assert client.post("/api/bookings", json=best, headers=key).status_code == 201
    assert client.post("/api/bookings", json=best, headers=key).status_code == 201  # replayed
    no_pair = client.post("/api/bookings", json=best)
    assert_problem(no_pair, 409, "no_adjacent_seats")
    after = scrape(client)
    for outcome, more in (("held", 1), ("replayed", 1), ("no_adjacent_seats", 1)):
        counted = value(after, "marquee_holds_total", outcome=outcome)
        assert counted - value(before, "marquee_holds_total", outcome=outcome) == more, outcome


def test_gauges_read_the_database_and_redis_when_scraped(app, client, make_show, monkeypatch):
    show_id = make_show()["id"]
    assert value(scrape(client), "marquee_oldest_overdue_hold_seconds") == 0
    lapsed = hold_ok(client, show_id, ["A1"])
    lapse_hold(app, lapsed["booking"]["id"], ago="90 seconds")
    confirmed = hold_ok(client, show_id, ["A2"], email="ana@example.com")
    client.post(f"/api/bookings/{confirmed['booking']['id']}/confirm", headers=bearer(confirmed["token"]))
    dead = hold_ok(client, show_id, ["A3"], email="bo@example.com")
    client.post(f"/api/bookings/{dead['booking']['id']}/confirm", headers=bearer(dead["token"]))
    run_sql(app, "UPDATE outbox SET status = 'DEAD' WHERE booking_id = :id", id=dead["booking"]["id"])

    scraped = scrape(client)
    assert 89 <= value(scraped, "marquee_oldest_overdue_hold_seconds") < 300
    assert value(scraped, "marquee_outbox_backlog") == 1
    assert value(scraped, "marquee_outbox_dead") == 1
    assert value(scraped, "marquee_queue_length") >= 1  # the confirmation's delivery job, not yet run
    assert value(scraped, "marquee_seat_locking_degraded") == 0

    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setitem(app.extensions, "redis", unreachable)
    assert value(scrape(client), "marquee_seat_locking_degraded") == 1


@pytest.mark.slow
def test_counters_add_up_over_several_gunicorn_workers(app, test_env, tmp_path, figures: Any):
    """Each worker counts its own requests; every scrape, whichever worker answers it, sums them all."""
    server = start_gunicorn(
        {**test_env, "MAX_HELD_SEATS_PER_VISITOR": "0", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")},
        workers=3,
        threads=2,
    )
    try:
        create = requests.post(
            f"{server.url}/api/shows",
            json={"title": "Metrics", "starts_at": "2099-01-01T20:00:00Z", "rows": 4, "seats_per_row": 6},
            headers=ADMIN_HEADERS,
            timeout=30,
        )
        show_id = create.json()["id"]
        labels = [f"{row}{n}" for row in "ABCD" for n in range(1, 7)]
        # 24 distinct seats once each, then 12 of them again: 24 held, 12 unavailable.
        calls = [lambda label=label: server.post("/api/bookings", json={"show_id": show_id, "seats": [label]})
                 for label in labels]  # fmt: skip
        first = fire_together(calls)
        again = fire_together(calls[:12])
        assert [r.status_code for r in first] == [201] * 24
        assert [r.status_code for r in again] == [409] * 12

        scrapes = [samples(server.get("/metrics", headers=ADMIN_HEADERS).text) for _ in range(9)]
    finally:
        stop_process(server.process)
    for scraped in scrapes:
        assert value(scraped, "marquee_holds_total", outcome="held") == 24
        assert value(scraped, "marquee_holds_total", outcome="unavailable") == 12
        assert (
            value(
                scraped,
                "marquee_request_duration_seconds_count",
                endpoint="api.create_booking",
                method="POST",
            )
            == 36
        )
    figures.record("holds counted by every scrape (held, unavailable)", (24, 12))
