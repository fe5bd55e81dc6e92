"""Checks on untrusted values, one per kind of field, shared by the JSON API and the HTML forms.

Each check returns the clean value or raises ``Invalid`` with a message
phrased for the person who sent it. The API's pydantic models
(webapp/api/schemas.py) run them on their fields; the forms call them
through ``collect``.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from .booking.errors import BookingNotFound, ShowNotFound
from .booking.holds import LABEL_PATTERN
from .money import is_known_currency
from .seatplan import KINDS, MAX_POSITIONS, LayoutError, SeatPlan, parse_layout

T = TypeVar("T")

MAX_ID = 2**63 - 1
#: A seat costs at most this many minor units (100,000.00 in a two-decimal
#: currency): ten of them still add up to a total PostgreSQL's integer holds.
MAX_PRICE = 10_000_000
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOMAIN_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: One plain address, ``local@domain.tld`` in ASCII: no display name, quotes,
#: comma, comment, space or line break (so no header can smuggle in a second
#: recipient), no encoded word (``=?``), at most 64 characters before the @.
#: webapp/api/schemas.py states the same rule in the OpenAPI document.
PLAIN_EMAIL = rf"(?!.*=\?)(?=[^@]{{1,64}}@){_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_DOMAIN_LABEL}\.)+[A-Za-z]{{2,63}}"
EMAIL_PATTERN = re.compile(rf"^{PLAIN_EMAIL}$")
_NOT_PLAIN = re.compile(r"[<>\",;:()\[\]\s\\]")
# Control characters and (unreachable from JSON, but not from the CLI) lone
# surrogates, which PostgreSQL cannot store. Unassigned code points are
# accepted: Python's Unicode tables lag behind clients, and rejecting them
# would turn away the newest emoji (and could not be said in the OpenAPI schema).
_REJECTED_CATEGORIES = frozenset({"Cc", "Cs"})


class Invalid(ValueError):
    """A field's value is not acceptable; ``str(exc)`` says why."""


def collect(errors: dict[str, str], field: str, check: Callable[..., T], *args: Any) -> T | None:
    """Run ``check(*args)``; on ``Invalid`` note the message under ``field`` and return None."""
    try:
        return check(*args)
    except Invalid as exc:
        errors[field] = str(exc)
        return None


def whole_number(value: Any, low: int, high: int) -> int:
    """The whole number JSON sent, within ``low`` and ``high``.

    ``2.0`` counts, as in JSON Schema (the OpenAPI document says "integer" and
    fuzzers hold us to it); ``true`` does not, though Python calls it an int.
    """
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is None:
        raise Invalid("must be a whole number")
    if not low <= number <= high:
        raise Invalid(f"must be between {low} and {high}")
    return number


def clean_text(value: Any, max_length: int) -> str:
    """Free text, NFC-normalised and stripped: not blank, no control characters."""
    if not isinstance(value, str):
        raise Invalid("must be a string")
    # Length is checked as sent (what the OpenAPI maxLength means) and as stored
    # (NFC can lengthen a string, and the column would refuse it).
    raw_length = len(value)
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise Invalid("must not be blank")
    if max(raw_length, len(value)) > max_length:
        raise Invalid(f"must be at most {max_length} characters")
    if any(unicodedata.category(ch) in _REJECTED_CATEGORIES for ch in value):
        raise Invalid("must not contain control characters")
    return value


