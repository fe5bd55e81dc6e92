"""Tickets in the browser (issue 13): confirm, open the tickets, then admit a ticket at the door once.

Set UPDATE_SCREENSHOTS=1 to write docs/tickets.png, docs/checkin-admitted.png
and docs/checkin-already-used.png (the README shows them); otherwise they go to
a temporary directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ADMIN_TOKEN
from playwright.sync_api import Route, expect

from .conftest import DOCS

pytestmark = pytest.mark.browser


def test_confirm_see_a_qr_per_seat_then_the_door_admits_once(live_server, visitors, tmp_path: Path):
    target = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(exist_ok=True)
    body = {
        "title": "Metropolis",
        "starts_at": "2099-05-01T19:30:00+00:00",
        "auditorium": "Screen 1",
        "layout": ["pppp", "ssss", "ssss"],
        "prices": {"standard": 950, "premium": 1400},
        "currency": "EUR",
    }
    created = live_server.post("/api/shows", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert created.status_code == 201, created.text
    show = created.json()

    ana = visitors(live_server, viewport={"width": 760, "height": 900})
    ana.goto(f"/shows/{show['id']}")
    for label in ("A2", "A3"):
        ana.page.locator(f'button[data-seat="{label}"]').click()
    ana.page.click("#hold-seats")
    ana.page.click("#confirm-booking")
    expect(ana.page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "CONFIRMED")
    ana.page.click("#view-tickets")

    tickets = ana.page.locator("[data-ticket-code]")
    expect(tickets).to_have_count(2)
    expect(ana.page.locator("[data-ticket-code] svg")).to_have_count(2)
    expect(tickets.first).to_contain_text("A2")
    expect(tickets.first).to_contain_text("€14.00")
    codes = [tickets.nth(i).get_attribute("data-ticket-code") for i in range(2)]
    assert all(code and len(code) == 32 for code in codes)
    ana.page.screenshot(path=str(target / "tickets.png"), full_page=True)

    door = visitors(live_server, viewport={"width": 760, "height": 700})
    door.goto("/admin/checkin")
    door.page.fill("#checkin-token", ADMIN_TOKEN)
    door.page.locator("#checkin-sign-in button[type=submit]").click()
    # checkin.js is running once it has hidden the no-JavaScript "Choose" button; before that a
    # choice would not apply itself (a race this test lost now and then).
    expect(door.page.locator("#checkin-show [data-no-js-only]")).to_be_hidden()
    door.page.select_option("#checkin-show-id", str(show["id"]))  # applies itself (checkin.js)
    expect(door.page).to_have_url(f"{live_server.url}/admin/checkin?show_id={show['id']}")

    code_input = door.page.locator("#checkin-code")
    expect(code_input).to_be_focused()
    result = door.page.locator("#checkin-result")
    # A USB scanner types the code and Enter.
    code_input.press_sequentially(codes[0])
    code_input.press("Enter")
    expect(result).to_have_attribute("data-result", "admitted")
    expect(result).to_contain_text("ADMITTED")
    expect(result).to_contain_text("A2")
    expect(door.page.locator("#checkin-counts")).to_have_attribute("data-admitted", "1")
    expect(code_input).to_have_value("")
    expect(code_input).to_be_focused()
    door.page.screenshot(path=str(target / "checkin-admitted.png"), full_page=True)

    code_input.press_sequentially(codes[0])
    code_input.press("Enter")
    expect(result).to_have_attribute("data-result", "already_checked_in")
    expect(result).to_contain_text("ALREADY USED")
    expect(code_input).to_have_value("")
    door.page.screenshot(path=str(target / "checkin-already-used.png"), full_page=True)

    # A scan that gets no verdict never leaves the last one on screen, and the page stays ready.
    def no_answer(failure: str) -> Callable[[Route], None]:
        def answer(route: Route) -> None:
            if route.request.method != "POST":
                route.continue_()
            elif failure == "network":
                route.abort()
            else:
                route.fulfill(status=503, content_type="text/html", body="<h1>Service unavailable</h1>")

        return answer

    for failure, shown in (("network", "could not be reached"), ("503", "(503)")):
        door.page.route("**/admin/checkin", no_answer(failure))
        code_input.press_sequentially(codes[1])
        code_input.press("Enter")
        expect(result).to_contain_text("NO ANSWER")
        expect(result).to_contain_text(shown)
        expect(result).to_have_attribute("data-result", "")
        expect(code_input).to_have_value("")
        expect(code_input).to_be_focused()
        door.page.unroute("**/admin/checkin")
    # htmx logs the failed fetch this test caused; only that console error is expected.
    door.problems[:] = [problem for problem in door.problems if "htmx:error: Failed to fetch" not in problem]
    code_input.press_sequentially(codes[1])
    code_input.press("Enter")
    expect(result).to_have_attribute("data-result", "admitted")
    expect(result).to_contain_text("A3")
    # A lost session (its cookie gone, so the CSRF check fails) brings the sign-in back, not an error page.
    door.context.clear_cookies()
    code_input.press_sequentially(codes[0])
    code_input.press("Enter")
    expect(door.page.locator("#checkin-sign-in")).to_be_visible()

    # The tickets page shows the admitted tickets as used.
    ana.page.reload()
    expect(ana.page.locator(".ticket--used")).to_have_count(2)
