"""Webhook signatures: `X-Tollway-Signature: sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<body>`
under the channel's secret, with `X-Tollway-Timestamp: <unix seconds>`. A receiver recomputes it
over the raw body, compares in constant time, and refuses a timestamp older than a few minutes
(a replayed delivery). docs/alerts.md shows a receiver."""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Tollway-Timestamp"
SIGNATURE_HEADER = "X-Tollway-Signature"
TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, signature: str, body: bytes, now_s: float,
           tolerance_s: int = TOLERANCE_S) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        at = int(timestamp)
    except ValueError:
        return False
    if abs(now_s - at) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, at, body), signature)
