"""Screenshots of a seat map, desktop and phone, for the README (docs/seatplan-*.png).

Usage: .venv/bin/python scripts/seatplan_screenshots.py http://localhost:8000/shows/1 [docs]
Picks two seats first so the panel shows a running total. Uses the Chromium of
``CHROMIUM_PATH`` or /usr/bin/chromium, as the browser tests do.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def main(url: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        shots = {
            "seatplan-desktop.png": {"viewport": {"width": 1280, "height": 1000}},
            "seatplan-phone.png": {
                "viewport": {"width": 390, "height": 844},
                "device_scale_factor": 2,
                "is_mobile": True,
                "has_touch": True,
            },
        }
        for name, options in shots.items():
            page = browser.new_context(**options).new_page()
            page.goto(url)
            for label in ("H8", "H9"):
                page.locator(f'button[data-seat="{label}"]').click()
            page.screenshot(path=str(out / name), full_page=True)
            print(out / name)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2] if len(sys.argv) > 2 else "docs"))
