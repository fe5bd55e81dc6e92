"""Playwright fixtures: Debian's Chromium, one context per visitor, console checks.

The browser is the distribution's Chromium (``/usr/bin/chromium`` or
``CHROMIUM_PATH``), installed by ``make test`` (scripts/ensure-chromium.sh);
``playwright install`` is never needed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import ADMIN_TOKEN
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright
from support.processes import Server, start_gunicorn, stop_process

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


class Visitor:
    """One browser context (its own cookies, so its own session) and its page."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.page: Page = context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        # A CSP violation or a script error shows up here; a 4xx page we
        # asked for on purpose does too, as "Failed to load resource".
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.problems.append(message.text)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)


@pytest.fixture
def visitors(browser: Browser) -> Iterator[Callable[..., Visitor]]:
    """Make visitors (browser contexts); at the end, none may have logged an error."""
    made: list[Visitor] = []

    def make(server: Server, **options: Any) -> Visitor:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        visitor = Visitor(browser.new_context(**options), server.url)
        made.append(visitor)
        return visitor

    yield make
    problems = [p for v in made for p in v.problems]
    for visitor in made:
        visitor.context.close()
    assert not problems, f"browser console errors: {problems}"


def api_show(server: Server, **fields: Any) -> dict[str, Any]:
    body = {"title": "Test Show", "starts_at": "2099-01-01T20:00:00+00:00", "rows": 4, "seats_per_row": 6}
    body.update(fields)
    response = server.post("/api/shows", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 201, response.text
    return response.json()


def api_hold(server: Server, show_id: int, seats: list[str]) -> dict[str, Any]:
    response = server.post("/api/bookings", json={"show_id": show_id, "seats": seats})
    assert response.status_code == 201, response.text
    return response.json()


def api_settle(server: Server, held: dict[str, Any], action: str) -> requests.Response:
    response = server.post(
        f"/api/bookings/{held['booking']['id']}/{action}",
        headers={"Authorization": f"Bearer {held['token']}"},
    )
    assert response.status_code == 200, response.text
    return response


@pytest.fixture(scope="module")
def short_hold_server(_live_server_process: Server, test_env: dict[str, str]) -> Iterator[Server]:
    """A second gunicorn on the same test database whose holds last 3 seconds."""
    server = start_gunicorn(
        {**test_env, "HOLD_SECONDS": "3", "MAX_HELD_SEATS_PER_VISITOR": "0"}, workers=2, threads=4
    )
    yield server
    stop_process(server.process)
