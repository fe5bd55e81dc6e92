"""A moviegoer's journeys in a real browser: pick, hold, confirm, cancel, and what can go wrong."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from .conftest import api_show

pytestmark = pytest.mark.browser

BOOKING_URL = re.compile(r".*/bookings/[0-9a-f-]{36}$")


def seat(page, label: str):
    return page.locator(f'button[data-seat="{label}"]')


def test_full_flow_pick_hold_confirm(live_server, visitors):
    show = api_show(live_server, title="Full Flow", rows=3, seats_per_row=5)
    ana = visitors(live_server)
    ana.goto("/")
    ana.page.click(f'a[data-show-id="{show["id"]}"]')
    expect(ana.page).to_have_url(f"{live_server.url}/shows/{show['id']}")

    hold = ana.page.locator("#hold-seats")
    expect(hold).to_be_disabled()
    seat(ana.page, "B2").click()
    seat(ana.page, "B3").click()
    expect(seat(ana.page, "B2")).to_have_attribute("aria-pressed", "true")
    expect(seat(ana.page, "B3")).to_have_attribute("aria-pressed", "true")
    expect(ana.page.locator("#selected-count")).to_have_text("2")
    expect(hold).to_be_enabled()
    expect(hold).to_have_text("Hold 2 seats")
    seat(ana.page, "B3").click()  # changed her mind
    expect(seat(ana.page, "B3")).to_have_attribute("aria-pressed", "false")
    seat(ana.page, "B4").click()
    expect(seat(ana.page, "B2")).to_have_accessible_name("Row B, seat 2, available")

    ana.page.fill("#email", "ana@example.com")
    hold.click()
    expect(ana.page).to_have_url(BOOKING_URL)
    expect(ana.page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "PENDING")
    expect(ana.page.locator(".facts__seats")).to_have_text("B2, B4")
    assert 0 < int(ana.page.locator("#countdown").text_content() or "0") <= 10

    ana.page.click("#confirm-booking")
    expect(ana.page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "CONFIRMED")
    expect(ana.page.locator("[role=status]").first).to_contain_text("Booked: B2, B4")
    seats = {
        s["seat"]: s["status"] for s in live_server.get(f"/api/shows/{show['id']}/seats").json()["seats"]
    }
    assert seats["B2"] == seats["B4"] == "BOOKED"

    ana.goto("/bookings")
    expect(ana.page.locator(".booking-list__item")).to_have_count(1)
    expect(ana.page.locator(".booking-list__item .badge")).to_have_text("CONFIRMED")


def test_two_visitors_race_for_one_seat_and_exactly_one_wins(live_server, visitors):
    show = api_show(live_server, title="Race", rows=2, seats_per_row=4)
    ana, bo = visitors(live_server), visitors(live_server)
    for v in (ana, bo):
        v.goto(f"/shows/{show['id']}")
        seat(v.page, "A3").click()
        expect(seat(v.page, "A3")).to_have_attribute("aria-pressed", "true")
    seat(bo.page, "A4").click()
    # Freeze both maps first: otherwise, on a slow machine, Ana's hold can
    # commit and reach Bo's map through a poll before Bo submits, and his
    # page (rightly) drops A3 from his selection: then both win, with
    # different seats, and there was no race at all. An unchanged map is a 304.
    for v in (ana, bo):
        v.page.route("**/seatmap*", lambda route: route.fulfill(status=304))

    # Both submit at the same moment: requestSubmit() returns at once, so the
    # two POSTs are in flight together, both asking for A3.
    for v in (ana, bo):
        v.page.evaluate("document.getElementById('hold-form').requestSubmit()")
    for v in (ana, bo):  # the winner lands on its booking, the loser on the map again
        # (app.js moves the loser's address from /hold back to the map's, with ?taken=)
        v.page.wait_for_url(re.compile(r".*/bookings/[0-9a-f-]{36}$|.*/shows/\d+(/hold$|\?.*taken=)"))
        v.page.wait_for_load_state("load")

    won = [v for v in (ana, bo) if BOOKING_URL.match(v.page.url)]
    lost = [v for v in (ana, bo) if v not in won]
    assert len(won) == 1 and len(lost) == 1, [v.page.url for v in (ana, bo)]
    loser = lost[0].page
    expect(loser.locator("#map-message")).to_contain_text("A3")
    expect(loser.locator("#map-message")).to_contain_text("just taken")
    expect(seat(loser, "A3")).to_have_class(re.compile(r"\bseat--conflict\b"))
    expect(seat(loser, "A3")).to_have_attribute("data-status", "HELD")
    if lost[0] is bo:  # her other seat stayed selected
        expect(seat(loser, "A4")).to_have_attribute("aria-pressed", "true")
    holders = live_server.get(f"/api/shows/{show['id']}/seats").json()["seats"]
    assert [s["seat"] for s in holders if s["status"] == "HELD"] == (
        ["A3"] if won[0] is ana else ["A3", "A4"]
    )


def test_booking_pages_are_private_to_the_visitor_who_booked(live_server, visitors):
    show = api_show(live_server, title="Private")
    ana, eve = visitors(live_server), visitors(live_server)
    ana.goto(f"/shows/{show['id']}")
    seat(ana.page, "A1").click()
    ana.page.click("#hold-seats")
    expect(ana.page).to_have_url(BOOKING_URL)
    url = ana.page.url

    response = eve.page.goto(url)
    assert response is not None and response.status == 404
    expect(eve.page.locator("[data-booking-status]")).to_have_count(0)
    expect(eve.page.locator("#confirm-booking")).to_have_count(0)
    eve.goto("/bookings")
    expect(eve.page.locator(".booking-list__item")).to_have_count(0)
    # Eve cannot act on it with a form of her own either (her CSRF token is
    # valid, the booking is still not hers).
    status = eve.page.evaluate(
        """async (url) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers:inherited'))['X-CSRFToken'];
            const r = await fetch(url + '/cancel', {method: 'POST', headers: {'X-CSRFToken': token}});
            return r.status;
        }""",
        url,
    )
    assert status == 404
    ana.page.reload()
    expect(ana.page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "PENDING")


def test_seats_can_be_picked_and_held_with_the_keyboard(live_server, visitors):
    show = api_show(live_server, title="Keys", rows=3, seats_per_row=4)
    kim = visitors(live_server)
    kim.goto(f"/shows/{show['id']}")
    page = kim.page

    # Tab from the top of the page reaches the first seat.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.seat") == "A1":
            break
    else:
        pytest.fail("Tab never reached seat A1")
    page.keyboard.press("Space")
    expect(seat(page, "A1")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.seat") == "A2"
    page.keyboard.press("Enter")
    expect(seat(page, "A2")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.seat") == "B2"
    page.keyboard.press("Space")
    page.keyboard.press("Space")  # and off again
    expect(seat(page, "B2")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#selected-count")).to_have_text("2")

    page.locator("#email").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "hold-seats"
    page.keyboard.press("Enter")
    expect(page).to_have_url(BOOKING_URL)
    expect(page.locator(".facts__seats")).to_have_text("A1, A2")


def test_without_javascript_the_whole_flow_works_through_forms(live_server, visitors):
    show = api_show(live_server, title="No Script", rows=2, seats_per_row=4)
    nell = visitors(live_server, java_script_enabled=False)
    nell.goto(f"/shows/{show['id']}")
    page = nell.page
    expect(page.locator("#hold-seats")).to_be_disabled()

    seat(page, "A2").click()  # a plain form submission: the page reloads
    expect(page).to_have_url(re.compile(r"toggle=A2"))
    expect(seat(page, "A2")).to_have_attribute("aria-pressed", "true")
    seat(page, "A3").click()
    expect(seat(page, "A3")).to_have_attribute("aria-pressed", "true")
    expect(seat(page, "A2")).to_have_attribute("aria-pressed", "true")
    seat(page, "A2").click()
    expect(seat(page, "A2")).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#hold-seats")).to_have_text("Hold 1 seat")

    page.click("#hold-seats")
    expect(page).to_have_url(BOOKING_URL)
    expect(page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "PENDING")
    assert int(page.locator("#countdown").text_content() or "0") > 0
    page.click("#confirm-booking")
    expect(page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "CONFIRMED")
    page.click("#cancel-booking")
    expect(page.locator("[data-booking-status]")).to_have_attribute("data-booking-status", "CANCELLED")
    seats = {
        s["seat"]: s["status"] for s in live_server.get(f"/api/shows/{show['id']}/seats").json()["seats"]
    }
    assert seats["A3"] == "AVAILABLE"


def test_countdown_ticks_and_turns_into_expired_without_a_reload(live_server, short_hold_server, visitors):
    show = api_show(short_hold_server, title="Short Hold", rows=2, seats_per_row=3)
    tess, watcher = visitors(short_hold_server), visitors(short_hold_server)
    watcher.goto(f"/shows/{show['id']}")
    tess.goto(f"/shows/{show['id']}")
    seat(tess.page, "B1").click()
    tess.page.click("#hold-seats")
    expect(tess.page).to_have_url(BOOKING_URL)
    page = tess.page
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    first = int(page.locator("#countdown").text_content() or "0")
    assert 1 <= first <= 3
    expect(seat(watcher.page, "B1")).to_have_attribute("data-status", "HELD")
    # (a function, not an expression string: the page's CSP forbids eval)
    page.wait_for_function(
        "(first) => Number(document.getElementById('countdown').textContent) < first", arg=first, timeout=3000
    )

    expect(page.locator("#countdown")).to_have_text("expired", timeout=5000)
    expired_at = time.monotonic()
    expect(page.locator("[data-booking-status]")).to_have_attribute(
        "data-booking-status", "EXPIRED", timeout=3000
    )
    expect(page.locator("#confirm-booking")).to_have_count(0)
    assert page.evaluate("window.__sameDocument") is True
    # The open map frees the seat by time alone (lazy expiry), live.
    expect(seat(watcher.page, "B1")).to_have_attribute("data-status", "AVAILABLE", timeout=3000)
    freed_after = time.monotonic() - expired_at
    print(f"\nexpired seat freed on the open map {freed_after:.2f} s after the countdown hit 0")


def test_the_seat_limit_per_booking_is_enforced_on_the_map(live_server, visitors):
    show = api_show(live_server, title="Limit", rows=2, seats_per_row=6)
    max_seats = 10  # MAX_SEATS_PER_BOOKING's default
    lia = visitors(live_server)
    lia.goto(f"/shows/{show['id']}")
    page = lia.page
    expect(page.locator("#selection-limit")).to_be_hidden()
    labels = [f"{row}{n}" for row in "AB" for n in range(1, 7)]
    for label in labels[:max_seats]:
        seat(page, label).click()
    expect(page.locator("#selected-count")).to_have_text(str(max_seats))
    expect(page.locator("#selection-limit")).to_be_visible()
    seat(page, labels[max_seats]).click()
    expect(seat(page, labels[max_seats])).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#live-message")).to_contain_text(f"at most {max_seats} seats")
    seat(page, "A1").click()  # making room works
    seat(page, labels[max_seats]).click()
    expect(seat(page, labels[max_seats])).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#selected-count")).to_have_text(str(max_seats))
