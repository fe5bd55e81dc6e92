"""Helpers the templates use: cache-busting asset URLs and human dates."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from flask import current_app, url_for

from .views import bp


@lru_cache(maxsize=64)
def _asset_digest(path: str) -> str:
    try:
        return hashlib.blake2b(Path(path).read_bytes(), digest_size=5).hexdigest()
    except OSError:
        return "missing"


@bp.app_template_global()
def asset_url(filename: str) -> str:
    """A static URL that changes when the file does, so browsers never run stale JS or CSS."""
    static_folder = current_app.static_folder or "static"
    return url_for("static", filename=filename, v=_asset_digest(str(Path(static_folder) / filename)))


@bp.app_template_filter("when")
def format_when(value: datetime | None) -> str:
    """'Fri 3 May 2030, 19:30 UTC'. app.js rewrites it into the reader's own time zone."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    return f"{value:%a} {value.day} {value:%b %Y}, {value:%H:%M} UTC"


@bp.app_template_filter("iso")
def format_iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value is not None else ""
