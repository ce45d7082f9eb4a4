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
    """A point as its JSON object (spelt out, not through Point's properties: a series renders thousands)."""
    c = point.counters
    requests, cost, saved = c.requests, c.cost_micros, c.saved_micros
    p50, p95, p99 = point.latency
    body: dict[str, Any] = {} if point.start_us is None else {"start": _start(point.start_us)}
    body["group"] = point.group
    body["cost_usd"] = f"{cost // 1_000_000}.{cost % 1_000_000:06d}" if cost >= 0 else usd_text(cost)
    body["cost_micros"] = cost
    body["requests"] = requests
    body["errors"] = c.errors
    body["error_rate"] = c.errors / requests if requests else None
    body["input_tokens"] = c.input_tokens
    body["output_tokens"] = c.output_tokens
    body["cached_tokens"] = c.cached_tokens
    body["cache_hits"] = c.cache_hits
    body["cache_hit_rate"] = c.cache_hits / requests if requests else None
    body["saved_usd"] = f"{saved // 1_000_000}.{saved % 1_000_000:06d}" if saved >= 0 else usd_text(saved)
    body["saved_micros"] = saved
    body["latency_ms"] = {"p50": p50, "p95": p95, "p99": p99}
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
