"""Idempotency-Key: a repeated hold replays the first answer instead of holding again.

Only a hash of the key is stored, and the booking token is stored masked
with a pad derived from the raw key, so the table alone cannot unmask it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..jsonutil import dumps
from .errors import IdempotencyKeyReused


@dataclass(frozen=True, slots=True)
class Replay:
    """The answer given the first time a key was used."""

    booking: dict[str, Any]
    token: str


def fingerprint(body: Mapping[str, Any]) -> bytes:
    """What makes two requests "the same": a digest of their normalised body."""
    return hashlib.sha256(dumps(body)).digest()


def _key_hash(scope: str, key: str) -> bytes:
    """The key as one client's: the same key from another client is another record."""
    return hashlib.sha256(b"idempotency-key:" + scope.encode() + b"\n" + key.encode()).digest()


def _token_pad(key: str, length: int) -> bytes:
    """A one-time pad of ``length`` bytes derived from the raw key (HMAC in counter mode).

    Only the key's holder can unmask the token, and no part of the pad repeats.
    """
    blocks = (
        hmac.new(key.encode(), b"marquee booking token %d" % i, hashlib.sha256).digest()
        for i in range(length // 32 + 1)
    )
    return b"".join(blocks)[:length]


def _xor_pad(data: bytes, key: str) -> bytes:
    """Mask or unmask (XOR is its own inverse) a token with the key's pad."""
    return bytes(a ^ b for a, b in zip(data, _token_pad(key, len(data)), strict=True))


def claim_key(session: Session, scope: str, key: str, request_hash: bytes, ttl_seconds: int) -> Replay | None:
    """Claim ``key`` for this request, or return the answer already given for it.

    A concurrent request with the same key blocks on the unique index until
    the first commits, then replays its answer. A claim older than the TTL is
    taken over.
    """
    claimed = session.execute(
        text(
            """
            INSERT INTO idempotency_keys (key_hash, request_hash)
            VALUES (:key_hash, :request_hash)
            ON CONFLICT (key_hash) DO UPDATE
                SET request_hash = EXCLUDED.request_hash, booking_id = NULL,
                    masked_token = NULL, response = NULL, created_at = now()
                WHERE idempotency_keys.created_at <= now() - make_interval(secs => :ttl)
            RETURNING key_hash
            """
        ),
        {"key_hash": _key_hash(scope, key), "request_hash": request_hash, "ttl": ttl_seconds},
    ).first()
    if claimed is not None:
        return None
    stored = session.execute(
        text("SELECT request_hash, masked_token, response FROM idempotency_keys WHERE key_hash = :k"),
        {"k": _key_hash(scope, key)},
    ).one()
    if stored.request_hash != request_hash:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request body.")
    # Answers recorded before holds could be extended, or before bookings had
    # tickets, lack those keys (a replayed hold has no tickets anyway).
    booking = {"extensions_left": 0, "tickets": [], **stored.response}
    return Replay(booking=booking, token=_xor_pad(stored.masked_token, key).decode())


def record_answer(session: Session, scope: str, key: str, booking: dict[str, Any], token: str) -> None:
    """Remember the answer to the request that claimed ``key``, for its repeats."""
    session.execute(
        text(
            """
            UPDATE idempotency_keys
            SET booking_id = :booking_id, masked_token = :masked, response = CAST(:response AS jsonb)
            WHERE key_hash = :key_hash
            """
        ),
        {
            "key_hash": _key_hash(scope, key),
            "booking_id": uuid.UUID(booking["id"]),
            "masked": _xor_pad(token.encode(), key),
            "response": dumps(booking).decode(),
        },
    )
