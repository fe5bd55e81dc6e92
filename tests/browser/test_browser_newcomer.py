"""The newcomer's path: `make run` exactly as a new user starts it, then a booking in the browser.

No SECRET_KEY, no APP_ENV, the default number of gunicorn workers: the way
README tells a newcomer to start Marquee. Every other browser test starts
gunicorn with a key of its own, which once hid that each worker made up a
different key (a session signed by one worker was refused by the next, and
most holds failed with "The CSRF session token is missing").

Only what keeps the test away from the developer's own data is set: a
database, a Redis key prefix and queue, a port and a mailbox of its own.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from conftest import BASE_DATABASE_URL, TEST_REDIS_URL, _admin_dsn
from playwright.sync_api import expect
from sqlalchemy.engine import make_url
from support.processes import ROOT, Server, free_port, stop_process

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOOKING_URL_PATTERN = re.compile(r".*/bookings/[0-9a-f-]{36}$")

#: Variables a newcomer's shell does not have, or that `make test` set for the suite.
_NOT_A_NEWCOMERS = ("SECRET_KEY", "APP_ENV", "WEB_CONCURRENCY", "WEB_THREADS", "ADMIN_TOKEN",
                    "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "WORKER_LOG_LEVEL", "SEED_DEMO")  # fmt: skip


@dataclass
class Console:
    """What `make run` printed, line by line, as it printed it."""

    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, stream) -> None:
        for raw in iter(stream.readline, b""):
            with self.lock:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def since(self, mark: int) -> list[str]:
        with self.lock:
            return self.lines[mark:]

    def mark(self) -> int:
        with self.lock:
            return len(self.lines)

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines[-80:])


@dataclass
class MakeRun:
    server: Server
    console: Console
    redis_prefix: str


def _database_url(name: str) -> str:
    return (
        make_url(BASE_DATABASE_URL)
        .set(drivername="postgresql+psycopg", database=name)
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def make_run(tmp_path: Path) -> Iterator[MakeRun]:
    database = f"marquee_newcomer_{os.getpid()}_{secrets.token_hex(3)}"
    database_url = _database_url(database)
    prefix = f"marquee-newcomer-{secrets.token_hex(4)}:"
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in _NOT_A_NEWCOMERS}
    env.update(
        {
            "DATABASE_URL": database_url,  # make run creates it
            "REDIS_URL": TEST_REDIS_URL,
            "REDIS_KEY_PREFIX": prefix,
            "RQ_QUEUE": f"{prefix}jobs",
            "PORT": str(port),
            "MAILBOX_DIR": str(tmp_path / "mailbox"),
        }
    )
    process = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    console = Console()
    reader = threading.Thread(target=console.read, args=(process.stdout,), daemon=True)
    reader.start()
    server = Server(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 180  # a first run may install packages and migrate
        while True:
            assert process.poll() is None, f"make run exited with {process.returncode}:\n{console.text()}"
            try:
                if requests.get(server.url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"make run did not serve /healthz:\n{console.text()}"
            time.sleep(0.2)
        yield MakeRun(server, console, prefix)
    finally:
        # Ctrl-C's path: run-all.sh stops web, worker and scheduler and exits.
        stop_process(process, timeout=45)
        reader.join(timeout=5)
        with psycopg.connect(_admin_dsn(database_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        client = redis.Redis.from_url(TEST_REDIS_URL)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def _book_two_seats(visitor, seats: tuple[str, str]) -> None:
    page = visitor.page
    visitor.goto("/")
    page.locator("a[data-show-id]").first.click()
    expect(page.locator("#hold-seats")).to_be_disabled()
    for label in seats:
        page.locator(f'button[data-seat="{label}"]').click()
        expect(page.locator(f'button[data-seat="{label}"]')).to_have_attribute("aria-pressed", "true")
    page.click("#hold-seats")
    expect(page).to_have_url(BOOKING_URL_PATTERN)
    expect(page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "PENDING")
    page.click("#confirm-booking")
    expect(page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "CONFIRMED")
    expect(page.locator(".facts__seats")).to_have_text(", ".join(seats))


def test_a_newcomer_books_in_the_browser_under_make_run_and_the_console_stays_quiet(
    make_run: MakeRun, visitors
) -> None:
    # Several bookings, each a handful of requests spread over the default
    # workers (2 per core): with a key per worker, one of them would fail.
    ana = visitors(make_run.server)
    for seats in (("E5", "E6"), ("F5", "F6"), ("G1", "G2")):
        _book_two_seats(ana, seats)
    bo = visitors(make_run.server)  # another visitor, another session
    _book_two_seats(bo, ("H3", "H4"))
    for visitor in (ana, bo):
        visitor.page.close()  # no open seat map polling any more

    # Idle now. The relay job runs every few seconds; wait for two runs
    # (counted in Redis by the jobs themselves) and read what was printed.
    client = redis.Redis.from_url(TEST_REDIS_URL)
    runs_key = f"{make_run.redis_prefix}jobs:runs"

    def relay_runs() -> int:
        return int(client.hget(runs_key, "relay_outbox") or 0)

    quiet_from, runs_before = make_run.console.mark(), relay_runs()
    deadline = time.monotonic() + 60
    while relay_runs() < runs_before + 2:
        assert time.monotonic() < deadline, f"the relay job stopped running:\n{make_run.console.text()}"
        time.sleep(0.2)
    printed = make_run.console.since(quiet_from)
    job_lines = [line for line in printed if re.match(r"^\S*(worker|scheduler)\s*\|", line)]
    assert not job_lines, "an idle worker or scheduler printed:\n" + "\n".join(job_lines)
    assert len(printed) <= 3, "an idle make run printed:\n" + "\n".join(printed)
