"""What a verdict tells the client: `X-RateLimit-*` headers from the most restrictive limit, and
the 429 (`RateLimited`) naming the limit that refused, with an honest `Retry-After`."""

from __future__ import annotations

from services.common.errors import RateLimited
from services.gateway.limits.decision import Decision, Verdict
from services.gateway.limits.timebase import ceil_seconds


def most_restrictive(verdict: Verdict) -> Decision | None:
    """Refused: the refusing limit with the longest wait (one that can never admit first).
    Admitted: the limit with the smallest share left (remaining / limit)."""
    refusals = verdict.refusals
    if refusals:
        return max(refusals, key=lambda d: (d.retry_after_us is None, d.retry_after_us or 0))
    best: Decision | None = None
    for d in verdict.decisions:
        if best is None or d.remaining * best.limit < best.remaining * d.limit:
            best = d
    return best


def rate_limit_headers(verdict: Verdict) -> dict[str, str]:
    """X-RateLimit-Limit / -Remaining / -Reset (delta seconds, rounded up), and Retry-After (whole
    seconds, rounded up, so a retry then is admitted if nothing else happened) when refused."""
    d = most_restrictive(verdict)
    if d is None:
        return {}
    headers = {"X-RateLimit-Limit": str(d.limit), "X-RateLimit-Remaining": str(d.remaining),
               "X-RateLimit-Reset": str(ceil_seconds(d.reset_us))}
    if not verdict.allowed and verdict.retry_after_us is not None:
        headers["Retry-After"] = str(ceil_seconds(verdict.retry_after_us))
    return headers


def rate_limited(verdict: Verdict) -> RateLimited:
    """The 429 for a refused verdict."""
    d = most_restrictive(verdict)
    assert d is not None and not verdict.allowed, "only a refused verdict is a 429"
    hit = verdict.hits[verdict.decisions.index(d)]
    spec = hit.spec
    what = f"rate limit {spec.name} ({spec.limit} {spec.unit} per {spec.window_s} s, per {spec.dimension})"
    wait = verdict.retry_after_us
    if wait is None:
        message = f"{what}: this request's {hit.cost} {spec.unit} exceed what the limit can ever admit"
    else:
        message = f"{what} exceeded; retry after {ceil_seconds(wait)} s"
    extra: dict[str, object] = {"limit": spec.name}
    if wait is not None:
        extra["retry_after_s"] = ceil_seconds(wait)
    return RateLimited(message, headers=rate_limit_headers(verdict), extra=extra)
