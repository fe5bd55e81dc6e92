"""Request logs and ids: one line per request, X-Request-ID in and out, and into the jobs."""

from __future__ import annotations

import json
import logging
import re

import pytest
from support.api import bearer, hold_ok

from webapp.config import ConfigError, load_config
from webapp.jobs import queue
from webapp.requestlog import JsonFormatter, PlainFormatter, RequestIdFilter

GENERATED = re.compile(r"^[0-9a-f]{32}$")


def request_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "marquee.request"]


def test_every_response_carries_a_request_id(app, client, make_show):
    show_id = make_show()["id"]
    listing = client.get(f"/api/shows/{show_id}/seats")
    answers = [
        listing,
        client.get(
            f"/api/shows/{show_id}/seats", headers={"If-None-Match": listing.headers["ETag"]}
        ),  # fast path
        client.get(f"/shows/{show_id}"),
        client.get("/api/nothing-here"),
        client.get("/healthz"),
    ]
    assert answers[1].status_code == 304
    ids = [answer.headers["X-Request-ID"] for answer in answers]
    assert all(GENERATED.match(i) for i in ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("req-42.a:b_c", True),
        ("a" * 128, True),
        ("a" * 129, False),  # too long
        ("two words", False),
        ("x\u00e9", False),
        ("", False),
        ("<script>", False),
    ],
)
def test_a_client_request_id_is_kept_only_when_plain(client, sent, kept):
    answered = client.get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert (answered == sent) is kept
    if not kept:
        assert GENERATED.match(answered)


def test_one_line_per_request_with_its_fields(app, client, make_show, caplog):
    show_id = make_show()["id"]
    caplog.set_level(logging.INFO, logger="marquee.request")
    caplog.clear()
    client.get(f"/api/shows/{show_id}?cursor=secret", headers={"X-Request-ID": "trace-1"})
    client.post("/api/bookings", json={"show_id": show_id, "seats": ["A1", "A1x"]})
    first, second = request_lines(caplog)
    assert (first.method, first.path, first.status, first.request_id) == (
        "GET",
        f"/api/shows/{show_id}",
        200,
        "trace-1",
    )
    assert first.duration_ms >= 0
    assert "secret" not in first.getMessage()  # never the query string
    assert (second.method, second.status) == ("POST", 422)

    line = json.loads(JsonFormatter().format(first))
    assert {k: line[k] for k in ("method", "path", "status", "request_id")} == {
        "method": "GET",
        "path": f"/api/shows/{show_id}",
        "status": 200,
        "request_id": "trace-1",
    }
    assert isinstance(line["duration_ms"], float) and line["level"] == "INFO"
    assert PlainFormatter().format(first).endswith("request_id=trace-1")


def test_log_format_setting():
    base = {"SECRET_KEY": "k"}
    assert load_config({**base, "APP_ENV": "production"})["LOG_FORMAT"] == "json"
    assert load_config({**base, "APP_ENV": "development"})["LOG_FORMAT"] == "plain"
    assert load_config({**base, "APP_ENV": "test", "LOG_FORMAT": "JSON"})["LOG_FORMAT"] == "json"
    assert load_config({**base, "APP_ENV": "production", "LOG_FORMAT": "plain"})["LOG_FORMAT"] == "plain"
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_config({**base, "LOG_FORMAT": "xml"})


def test_the_request_id_travels_into_the_job_it_enqueues(app, client, make_show, caplog):
    show_id = make_show()["id"]
    held = hold_ok(client, show_id, ["B1"], email="ana@example.com")
    confirmed = client.post(
        f"/api/bookings/{held['booking']['id']}/confirm",
        headers={**bearer(held["token"]), "X-Request-ID": "confirm-trace-7"},
    )
    assert confirmed.status_code == 200
    jobs = [job for job in queue(app).jobs if job.meta.get("request_id") == "confirm-trace-7"]
    assert len(jobs) == 1

    caplog.set_level(logging.INFO, logger="webapp.jobs")
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.addFilter(RequestIdFilter())
    handler.emit = seen.append  # type: ignore[method-assign]
    logging.getLogger("webapp.jobs").addHandler(handler)
    try:
        with app.app_context():
            assert jobs[0].perform()["status"] == "SENT"
    finally:
        logging.getLogger("webapp.jobs").removeHandler(handler)
    sent = [r for r in seen if "sent booking confirmed message" in r.getMessage()]
    assert [r.request_id for r in sent] == ["confirm-trace-7"]
