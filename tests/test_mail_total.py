"""The confirmation e-mail states what the booking costs (issue 11)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from webapp.mail import confirmation_message
from webapp.outbox import Claim


def claim(**fields) -> Claim:
    base = {
        "outbox_id": 1,
        "attempt": 1,
        "booking_id": uuid.UUID(int=7),
        "email": "ana@example.com",
        "show_title": "Metropolis",
        "starts_at": datetime(2099, 5, 1, 17, 30, tzinfo=UTC),
        "auditorium": "Screen 1",
        "seats": ["B2", "B3"],
    }
    return Claim(**{**base, **fields})


def test_the_confirmation_carries_the_total_in_its_currency():
    body = confirmation_message(claim(total=2800, currency="EUR"), "marquee@example.com").get_content()
    assert "Total:      €28.00" in body
    body = confirmation_message(claim(total=3600, currency="JPY"), "marquee@example.com").get_content()
    assert "Total:      ¥3,600" in body


def test_an_unpriced_booking_has_no_total_line():
    body = confirmation_message(claim(), "marquee@example.com").get_content()
    assert "Total" not in body
    assert "Seats:      B2, B3" in body
