"""Checks on untrusted input, shared by the JSON API and the HTML forms.

Hand-written rather than a schema library: two small bodies, and every
message is phrased for the person who sent the request.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .booking.errors import BookingNotFound, ShowNotFound, ValidationFailed
from .booking.holds import LABEL_PATTERN, HoldRequest

MAX_ID = 2**63 - 1
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Control characters and (unreachable from JSON, but not from the CLI) lone
# surrogates, which PostgreSQL cannot store. Unassigned code points are
# accepted: Python's Unicode tables lag behind clients, and rejecting them
# would turn away the newest emoji (and could not be said in the OpenAPI schema).
_REJECTED_CATEGORIES = frozenset({"Cc", "Cs"})


def _as_int(value: Any) -> int | None:
    """The whole number JSON sent, else None.

    ``2.0`` counts, as in JSON Schema (the OpenAPI document says "integer" and
    fuzzers hold us to it); ``true`` does not, though Python calls it an int.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _reject_unknown(body: Mapping[str, Any], allowed: set[str], errors: dict[str, str]) -> None:
    for name in body:
        if name not in allowed:
            errors[str(name)[:100]] = "unknown field"


def _clean_text(value: Any, field: str, errors: dict[str, str], *, max_length: int) -> str | None:
    if not isinstance(value, str):
        errors[field] = "must be a string"
        return None
    # Length is checked as sent (what the OpenAPI maxLength means) and as stored
    # (NFC can lengthen a string, and the column would refuse it).
    raw_length = len(value)
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        errors[field] = "must not be blank"
    elif max(raw_length, len(value)) > max_length:
        errors[field] = f"must be at most {max_length} characters"
    elif any(unicodedata.category(ch) in _REJECTED_CATEGORIES for ch in value):
        errors[field] = "must not contain control characters"
    else:
        return value
    return None


def _int_in_range(value: Any, field: str, low: int, high: int, errors: dict[str, str]) -> int | None:
    number = _as_int(value)
    if number is None:
        errors[field] = "must be a whole number"
    elif not low <= number <= high:
        errors[field] = f"must be between {low} and {high}"
    else:
        return number
    return None


def parse_show_id(raw: str) -> int:
    """A show id from a URL; anything that is not one is simply not found."""
    # The length check comes first: int() refuses strings of over 4300 digits (a 500).
    if len(raw) <= len(str(MAX_ID)) and raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID:
        return int(raw)
    raise ShowNotFound(f"There is no show {raw[:40]!r}.")


def parse_booking_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BookingNotFound(f"There is no booking {raw[:40]!r}.") from None


def parse_starts_at(value: Any, errors: dict[str, str]) -> datetime | None:
    if not isinstance(value, str):
        errors["starts_at"] = "must be an ISO 8601 date-time string"
        return None
    try:
        # RFC 3339 allows a lower-case "t" and "z", fromisoformat does not.
        parsed = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
    except ValueError:
        errors["starts_at"] = "must be an ISO 8601 date-time such as 2030-05-01T19:30:00+02:00"
        return None
    if parsed.tzinfo is None:
        errors["starts_at"] = "must include a time zone offset, such as Z or +02:00"
        return None
    if not 2000 <= parsed.year <= 2999:
        errors["starts_at"] = "must be between the years 2000 and 2999"
        return None
    return parsed


def validate_new_show(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationFailed({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    _reject_unknown(body, {"title", "starts_at", "rows", "seats_per_row", "auditorium"}, errors)
    for required in ("title", "starts_at", "rows", "seats_per_row"):
        if required not in body:
            errors[required] = "is required"
    show: dict[str, Any] = {
        "title": _clean_text(body["title"], "title", errors, max_length=200) if "title" in body else None,
        "starts_at": parse_starts_at(body["starts_at"], errors) if "starts_at" in body else None,
        "rows": _int_in_range(body["rows"], "rows", 1, 26, errors) if "rows" in body else None,
        "seats_per_row": _int_in_range(body["seats_per_row"], "seats_per_row", 1, 50, errors)
        if "seats_per_row" in body
        else None,
        "auditorium": None,
    }
    if body.get("auditorium") is not None:
        show["auditorium"] = _clean_text(body["auditorium"], "auditorium", errors, max_length=100)
    if errors:
        raise ValidationFailed(errors)
    return show


def validate_email(value: Any, errors: dict[str, str]) -> str | None:
    if value is None or value == "":
        return None
    email = _clean_text(value, "email", errors, max_length=254)
    if email is not None and not EMAIL_PATTERN.match(email):
        errors["email"] = "must be an email address such as ana@example.com"
        return None
    return email


def validate_seat_labels(value: Any, max_seats: int, errors: dict[str, str]) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        errors["seats"] = 'must be a non-empty list of seat labels such as ["A1", "A2"]'
        return ()
    if len(value) > max_seats:
        errors["seats"] = f"at most {max_seats} seats can be held in one booking"
        return ()
    labels: list[str] = []
    for item in value:
        label = item.strip() if isinstance(item, str) else ""
        # isascii before upper(): upper() maps a few other letters into A-Z (U+017F to "S").
        if not label.isascii() or not LABEL_PATTERN.match(label.upper()):
            errors["seats"] = (
                f"{str(item)[:20]!r} is not a seat label (a row letter and a number, such as B7)"
            )
            return ()
        labels.append(label.upper())
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        errors["seats"] = f"listed more than once: {', '.join(duplicates)}"
        return ()
    return tuple(labels)


def validate_hold(body: Any, max_seats: int, visitor: str | None) -> HoldRequest:
    if not isinstance(body, Mapping):
        raise ValidationFailed({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    _reject_unknown(body, {"show_id", "seats", "email"}, errors)
    show_id = None
    if "show_id" not in body:
        errors["show_id"] = "is required"
    else:
        show_id = _int_in_range(body["show_id"], "show_id", 1, MAX_ID, errors)
    seats = validate_seat_labels(body.get("seats"), max_seats, errors)
    email = validate_email(body.get("email"), errors)
    if errors or show_id is None:
        raise ValidationFailed(errors)
    return HoldRequest(show_id=show_id, seats=seats, email=email, visitor=visitor)
