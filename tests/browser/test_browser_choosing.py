"""Choosing seats in a real browser: best available, the single-seat-gap warning, more time."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import api_show

pytestmark = pytest.mark.browser

BOOKING_URL = re.compile(r".*/bookings/[0-9a-f-]{36}$")


def seat(page, label: str):
    return page.locator(f'button[data-seat="{label}"]')


def test_best_available_holds_the_best_pair(live_server, visitors):
    show = api_show(live_server, title="Best Seats", rows=10, seats_per_row=12)
    ana = visitors(live_server)
    ana.goto(f"/shows/{show['id']}")
    expect(ana.page.locator("#hold-seats")).to_be_disabled()  # nothing picked: best available still works
    ana.page.select_option("#best-quantity", "2")
    ana.page.click("#best-available")
    expect(ana.page).to_have_url(BOOKING_URL)
    expect(ana.page.locator(".facts__seats")).to_have_text("G6, G7")
    expect(ana.page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "PENDING")


def test_the_map_warns_before_a_hold_that_would_strand_a_seat(live_server, visitors):
    show = api_show(live_server, title="No Gaps", rows=1, seats_per_row=6, no_single_seat_gaps=True)
    ana = visitors(live_server)
    ana.goto(f"/shows/{show['id']}")
    warning = ana.page.locator("#gap-warning")
    expect(warning).to_have_attribute("aria-live", "polite")
    seat(ana.page, "A2").click()
    expect(warning).to_contain_text("A1")
    expect(seat(ana.page, "A1")).to_have_class(re.compile(r"\bseat--stranded\b"))
    # The server says the same if she holds anyway, and the map marks the same seat.
    ana.page.click("#hold-seats")
    expect(ana.page.locator("#map-message")).to_contain_text("A1")
    expect(seat(ana.page, "A1")).to_have_class(re.compile(r"\bseat--stranded\b"))
    expect(seat(ana.page, "A2")).to_have_attribute("aria-pressed", "true")
    # Taking A1 too strands nobody: the warning goes, and the hold goes through.
    seat(ana.page, "A1").click()
    expect(warning).to_have_text("")
    expect(ana.page.locator(".seat--stranded")).to_have_count(0)
    ana.page.click("#hold-seats")
    expect(ana.page).to_have_url(BOOKING_URL)
    expect(ana.page.locator(".facts__seats")).to_have_text("A1, A2")


def test_more_time_restarts_the_countdown_once(live_server, visitors):
    """HOLD_SECONDS is 10 here: wait until the countdown has run a little, then extend."""
    show = api_show(live_server, title="More Time", rows=2, seats_per_row=4)
    ana = visitors(live_server)
    ana.goto(f"/shows/{show['id']}")
    seat(ana.page, "A1").click()
    ana.page.click("#hold-seats")
    expect(ana.page).to_have_url(BOOKING_URL)
    countdown = ana.page.locator("#countdown")
    ana.page.wait_for_function(
        "() => parseInt(document.getElementById('countdown').textContent, 10) <= 7", timeout=15_000
    )
    ana.page.click("#extend-hold")
    expect(ana.page.locator("#panel-notice")).to_contain_text("Extended")
    ana.page.wait_for_function(
        "() => parseInt(document.getElementById('countdown').textContent, 10) >= 9", timeout=5_000
    )
    expect(ana.page.locator("#extend-hold")).to_have_count(0)
    expect(ana.page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "PENDING")
    expect(countdown).to_have_attribute("data-ms-left", re.compile(r"^[0-9]{4,5}$"))
