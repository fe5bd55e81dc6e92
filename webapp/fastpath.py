"""A WSGI shortcut for the request that dominates traffic: polling an unchanged seat listing.

Scripts poll ``GET /api/shows/<id>/seats`` with If-None-Match, and when the
show's cached snapshot (webapp/seatcache.py) still carries that ETag the
answer is a bare 304. That answer needs no request context, routing,
session or database, so it is given here, before Flask, with the same
headers Flask would add; this lifts what one worker serves by about a
half. Everything else (no validator, another one, a stale or missing
snapshot, Redis unavailable) goes on to Flask untouched, which answers it
the ordinary way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Flask
from werkzeug.http import parse_etags

from .seatcache import current_etag
from .security import HSTS, SECURITY_HEADERS, wants_hsts

_SEAT_LISTING = re.compile(r"^/api/shows/([1-9][0-9]{0,17})/seats$")


class ConditionalSeatListing:
    def __init__(self, app: Flask) -> None:
        self.next = app.wsgi_app
        self.redis = app.extensions["redis"]
        self.prefix = app.config["REDIS_KEY_PREFIX"]
        self.app_env = app.config["APP_ENV"]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        validators = environ.get("HTTP_IF_NONE_MATCH")
        if validators and environ["REQUEST_METHOD"] in ("GET", "HEAD"):
            listing = _SEAT_LISTING.match(environ.get("PATH_INFO", ""))
            if listing:
                etag = current_etag(int(listing.group(1)), self.redis, self.prefix)
                if etag is not None and parse_etags(validators).contains(etag):
                    headers = [("ETag", f'"{etag}"'), ("Cache-Control", "no-cache")]
                    headers += SECURITY_HEADERS.items()
                    if wants_hsts(self.app_env, environ.get("wsgi.url_scheme") == "https"):
                        headers.append(HSTS)
                    environ["marquee.endpoint"] = "api.seats"  # the route Flask would have used
                    start_response("304 NOT MODIFIED", headers)
                    return []
        return self.next(environ, start_response)
