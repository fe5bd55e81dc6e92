"""Who the visitor is, and which bookings are theirs, kept in the signed session.

There are no user accounts. A booking belongs to whoever holds its token,
exactly as in the JSON API; the web pages keep those tokens in the session
cookie, which Flask signs with SECRET_KEY, so a visitor cannot forge a claim
to someone else's booking. The cookie is HttpOnly and SameSite=Lax (config.py).
"""

from __future__ import annotations

import secrets
import uuid

from flask import session

#: Oldest bookings fall out of the cookie beyond this; it keeps the cookie
#: well under the 4 KB browsers accept (about 90 bytes per booking).
MAX_REMEMBERED_BOOKINGS = 20

_VISITOR_KEY = "visitor"
_BOOKINGS_KEY = "bookings"


def visitor_id() -> str:
    """A random id for this browser, created on first use."""
    vid = session.get(_VISITOR_KEY)
    if not isinstance(vid, str) or not vid:
        vid = secrets.token_urlsafe(16)
        session[_VISITOR_KEY] = vid
        session.permanent = True
    return vid


def hold_visitor() -> str:
    """The key the per-visitor hold limit counts under (see HoldRequest.visitor)."""
    return f"session:{visitor_id()}"


def _remembered() -> dict[str, str]:
    stored = session.get(_BOOKINGS_KEY)
    if not isinstance(stored, dict):
        return {}
    return {str(k): str(v) for k, v in stored.items()}


def remember_booking(booking_id: str, token: str) -> None:
    bookings = _remembered()
    bookings.pop(booking_id, None)
    bookings[booking_id] = token  # newest last; dicts keep insertion order
    while len(bookings) > MAX_REMEMBERED_BOOKINGS:
        bookings.pop(next(iter(bookings)))
    session[_BOOKINGS_KEY] = bookings
    session.permanent = True


def forget_booking(booking_id: str) -> None:
    bookings = _remembered()
    if bookings.pop(booking_id, None) is not None:
        session[_BOOKINGS_KEY] = bookings


def booking_token(booking_id: uuid.UUID) -> str | None:
    """This visitor's token for the booking, or None when it is not theirs."""
    return _remembered().get(str(booking_id))


def remembered_bookings() -> list[tuple[uuid.UUID, str]]:
    """This visitor's bookings, newest first."""
    found: list[tuple[uuid.UUID, str]] = []
    for raw_id, token in reversed(_remembered().items()):
        try:
            found.append((uuid.UUID(raw_id), token))
        except ValueError:
            continue
    return found
