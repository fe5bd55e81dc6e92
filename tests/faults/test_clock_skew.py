"""Fault (f): app servers whose clocks are an hour off change nothing.

Holds lapse by the database's clock, not by the app server's: a web server
or a job worker an hour ahead must not lapse holds early, one an hour
behind must not keep them late, and pages must count down the database's
seconds. Real skew in real processes, not a patched Python: gunicorn and
the expiry job run with a small LD_PRELOAD library (skewclock.c, built here
with the system's C compiler) that moves their wall clock (time.time(),
datetime.now(), the HTTP Date header) and leaves the monotonic clock alone,
as on a server whose NTP has drifted. skewclock.c says why not libfaketime.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
from conftest import Figures
from flask import Flask
from invariants import assert_seat_invariants
from racing import ADMIN_HEADERS, Api
from support.database import libpq_dsn
from support.processes import ROOT, Server, start_gunicorn, stop_process

pytestmark = pytest.mark.faults

HOLD_SECONDS = 4
SKEWS = {"ahead": timedelta(hours=1), "behind": timedelta(hours=-1)}


@pytest.fixture(scope="session")
def skewclock(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The LD_PRELOAD library, built for this run."""
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        pytest.fail("no C compiler: `make test-faults` installs one (scripts/ensure-cc.sh)")
    library = tmp_path_factory.mktemp("skewclock") / "libskewclock.so"
    subprocess.run(
        [
            compiler,
            "-shared",
            "-fPIC",
            "-O2",
            "-o",
            str(library),
            str(Path(__file__).with_name("skewclock.c")),
            "-ldl",
        ],
        check=True,
        timeout=120,
    )
    return str(library)


def skewed(env: dict[str, str], library: str, skew: timedelta) -> dict[str, str]:
    """``env`` for a process whose wall clock is ``skew`` off."""
    return {**env, "LD_PRELOAD": library, "SKEWCLOCK_SECONDS": str(int(skew.total_seconds()))}


def database_now(database_url: str) -> datetime:
    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    return row[0]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(params=sorted(SKEWS), ids=sorted(SKEWS))
def skew(request: pytest.FixtureRequest) -> timedelta:
    return SKEWS[request.param]


@pytest.fixture
def skewed_server(app: Flask, test_env: dict[str, str], skewclock: str, skew: timedelta) -> Iterator[Server]:
    env = {**test_env, "HOLD_SECONDS": str(HOLD_SECONDS), "MAX_HELD_SEATS_PER_VISITOR": "0"}
    server = start_gunicorn(skewed(env, skewclock, skew), workers=1, threads=4)
    yield server
    stop_process(server.process)


def _assert_clock_is_off(server: Server, offset: timedelta) -> timedelta:
    """The server's own wall clock (its Date header) really is ``offset`` off; returns the skew."""
    response = server.get("/healthz")
    measured = parsedate_to_datetime(response.headers["Date"]) - datetime.now(UTC)
    assert abs(measured - offset) < timedelta(seconds=5), f"server clock off by {measured}, not {offset}"
    return measured


