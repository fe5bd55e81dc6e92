"""Bearer tokens: the booking token for its booking, ADMIN_TOKEN for admin endpoints,
CHECKIN_TOKEN (or ADMIN_TOKEN) for checking tickets in."""

from __future__ import annotations

import hmac

from flask import current_app, request

from .booking.errors import AuthenticationRequired, Forbidden


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_booking_token() -> str:
    """The bearer token a booking endpoint needs; its absence is a 401 that says how to send it."""
    token = bearer_token()
    if token is None:
        raise AuthenticationRequired("Send the booking token as 'Authorization: Bearer <token>'.")
    return token


def _matches(token: str | None, setting: str) -> bool:
    expected = current_app.config.get(setting)
    if not expected or not token:
        return False
    return hmac.compare_digest(token.encode(), expected.encode())


def is_admin_token(token: str | None) -> bool:
    return _matches(token, "ADMIN_TOKEN")


def is_checkin_token(token: str | None) -> bool:
    """Door staff's token; it opens the check-in endpoint and door page only."""
    return _matches(token, "CHECKIN_TOKEN")


def require_door_staff() -> None:
    """Check-ins take CHECKIN_TOKEN or ADMIN_TOKEN; with neither set they are off."""
    token = bearer_token()
    if token is None:
        raise AuthenticationRequired("Send 'Authorization: Bearer <CHECKIN_TOKEN or ADMIN_TOKEN>'.")
    config = current_app.config
    if not config.get("CHECKIN_TOKEN") and not config["ADMIN_TOKEN"]:
        raise Forbidden("Check-ins are disabled: neither CHECKIN_TOKEN nor ADMIN_TOKEN is set on the server.")
    if not (is_checkin_token(token) or is_admin_token(token)):
        raise Forbidden("That is neither the check-in token nor the admin token.")


def require_admin() -> None:
    """Admin endpoints are off when ADMIN_TOKEN is unset, and need it when set."""
    token = bearer_token()
    if token is None:
        raise AuthenticationRequired("Send 'Authorization: Bearer <ADMIN_TOKEN>'.")
    if not current_app.config["ADMIN_TOKEN"]:
        raise Forbidden("The admin API is disabled: ADMIN_TOKEN is not set on the server.")
    if not is_admin_token(token):
        raise Forbidden("That is not the admin token.")
