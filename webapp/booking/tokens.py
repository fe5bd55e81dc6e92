"""Booking tokens: only their SHA-256 is stored, and they are compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def token_matches(token_hash: bytes, token: str) -> bool:
    return hmac.compare_digest(token_hash, hash_token(token))
