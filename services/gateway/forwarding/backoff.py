"""How long to wait before a retry: exponential backoff with full jitter, or what the provider
asked for in `Retry-After` (seconds or an HTTP date; `retry-after-ms` first where sent)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def full_jitter(retry: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Retry `retry` (0 for the first) waits uniform(0, min(cap, base * 2**retry)) seconds."""
    ceiling = min(cap_s, base_s * (2 ** min(retry, 62)))
    return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str, now: datetime) -> float | None:
    """`Retry-After` as seconds from `now`: delta-seconds or an HTTP date (a past date is 0).
    None when the value is neither."""
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds == seconds and seconds != float("inf") else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def retry_after_s(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """The wait a provider asked for: `retry-after-ms` (OpenAI, Azure), else `retry-after`."""
    now = now or datetime.now(UTC)
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value_ms = float(millis)
        except ValueError:
            value_ms = -1.0
        if 0 <= value_ms < float("inf"):
            return value_ms / 1000
    value = headers.get("retry-after")
    return parse_retry_after(value, now) if value is not None else None
