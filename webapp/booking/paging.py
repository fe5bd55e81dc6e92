"""Bounded listings: a page of at most ``limit`` items and an opaque cursor to the next page.

Keyset pagination (``WHERE (sort key, id) > cursor``), not OFFSET: a page
costs the same whatever its depth, and rows added or removed meanwhile
neither repeat nor vanish between pages. The cursor is the last item's sort
key and id, base64url-encoded; clients treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    #: After this (sort key, id); None for the first page.
    after: tuple[datetime, str] | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[dict[str, Any]]
    #: The cursor of the next page, or None on the last one.
    next_cursor: str | None


def bad_cursor() -> ValidationFailed:
    return ValidationFailed({"cursor": "is not a cursor this server gave out; start again without one"})


def encode_cursor(sort_key: datetime, item_id: object) -> str:
    raw = f"{sort_key.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,200}")


def page_request(limits: list[str], cursors: list[str]) -> PageRequest:
    """The page asked for by the ``limit`` and ``cursor`` query parameters (each at most once), checked."""
    errors: dict[str, str] = {}
    for name, values in (("limit", limits), ("cursor", cursors)):
        if len(values) > 1:
            errors[name] = "must be given at most once"
    if errors:
        raise ValidationFailed(errors)
    limit = limits[0] if limits else None
    cursor = cursors[0] if cursors else None
    size = DEFAULT_LIMIT
    if limit is not None:
        if limit.isascii() and limit.isdigit() and len(limit) <= 4 and 1 <= int(limit) <= MAX_LIMIT:
            size = int(limit)
        else:
            errors["limit"] = f"must be a whole number from 1 to {MAX_LIMIT}"
    after = None
    if cursor is not None:
        after = _decode_cursor(cursor)
        if after is None:
            errors.update(bad_cursor().extras["errors"])
    if errors:
        raise ValidationFailed(errors)
    return PageRequest(limit=size, after=after)


def _decode_cursor(cursor: str) -> tuple[datetime, str] | None:
    # Checked first: base64 decoding would skip characters outside its alphabet.
    if not _CURSOR.fullmatch(cursor):
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        sort_key, _, item_id = raw.partition("|")
        moment = datetime.fromisoformat(sort_key)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if moment.tzinfo is None or not item_id:
        return None
    return moment, item_id


def page_of(rows: list[Any], request: PageRequest, item: Any, sort_key: str) -> Page:
    """Turn ``limit + 1`` fetched rows into a page: the extra row only says there is a next page."""
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    cursor = encode_cursor(getattr(rows[-1], sort_key), rows[-1].id) if more and rows else None
    return Page(items=[item(row) for row in rows], next_cursor=cursor)
