"""Virtual keys: how a client secret is made and how it is stored (only as its SHA-256).

The secret is 32 random bytes (url-safe base64) behind a `tw-` prefix, so a plain SHA-256 is
enough to make the stored hash useless to whoever reads it (no dictionary can cover 256 bits);
the gateway can then find a key with one hash and one dict lookup per request.
"""

from __future__ import annotations

import hashlib
import secrets

from services.common.errors import Unauthorized

PREFIX = "tw-"


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display_prefix(secret: str) -> str:
    """What a listing shows of a key, enough to recognise it and no more."""
    return secret[: len(PREFIX) + 4] + "…"


def refuse_unusable(key_id: str, *, revoked: bool, expires_us: int | None, now_us: int) -> None:
    """401 for a key that was revoked or has expired: wherever a key is checked, the same answer."""
    if revoked:
        raise Unauthorized(f"key {key_id} was revoked")
    if expires_us is not None and now_us >= expires_us:
        raise Unauthorized(f"key {key_id} has expired")
