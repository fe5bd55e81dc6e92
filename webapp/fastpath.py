"""A WSGI shortcut for the requests that dominate traffic: polls of a seat map.

Scripts poll ``GET /api/shows/<id>/seats`` and every open seat-map page
polls ``GET /shows/<id>/seatmap`` once a second. Both are answered from the
show's snapshot in Redis (webapp/seatcache.py): the listing's ETag, and the
rendered grid that is the same for every viewer. When the snapshot is
current, the answer (a bare 304 when the client's copy matches, else the
shared grid) needs no request context, routing, session or database, so it
is given here, before Flask, with the headers Flask would add. One Redis
round trip: that is what lets a changed map cost what an unchanged one does.

Everything else (a stale or missing snapshot, a map drawn for one visitor
with ``?taken=``, Redis unavailable) goes on to Flask untouched, which
answers it the ordinary way and rebuilds the snapshot.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

import redis
from flask import Flask
from werkzeug.http import parse_etags

from . import gridanswer, seatcache
from .localgrids import GridEntry, LocalGrids
from .requestlog import ENDPOINT_KEY
from .security import HSTS, SECURITY_HEADERS, wants_hsts
from .web.seatmap import seat_map_etag

_SEAT_LISTING = re.compile(r"^/api/shows/([1-9][0-9]{0,17})/seats\Z")
_SEAT_GRID = re.compile(r"^/shows/([1-9][0-9]{0,17})/seatmap\Z")
_BASE_HEADERS = [("Cache-Control", "no-cache"), *SECURITY_HEADERS.items()]


class SeatMapShortcut:
    def __init__(self, app: Flask) -> None:
        self.next = app.wsgi_app
        self.redis: redis.Redis = app.extensions["redis"]
        self.prefix = app.config["REDIS_KEY_PREFIX"]
        self.app_env = app.config["APP_ENV"]
        # Set by the web blueprint, registered before this shortcut is built.
        self.markup = app.extensions.get(seatcache.GRID_MARKUP, "")
        self.local = LocalGrids(self.redis, self.prefix)
        app.extensions[seatcache.LOCAL_GRIDS] = self.local

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        if method in ("GET", "HEAD") and not environ.get("QUERY_STRING"):
            path = environ.get("PATH_INFO", "")
            grid = _SEAT_GRID.match(path)
            if grid:
                answer = self._grid(int(grid.group(1)), environ, start_response)
                if answer is not None:
                    return answer
            elif environ.get("HTTP_IF_NONE_MATCH"):
                listing = _SEAT_LISTING.match(path)
                if listing:
                    answer = self._listing_304(int(listing.group(1)), environ, start_response)
                    if answer is not None:
                        return answer
        return self.next(environ, start_response)

    def _listing_304(self, show_id: int, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
        # The grid's memo entry carries the listing's ETag too (both come from one snapshot).
        entry = self.local.get(show_id) or self._read_grid(show_id)
        if entry is not None:
            etag: str | None = entry.snapshot_etag
        else:  # e.g. a snapshot stored without its grid: ask Redis for the listing's tag alone
            etag = seatcache.current_etag(show_id, self.redis, self.prefix)
        if etag is None or not parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains(etag):
            return None
        environ[ENDPOINT_KEY] = "api.seats"  # the route Flask would have used (request log, metrics)
        start_response("304 NOT MODIFIED", self._headers(environ, etag))
        return []

    def _grid(self, show_id: int, environ: dict[str, Any], start_response: Any) -> list[bytes] | None:
        """The shared grid, or a 304 when the client has it; None leaves it to Flask."""
        entry = self.local.get(show_id) or self._read_grid(show_id)
        if entry is None:
            return None
        environ[ENDPOINT_KEY] = "web.seatmap"
        validators = environ.get("HTTP_IF_NONE_MATCH")
        accept_encoding = environ.get("HTTP_ACCEPT_ENCODING")
        if validators and gridanswer.grid_etag_matches(parse_etags(validators), entry.etag):
            sent = (
                entry.etag + gridanswer.GZIP_ETAG_SUFFIX
                if gridanswer.accepts_gzip(accept_encoding)
                else entry.etag
            )
            start_response("304 NOT MODIFIED", [*self._headers(environ, sent), ("Vary", "Accept-Encoding")])
            return []
        body, headers = gridanswer.grid_representation(entry.grid_gzip, entry.etag, accept_encoding)
        start_response("200 OK", [*self._base_headers(environ), *headers])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _read_grid(self, show_id: int) -> GridEntry | None:
        """The show's current grid from Redis (one round trip), remembered for a moment."""
        if time.monotonic() < seatcache.skip_until():
            return None
        generation = self.local.generation(show_id)
        keys = seatcache.snapshot_keys(show_id, self.prefix)
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                # The snapshot's remaining life first: if anything, the memo errs shorter.
                pipe.pttl(keys.etag)
                pipe.mget(keys.version, keys.etag, keys.grid(self.markup))
                ttl_ms, (version, entry, grid) = pipe.execute()
        except redis.RedisError as exc:
            seatcache.note_failure(exc)  # Flask's path then reads PostgreSQL without waiting on Redis
            return None
        snapshot_etag = seatcache.current_entry(version, entry)
        grid_gzip = seatcache.cached_part(grid, snapshot_etag) if snapshot_etag is not None else None
        if snapshot_etag is None or grid_gzip is None or ttl_ms <= 0:
            return None
        found = GridEntry(
            snapshot_etag=snapshot_etag.decode(),
            etag=seat_map_etag(snapshot_etag.decode(), (), ()),
            grid_gzip=grid_gzip,
            # Never outlives the snapshot, which ends at the earliest hold expiry.
            expires_at=self.local.clock() + min(self.local.ttl_s, ttl_ms / 1000),
        )
        self.local.put(show_id, generation, found)
        return found

    def _headers(self, environ: dict[str, Any], etag: str) -> list[tuple[str, str]]:
        return [("ETag", f'"{etag}"'), *self._base_headers(environ)]

    def _base_headers(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
        if wants_hsts(self.app_env, environ.get("wsgi.url_scheme") == "https"):
            return [*_BASE_HEADERS, HSTS]
        return _BASE_HEADERS
