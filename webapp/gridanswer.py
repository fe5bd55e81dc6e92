"""The shared seat grid as an HTTP answer: gzip-compressed or not, and its validator.

The grid is stored gzipped (webapp/seatcache.py); both the WSGI shortcut
(webapp/fastpath.py) and the map view send it through these, so their
answers are the same bytes with the same headers.
"""

from __future__ import annotations

import gzip

from werkzeug.datastructures import ETags

#: Appended to the grid's ETag when it is sent gzip-compressed: another
#: encoding is another representation, so its strong validator differs.
GZIP_ETAG_SUFFIX = "-gz"


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding value allows gzip (``gzip;q=0`` refuses it)."""
    for coding in (accept_encoding or "").split(","):
        name, _, params = coding.partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def grid_representation(
    grid_gzip: bytes, etag: str, accept_encoding: str | None
) -> tuple[bytes, list[tuple[str, str]]]:
    """The shared grid's body and headers for this client: gzip when accepted, else inflated."""
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Vary", "Accept-Encoding")]
    if accepts_gzip(accept_encoding):
        body = grid_gzip
        headers += [("Content-Encoding", "gzip"), ("ETag", f'"{etag}{GZIP_ETAG_SUFFIX}"')]
    else:
        body = gzip.decompress(grid_gzip)
        headers.append(("ETag", f'"{etag}"'))
    headers.append(("Content-Length", str(len(body))))
    return body, headers


def grid_etag_matches(validators: ETags, etag: str) -> bool:
    """If-None-Match against the grid's validator, as sent plain or gzipped."""
    return validators.contains(etag) or validators.contains(etag + GZIP_ETAG_SUFFIX)
