"""The seat map at desktop and phone width: it fits, and the seats stay tappable.

Set UPDATE_SCREENSHOTS=1 to write docs/seatmap-desktop.png and
docs/seatmap-phone.png (the README shows them); otherwise they go to a
temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import DOCS, api_hold, api_settle, api_show

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", list(WIDTHS))
def test_seat_map_fits_the_screen(live_server, visitors, tmp_path: Path, size: str):
    show = api_show(live_server, title="The Grand Premiere", rows=8, seats_per_row=12, auditorium="Hall 1")
    booked = api_hold(live_server, show["id"], ["D5", "D6", "D7", "D8"])
    api_settle(live_server, booked, "confirm")
    api_settle(live_server, api_hold(live_server, show["id"], ["F1", "F2", "F3"]), "confirm")
    api_hold(live_server, show["id"], ["B9", "B10", "H6", "H7"])

    visitor = visitors(live_server, viewport=WIDTHS[size], device_scale_factor=2 if size == "phone" else 1)
    visitor.goto(f"/shows/{show['id']}")
    page = visitor.page
    for label in ("E6", "E7"):
        page.locator(f'button[data-seat="{label}"]').click()
    expect(page.locator("#hold-seats")).to_have_text("Hold 2 seats")

    # Nothing sticks out sideways, and every seat is a comfortable target
    # (WCAG 2.2 asks for at least 24 by 24 CSS pixels).
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[size]["width"]
    smallest = page.evaluate(
        """Math.min(...[...document.querySelectorAll('button[data-seat]')]
                 .map(b => Math.min(b.getBoundingClientRect().width, b.getBoundingClientRect().height)))"""
    )
    assert smallest >= 24
    last_seat = page.locator('button[data-seat="H12"]').bounding_box()
    assert last_seat is not None and last_seat["x"] + last_seat["width"] <= WIDTHS[size]["width"]

    target = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(exist_ok=True)
    page.screenshot(path=str(target / f"seatmap-{size}.png"), full_page=True)