class WebVisitor:
    """A browser-less visitor of the HTML pages: a session cookie and the CSRF token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()

    def page(self, path: str) -> str:
        response = self.session.get(self.base_url + path, timeout=30)
        assert response.status_code == 200, response.text[:500]
        return response.text

    def hold(self, show_id: int, labels: list[str]) -> tuple[str, str]:
        """Hold through the form; returns (booking id, booking page HTML)."""
        form = self.page(f"/shows/{show_id}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token, "no CSRF token on the show page"
        response = self.session.post(
            f"{self.base_url}/shows/{show_id}/hold",
            data={"csrf_token": token.group(1), "seats": labels},
            timeout=30,
        )
        assert response.status_code == 200, response.text[:500]
        booking = re.search(r"/bookings/([0-9a-f-]{36})$", response.url)
        assert booking, response.url
        return booking.group(1), response.text


def _create_show(api: Api, starts_at: datetime) -> int:
    body = {"title": "Skew", "starts_at": starts_at.isoformat(), "rows": 4, "seats_per_row": 6}
    response = requests.post(api.base_url + "/api/shows", json=body, headers=ADMIN_HEADERS, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _booking(api: Api, hold: dict[str, Any]) -> dict[str, Any]:
    return api.booking(hold["booking"]["id"], hold["token"])


def _seat(api: Api, show_id: int, label: str) -> dict[str, Any]:
    status, listing = api.get(f"/api/shows/{show_id}/seats")
    assert status == 200, listing
    (seat,) = [s for s in listing["seats"] if s["seat"] == label]
    return seat


def test_holds_lapse_by_database_time_on_a_skewed_web_server(
    app: Flask, skewed_server: Server, skew: timedelta, database_url: str, figures: Figures
) -> None:
    skew_measured = _assert_clock_is_off(skewed_server, skew)
    api = Api(skewed_server.url)
    show_id = _create_show(api, datetime(2099, 1, 1, 20, tzinfo=UTC))

    # A hold lasts HOLD_SECONDS from the database's now(), not the server's.
    before = database_now(database_url)
    held = api.hold(show_id, ["A1"])
    after = database_now(database_url)
    assert held.status_code == 201, held.text
    hold = held.json()
    expires_at = parse_time(hold["booking"]["hold_expires_at"])
    created_at = parse_time(hold["booking"]["created_at"])
    assert before <= created_at <= after
    assert expires_at - created_at == timedelta(seconds=HOLD_SECONDS)

    # Right away it is PENDING everywhere (an app clock an hour ahead would
    # call it EXPIRED), and it can be confirmed.
    assert _booking(api, hold)["status"] == "PENDING"
    seat = _seat(api, show_id, "A1")
    assert seat["status"] == "HELD" and parse_time(seat["hold_expires_at"]) == expires_at
    assert api.get(f"/api/shows/{show_id}/seats/stats")[1]["held"] == 1
    other = api.hold(show_id, ["B1"]).json()
    confirmed = api.act("confirm", other["booking"]["id"], other["token"])
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "CONFIRMED", confirmed.text

    # The booking page counts down the database's seconds.
    visitor = WebVisitor(skewed_server.url)
    _, page = visitor.hold(show_id, ["C1"])
    assert 'data-booking-status="PENDING"' in page
    ms_left = int(re.search(r'data-ms-left="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert (HOLD_SECONDS - 2) * 1000 <= ms_left <= HOLD_SECONDS * 1000, ms_left

    # Read the seat map shortly before the lapse (the snapshot is cached)...
    time.sleep(max(0.0, (expires_at - database_now(database_url)).total_seconds() - 0.7))
    assert _seat(api, show_id, "A1")["status"] == "HELD"
    # ...and just after it: everyone sees the lapse at once, by database time
    # (an app clock an hour behind would keep the hold for another hour).
    time.sleep(max(0.0, (expires_at - database_now(database_url)).total_seconds() + 0.2))
    seat = _seat(api, show_id, "A1")
    assert seat == {**seat, "status": "AVAILABLE", "hold_expires_at": None}
    lapsed = _booking(api, hold)
    assert lapsed["status"] == "EXPIRED" and parse_time(lapsed["expired_at"]) == expires_at
    late = api.act("confirm", hold["booking"]["id"], hold["token"])
    assert late.status_code == 409 and late.json()["code"] == "hold_expired", late.text
    again = api.hold(show_id, ["A1"])
    assert again.status_code == 201, again.text
    assert_seat_invariants(app)

    figures.record("server clock skew (s)", skew_measured.total_seconds())
    figures.record("booking page ms left right after the hold", ms_left)


def test_show_start_is_judged_by_database_time(
    app: Flask, skewed_server: Server, skew: timedelta, database_url: str
) -> None:
    """An hour ahead, a show starting in half an hour is not over yet; an hour
    behind, a show that started half an hour ago is over. API and pages agree."""
    api = Api(skewed_server.url)
    now = database_now(database_url)
    soon = _create_show(api, now + timedelta(minutes=30))
    begun = _create_show(api, now - timedelta(minutes=30))

    assert api.hold(soon, ["A1"]).status_code == 201
    refused = api.hold(begun, ["A1"])
    assert refused.status_code == 409 and refused.json()["code"] == "show_started", refused.text

    visitor = WebVisitor(skewed_server.url)
    assert "data-started" not in visitor.page(f"/shows/{soon}")
    assert "data-started" in visitor.page(f"/shows/{begun}")


# --- the expiry job on a skewed worker -----------------------------------------------


def _run_expiry_job(env: dict[str, str]) -> dict[str, int]:
    """One run of the real job in a process of its own, as an RQ work horse runs it."""
    code = "import json; from webapp.jobs import expire_holds; print(json.dumps(expire_holds()))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_expiry_job_on_a_skewed_worker_expires_exactly_the_overdue_holds(
    app: Flask,
    live_server: Server,
    test_env: dict[str, str],
    skewclock: str,
    skew: timedelta,
    database_url: str,
    redis_conn: redis.Redis,
    redis_prefix: str,
) -> None:
    api = Api(live_server.url)
    show_id = _create_show(api, datetime(2099, 1, 1, 20, tzinfo=UTC))
    # Due in half an hour, overdue by half an hour, overdue by a second: a
    # job trusting a clock an hour ahead would expire the first; one an hour
    # behind would leave the other two.
    due_in = {"A1": "30 minutes", "A2": "-30 minutes", "A3": "-1 second"}
    bookings = {}
    for label, interval in due_in.items():
        held = api.hold(show_id, [label])
        assert held.status_code == 201, held.text
        bookings[label] = held.json()["booking"]["id"]
        with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
            conn.execute(
                """
                WITH moved AS (
                    UPDATE bookings SET hold_expires_at = now() + %s::interval WHERE id = %s
                    RETURNING id, hold_expires_at
                )
                UPDATE seats SET hold_expires_at = moved.hold_expires_at FROM moved
                WHERE seats.booking_id = moved.id
                """,
                (interval, bookings[label]),
            )

    outcome = _run_expiry_job(skewed(test_env, skewclock, skew))

    with psycopg.connect(libpq_dsn(database_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id::text, status, expired_at IS NOT NULL FROM bookings WHERE show_id = %s", (show_id,)
        ).fetchall()
    status = {booking: (state, stamped) for booking, state, stamped in rows}
    assert status == {
        bookings["A1"]: ("PENDING", False),
        bookings["A2"]: ("EXPIRED", True),
        bookings["A3"]: ("EXPIRED", True),
    }
    assert outcome == {"expired": 2}
    assert_seat_invariants(app)
    # The job really ran with the skewed clock: it stamps its run with it.
    last_run = json.loads(redis_conn.hget(f"{redis_prefix}jobs:last_run", "expire_holds"))
    job_skew = parse_time(last_run["finished_at"]) - datetime.now(UTC)
    assert abs(job_skew - skew) < timedelta(seconds=60), job_skew
