"""Seat plans in a real browser (issue 11): aisles drawn as space, seat kinds
marked, prices in the names and the legend, the running total, the keyboard
across gaps, the page without JavaScript, and the admin's layout editor."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN_TOKEN
from playwright.sync_api import expect

from webapp.cli import DEMO_LAYOUT, DEMO_PRICES

from .conftest import DOCS, api_hold, api_settle

pytestmark = pytest.mark.browser

BOOKING_URL = re.compile(r".*/bookings/[0-9a-f-]{36}$")
HALL = ["ss.ss", "pp.pp", "wc.cw"]
PRICES = {"standard": 950, "premium": 1400, "wheelchair": 950, "companion": 500}


def planned_show(server: Any, **fields: Any) -> dict[str, Any]:
    body = {"title": "Plan", "starts_at": "2099-01-01T20:00:00+00:00", "layout": HALL, "prices": PRICES,
            "currency": "EUR", **fields}  # fmt: skip
    response = server.post("/api/shows", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 201, response.text
    return response.json()


def seat(page, label: str):
    return page.locator(f'button[data-seat="{label}"]')


def test_the_map_draws_the_plan_and_the_total_follows_the_picks(live_server, visitors):
    show = planned_show(live_server)
    ana = visitors(live_server)
    ana.goto(f"/shows/{show['id']}")
    page = ana.page

    # The aisle is drawn as space: A2 to A3 is a seat wider than A1 to A2.
    a1, a2, a3 = (seat(page, label).bounding_box() for label in ("A1", "A2", "A3"))
    step = a2["x"] - a1["x"]
    assert a3["x"] - a2["x"] == pytest.approx(2 * step, abs=2)
    expect(page.locator('.seat-row[aria-label="Row A"] .seat-gap')).to_have_count(1)
    # Kinds: data-kind, a distinct look, an icon, and kind and price in the name.
    wheelchair = seat(page, "C1")
    expect(wheelchair).to_have_attribute("data-kind", "wheelchair")
    expect(wheelchair).to_have_class(re.compile(r"\bseat--wheelchair\b"))
    expect(wheelchair.locator("svg.seat-icon")).to_have_count(1)
    expect(wheelchair).to_have_accessible_name("Row C, seat 1, wheelchair space, €9.50, available")
    expect(seat(page, "C2")).to_have_accessible_name("Row C, seat 2, companion seat, €5.00, available")
    expect(seat(page, "B3")).to_have_accessible_name("Row B, seat 3, premium, €14.00, available")
    expect(seat(page, "B3")).to_have_attribute("data-kind", "premium")
    expect(page.locator('[data-legend-kind="premium"]')).to_contain_text("€14.00")
    expect(page.locator('[data-legend-kind="wheelchair"]')).to_contain_text("€9.50")

    total = page.locator("#selected-total")
    expect(total).to_have_text("€0.00")
    seat(page, "A1").click()
    expect(total).to_have_text("€9.50")
    seat(page, "B3").click()
    expect(total).to_have_text("€23.50")
    seat(page, "A1").click()
    expect(total).to_have_text("€14.00")

    # The keyboard jumps over the aisle, and up and down by column.
    seat(page, "A2").focus()
    page.keyboard.press("ArrowRight")
    expect(seat(page, "A3")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(seat(page, "B3")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(seat(page, "B2")).to_be_focused()

    seat(page, "C1").click()
    seat(page, "C2").click()
    expect(total).to_have_text("€28.50")
    page.click("#hold-seats")
    expect(page).to_have_url(BOOKING_URL)
    expect(page.locator("#booking-total")).to_have_text("€28.50")
    expect(page.locator(".facts__seats")).to_have_text("B3, C1, C2")


def test_the_map_and_its_total_work_without_javascript(live_server, visitors):
    show = planned_show(live_server, currency="JPY", prices={k: v * 2 for k, v in PRICES.items()})
    bo = visitors(live_server, java_script_enabled=False)
    bo.goto(f"/shows/{show['id']}")
    seat(bo.page, "B1").click()  # a submit button: the page comes back with B1 selected
    expect(seat(bo.page, "B1")).to_have_attribute("aria-pressed", "true")
    seat(bo.page, "A4").click()
    expect(bo.page.locator("#selected-total")).to_have_text("¥4,700")
    expect(seat(bo.page, "A4")).to_have_accessible_name("Row A, seat 4, standard, ¥1,900, available")
    bo.page.click("#hold-seats")
    expect(bo.page).to_have_url(BOOKING_URL)
    expect(bo.page.locator("#booking-total")).to_have_text("¥4,700")


def test_a_lone_companion_seat_is_refused_on_the_page(live_server, visitors):
    show = planned_show(live_server)
    cy = visitors(live_server)
    cy.goto(f"/shows/{show['id']}")
    seat(cy.page, "C2").click()
    cy.page.click("#hold-seats")
    expect(cy.page.locator("#map-message")).to_contain_text("wheelchair space")


def test_admin_layout_editor_previews_as_you_type_and_creates_shows_in_it(live_server, visitors):
    admin = visitors(live_server)
    page = admin.page
    admin.goto("/admin")
    page.fill("#admin-token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.click("#admin-auditoriums-link")

    page.fill("#auditorium-name", "Studio 7")
    page.locator("#auditorium-layout").press_sequentially("ss.ss\npp.px", delay=10)
    # The server's own parser answers while typing: the error names row and position.
    expect(page.locator("#plan-preview [data-field-error=layout]")).to_contain_text(
        "row B, position 5: 'x' is not a seat"
    )
    page.locator("#auditorium-layout").press("Backspace")
    page.locator("#auditorium-layout").press_sequentially("p\nwc.cw", delay=10)
    expect(page.locator("#plan-preview [data-capacity]")).to_have_attribute("data-capacity", "12")
    expect(page.locator("#plan-preview .plan-preview__gap")).to_have_count(3)
    page.click("#create-auditorium")
    expect(page.locator(".alert--success")).to_contain_text("Created auditorium Studio 7 (12 seats)")
    expect(page.locator("#admin-auditoriums")).to_contain_text("Studio 7")

    page.click("text=← Admin")
    page.fill("#show-title", "Night in Studio 7")
    page.fill("#show-starts_at", "2099-06-01T20:00")
    page.select_option("#show-auditorium_id", label="Studio 7 (12 seats)")
    page.fill("#show-price_standard", "9.50")
    page.fill("#show-price_premium", "14")
    page.click("#create-show")
    # Prices missing for kinds the plan has are named, and nothing is created.
    expect(page.locator('[data-field-error="prices"]')).to_contain_text("wheelchair, companion")
    page.fill("#show-price_wheelchair", "9.50")
    page.fill("#show-price_companion", "0")
    page.click("#create-show")
    expect(page.locator(".alert--success")).to_contain_text("Created show")
    shows = live_server.get("/api/shows").json()["shows"]
    created = next(s for s in shows if s["title"] == "Night in Studio 7")
    assert created["auditorium"] == "Studio 7"
    assert created["prices"] == {"standard": 950, "premium": 1400, "wheelchair": 950, "companion": 0}
    assert created["layout"] == ["ss.ss", "pp.pp", "wc.cw"]


SCREEN_SIZES = {"desktop": {"width": 1280, "height": 1000}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", list(SCREEN_SIZES))
def test_the_demo_plan_on_desktop_and_phone(live_server, visitors, tmp_path: Path, size: str):
    """The demo auditorium (flask seed-demo) on both screens: seats stay tappable
    and a plan wider than a phone scrolls inside the map, never the page.

    UPDATE_SCREENSHOTS=1 writes docs/seatplan-desktop.png and docs/seatplan-phone.png
    (the README shows them); otherwise they go to a temporary directory."""
    show = planned_show(
        live_server, title="The Grand Premiere", layout=DEMO_LAYOUT, prices=DEMO_PRICES, auditorium="Screen 1"
    )
    api_settle(live_server, api_hold(live_server, show["id"], ["E8", "E9", "E10", "E11"]), "confirm")
    api_hold(live_server, show["id"], ["J4", "J5", "L1", "L2"])
    options: dict[str, Any] = {"viewport": SCREEN_SIZES[size]}
    if size == "phone":
        options.update(device_scale_factor=2, is_mobile=True, has_touch=True)
    visitor = visitors(live_server, **options)
    visitor.goto(f"/shows/{show['id']}")
    page = visitor.page
    for label in ("H8", "H9"):
        seat(page, label).click()
    expect(page.locator("#selected-total")).to_have_text("€28.00")

    assert page.evaluate("document.documentElement.scrollWidth") <= SCREEN_SIZES[size]["width"]
    smallest = page.evaluate(
        """Math.min(...[...document.querySelectorAll('button[data-seat]')]
                 .map(b => Math.min(b.getBoundingClientRect().width, b.getBoundingClientRect().height)))"""
    )
    assert smallest >= 24
    # The centre aisle is on screen: the map starts scrolled to its middle.
    for label in ("H9", "H10"):
        box = seat(page, label).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= SCREEN_SIZES[size]["width"]

    target = DOCS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(exist_ok=True)
    page.screenshot(path=str(target / f"seatplan-{size}.png"), full_page=True)
