"""The admin pages in a browser: sign in with ADMIN_TOKEN, create a show, see its bookings."""

from __future__ import annotations

import re

import pytest
from conftest import ADMIN_TOKEN
from playwright.sync_api import expect

from .conftest import api_hold, api_show

pytestmark = pytest.mark.browser


def test_admin_signs_in_creates_a_show_and_lists_its_bookings(live_server, visitors):
    admin = visitors(live_server)
    page = admin.page
    admin.goto("/admin")
    page.fill("#admin-token", "not-it")
    page.click("button[type=submit]")
    expect(page.locator("#admin-token-error")).to_have_text("That is not the admin token.")

    page.fill("#admin-token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    expect(page.locator("#new-show")).to_be_visible()

    # Mistakes are shown next to their fields, and what was typed stays.
    page.fill("#show-title", "Opening Night")
    page.fill("#show-starts_at", "2099-06-01T20:00")
    page.fill("#show-rows", "27")
    page.click("#create-show")
    expect(page.locator('[data-field-error="rows"]')).to_have_text("Rows must be between 1 and 26")
    expect(page.locator('[data-field-error="seats_per_row"]')).to_have_text("Seats per row is required")
    expect(page.locator("#show-title")).to_have_value("Opening Night")
    expect(page.locator("#show-rows")).to_have_attribute("aria-invalid", "true")

    page.fill("#show-rows", "5")
    page.fill("#show-seats_per_row", "8")
    page.fill("#show-auditorium", "Hall 3")
    page.click("#create-show")
    expect(page.locator(".alert--success")).to_contain_text("Created show")
    row = page.locator("#admin-shows tbody tr", has_text="Opening Night")
    expect(row).to_contain_text("5 \N{MULTIPLICATION SIGN} 8")

    shows = live_server.get("/api/shows").json()["shows"]
    created = next(s for s in shows if s["title"] == "Opening Night")
    assert created["starts_at"] == "2099-06-01T20:00:00+00:00"
    admin.goto("/")
    expect(page.locator(f'a[data-show-id="{created["id"]}"]')).to_have_text("Opening Night")

    other = api_show(live_server, title="Busy")
    held = api_hold(live_server, other["id"], ["A1", "A2"])
    admin.goto("/admin")
    page.click("#admin-shows a:text('Busy')")
    expect(page.locator("#admin-bookings tbody tr")).to_have_count(1)
    expect(page.locator("#admin-bookings tbody tr")).to_contain_text("A1, A2")
    page.select_option("#status-filter", "CONFIRMED")
    page.click(".filter button")
    expect(page).to_have_url(re.compile(r"status=CONFIRMED"))
    expect(page.locator("#admin-bookings")).to_have_count(0)
    assert held["token"] not in page.content()

    page.click("#admin-sign-out")
    expect(page.locator("#admin-token")).to_be_visible()


def test_admin_reads_the_report_cancels_a_booking_then_the_show(live_server, visitors):
    show = api_show(live_server, title="Doomed")
    first = api_hold(live_server, show["id"], ["A1", "A2"])
    api_hold(live_server, show["id"], ["B1"])
    admin = visitors(live_server)
    page = admin.page
    admin.goto("/admin")
    page.fill("#admin-token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    admin.goto(f"/admin/shows/{show['id']}")
    expect(page.locator("#occupancy-bar")).to_be_visible()
    expect(page.locator('[data-report="held"]')).to_have_text("3")

    page.click(f'[data-cancel-booking="{first["booking"]["id"]}"]')
    expect(page.locator(".alert--success")).to_contain_text("Cancelled booking")
    expect(page.locator('[data-report="held"]')).to_have_text("1")

    page.click("#cancel-show")  # the confirmation step: nothing is cancelled yet
    expect(page.locator("#confirm-cancel-show")).to_be_visible()
    assert live_server.get(f"/api/shows/{show['id']}").json()["status"] == "SCHEDULED"
    page.click("#confirm-cancel-show")
    expect(page.locator("#show-cancelled")).to_be_visible()
    expect(page.locator('[data-report="held"]')).to_have_text("0")
    expect(page.locator("#cancel-show")).to_have_count(0)

    visitor = visitors(live_server)
    visitor.goto(f"/shows/{show['id']}")
    expect(visitor.page.locator("#show-cancelled")).to_be_visible()
    expect(visitor.page.locator("#hold-seats")).to_have_count(0)