def start_time(value: Any) -> datetime:
    """An ISO 8601 date-time with a time zone offset, in the years 2000 to 2999."""
    if not isinstance(value, str):
        raise Invalid("must be an ISO 8601 date-time string")
    try:
        # RFC 3339 allows a lower-case "t" and "z", fromisoformat does not.
        parsed = datetime.fromisoformat(value.strip().upper().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("must be an ISO 8601 date-time such as 2030-05-01T19:30:00+02:00") from None
    if parsed.tzinfo is None:
        raise Invalid("must include a time zone offset, such as Z or +02:00")
    if not 2000 <= parsed.year <= 2999:
        raise Invalid("must be between the years 2000 and 2999")
    return parsed


def email_address(value: Any) -> str | None:
    """An email address, or None for none (null or the empty string)."""
    if value is None or value == "":
        return None
    email = clean_text(value, 254)
    if _NOT_PLAIN.search(email) or email.count("@") > 1:
        raise Invalid("must be one plain address such as ana@example.com (no name, quotes, commas or spaces)")
    if "=?" in email:
        raise Invalid("must be a plain address, not an encoded word (=?...?=)")
    if not EMAIL_PATTERN.match(email):
        raise Invalid("must be an email address such as ana@example.com")
    return email


def _quoted(value: Any) -> str:
    """A short quote of what was sent. Never ``str()`` of a list or object: JSON nested a
    thousand deep would exhaust Python's recursion limit while printing it."""
    if isinstance(value, str):
        return repr(value[:20])
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return "a list" if isinstance(value, list) else "an object"


def seat_labels(value: Any, max_seats: int) -> tuple[str, ...]:
    """Distinct seat labels, upper-cased, at most ``max_seats`` of them."""
    if not isinstance(value, list) or not value:
        raise Invalid('must be a non-empty list of seat labels such as ["A1", "A2"]')
    if len(value) > max_seats:
        raise Invalid(f"at most {max_seats} seats can be held in one booking")
    labels: list[str] = []
    for item in value:
        label = item.strip() if isinstance(item, str) else ""
        # isascii before upper(): upper() maps a few other letters into A-Z (U+017F to "S").
        # No row is wider than MAX_POSITIONS, so no seat number is higher (what the schema says too).
        found = LABEL_PATTERN.match(label.upper()) if label.isascii() else None
        if found is None or int(found.group(2)) > MAX_POSITIONS:
            raise Invalid(f"{_quoted(item)} is not a seat label (a row letter and a number, such as B7)")
        labels.append(label.upper())
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise Invalid(f"listed more than once: {', '.join(duplicates)}")
    return tuple(labels)


# --- seat plans and prices (issue 11) ---


def seat_layout(value: Any) -> SeatPlan:
    """A layout as a client sent it (webapp/seatplan.py reads it). Whitespace
    around a row is ignored (a row typed or pasted with spaces); inside a row
    it is an error like any other, named by row and position."""
    if isinstance(value, list):
        value = [row.strip() if isinstance(row, str) else row for row in value]
    try:
        return parse_layout(value)
    except LayoutError as exc:
        raise Invalid(str(exc)) from None


def auditorium_ref(value: Any) -> int:
    """The id of an auditorium (whether it exists is the service's to say)."""
    try:
        return whole_number(value, 1, MAX_ID)
    except Invalid:
        raise Invalid("must be the id of an auditorium (a positive whole number)") from None


def seat_prices(value: Any) -> dict[str, int]:
    """Prices in minor units per seat kind, such as ``{"standard": 950}``."""
    if not isinstance(value, dict):
        raise Invalid('must be an object of prices in minor units per seat kind, such as {"standard": 950}')
    prices: dict[str, int] = {}
    for kind, raw in value.items():
        if kind not in KINDS:
            raise Invalid(f"{str(kind)[:40]!r} is not a seat kind; use {', '.join(KINDS)}")
        try:
            prices[kind] = whole_number(raw, 0, MAX_PRICE)
        except Invalid:
            raise Invalid(f"{kind}: must be a whole number of minor units from 0 to {MAX_PRICE}") from None
    if not prices:
        raise Invalid("must give a price for each kind of seat in the plan")
    return prices


def currency_code(value: Any) -> str:
    if not isinstance(value, str) or not is_known_currency(value):
        raise Invalid("must be an ISO 4217 currency code in capitals, such as EUR or USD")
    return value


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
