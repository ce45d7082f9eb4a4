"""What a registration may carry beyond its contract: numbers the registry can store and read back,
and prices whose costs the ledger can book. A value out of range is a 400 naming the field.

- `slo.latency_p95_ms` at most a day (86,400,000 ms, the longest latency an outcome may report),
  `slo.throughput_tps` at most 10^9 tokens a second: the registry keeps SLOs exactly, and a figure
  written out as a whole number beyond 64 bits could not be read back (GET /providers and the
  registry snapshot would fail on it from then on).
- every price at most $1,000,000 per million tokens ($1 a token): the costliest request the largest
  context window (10^8 tokens) allows then stays far below the ledger's largest amount ($10^12), so
  its hold, lease and receipt can always be booked.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.common.errors import InvalidRequest
from services.common.money import MoneyError, to_decimal

MAX_LATENCY_MS = 86_400_000
MAX_THROUGHPUT_TPS = 1_000_000_000
MAX_PER_MTOK = Decimal(1_000_000)
MAX_PER_TOKEN = MAX_PER_MTOK / 1_000_000
SLO_MAXIMA = {"latency_p95_ms": MAX_LATENCY_MS, "throughput_tps": MAX_THROUGHPUT_TPS}
PRICE_MAXIMA = {**dict.fromkeys(("cost_per_input_token", "cost_per_output_token", "cost_per_cache_read_input_token",
                                 "cost_per_cache_creation_input_token", "cost_per_cache_creation_1h_input_token"),
                                MAX_PER_TOKEN),
                **dict.fromkeys(("input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok",
                                 "cache_write_1h_per_mtok"), MAX_PER_MTOK)}


def check_registration(body: dict[str, Any]) -> None:
    """Refuse (400, naming the field) a contract-valid registration the registry cannot carry."""
    slo = body.get("slo") or {}
    for name, most in SLO_MAXIMA.items():
        if name in slo and slo[name] > most:
            raise InvalidRequest(f"slo.{name} must be at most {most:,}", field=f"slo.{name}")
    for name, most in PRICE_MAXIMA.items():
        if name not in body:
            continue
        try:
            price = to_decimal(body[name], field=name)
        except MoneyError:
            continue  # not a price at all: the registration says why
        if price > most:
            raise InvalidRequest(f"{name} must be at most {most} (${MAX_PER_MTOK:,} per million tokens)",
                                 field=name)
