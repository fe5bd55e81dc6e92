"""Cache-Control for the answers that need one; the same words in the API, the pages and admin."""

from __future__ import annotations

from flask import Response


def no_store(response: Response) -> Response:
    """Pages about one visitor's bookings, or admin's, must not sit in shared or back-button caches."""
    response.headers["Cache-Control"] = "no-store"
    return response


def revalidate(response: Response, etag: str) -> Response:
    """Clients may keep a copy but must revalidate it (If-None-Match): seats change by the second."""
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response
