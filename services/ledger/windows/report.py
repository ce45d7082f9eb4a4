"""The GET /metrics body: a window's buckets (empty ones as zeros), totals and per provider.

cost_per_request = cost / requests rounded half-even to the microdollar (0 with no requests).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from services.common.money import ZERO, from_micros, usd
from services.ledger.times import iso
from services.ledger.windows.buckets import Grain
from services.ledger.windows.rollup import Row, Tally


def cost_per_request(tally: Tally) -> Decimal:
    if tally.requests == 0:
        return usd(ZERO)
    return usd(from_micros(tally.cost_micros) / tally.requests)


def tally_body(tally: Tally) -> dict[str, Any]:
    return {"cost_usd": from_micros(tally.cost_micros), "requests": tally.requests,
            "input_tokens": tally.input_tokens, "output_tokens": tally.output_tokens,
            "cost_per_request": cost_per_request(tally), "cache_hits": tally.cache_hits,
            "saved_usd": from_micros(tally.saved_micros)}


def metrics_body(window: Grain, now_us: int, rows: Iterable[Row]) -> dict[str, Any]:
    starts = window.starts(now_us)
    buckets = {start: Tally() for start in starts}
    totals = Tally()
    providers: dict[str, Tally] = {}
    for start, provider, tally in rows:
        if start not in buckets:
            continue
        buckets[start].add(tally)
        totals.add(tally)
        providers.setdefault(provider, Tally()).add(tally)
    return {"window": window.name, "generated_at": iso(now_us),
            "buckets": [{"start": iso(s), **tally_body(buckets[s])} for s in starts],
            "totals": tally_body(totals),
            "by_provider": {p: tally_body(t) for p, t in sorted(providers.items())}}
