"""Points as JSON objects and as CSV rows. Money is an exact decimal string of dollars (cost_usd,
saved_usd) beside its integer microdollars; rates are errors / requests and cache hits / requests
(null with no requests); latency in ms, null with no receipts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from services.common.money import from_micros
from services.ledger.analytics.series import Point
from services.ledger.times import iso


def usd_text(micros: int) -> str:
    """Exact dollars with six decimals, as a string (from_micros' value, formatted without Decimal)."""
    if micros < 0:
        return f"{from_micros(micros):f}"
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@lru_cache(maxsize=8192)
def _start(start_us: int) -> str:
    return iso(start_us)


def point_body(point: Point) -> dict[str, Any]:
    c = point.counters
    body: dict[str, Any] = {} if point.start_us is None else {"start": _start(point.start_us)}
    body.update({"group": point.group, "cost_usd": usd_text(c.cost_micros), "cost_micros": c.cost_micros,
                 "requests": c.requests, "errors": c.errors, "error_rate": point.error_rate,
                 "input_tokens": c.input_tokens, "output_tokens": c.output_tokens,
                 "cached_tokens": c.cached_tokens, "cache_hits": c.cache_hits,
                 "cache_hit_rate": point.cache_hit_rate, "saved_usd": usd_text(c.saved_micros),
                 "saved_micros": c.saved_micros, "latency_ms": point.latency_ms()})
    return body


MEASURES = ("cost_usd", "cost_micros", "requests", "errors", "error_rate", "input_tokens", "output_tokens",
            "cached_tokens", "cache_hits", "cache_hit_rate", "saved_usd", "saved_micros",
            "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")


def csv_text(points: Iterable[Point], group_by: tuple[str, ...], *, with_start: bool) -> str:
    """One header line, then one line per point; an absent value (null in JSON) is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*(["start"] if with_start else []), *group_by, *MEASURES])
    for point in points:
        body = point_body(point)
        latency = body.pop("latency_ms")
        flat = {**body, "latency_p50_ms": latency["p50"], "latency_p95_ms": latency["p95"],
                "latency_p99_ms": latency["p99"]}
        row = [body["start"]] if with_start else []
        row += [point.group[name] for name in group_by]
        row += [flat[m] for m in MEASURES]
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()
