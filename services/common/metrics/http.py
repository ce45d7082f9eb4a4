"""Request counts and latency histograms by method, route template and status.

Observed once per request by the request-context middleware (services/common/http/middleware.py),
so it is on every service's hot path: a request costs one dict lookup, a bisect and three
additions; the collector builds the counter and histogram when scraped. The route is
the template (`/receipts/{run_id}`), never the path, so the label values stay few: a path no route
matched is `unmatched`.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString

UNMATCHED = "unmatched"
HOT_ROUTE = "tollway.route"  # scope key: the route a hot path (services/common/http/hot_path.py) served
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# seconds: from well under the gateway's own overhead to a long stream
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
           120.0)


def route_of(scope: dict[str, Any]) -> str:
    """The template of the route that served the request (after it ran)."""
    hot = scope.get(HOT_ROUTE)
    if hot is not None:
        return str(hot)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetrics:
    """Counts, sums and bucket counts kept as plain numbers per (method, route, status) and turned
    into a Prometheus counter and histogram only when scraped (a custom collector: the library's
    own children take a lock and several calls per observation)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        # (method, route, status) -> [count, seconds summed, one count per bucket and one past the last]
        self._series: dict[tuple[str, str, int], list[Any]] = {}
        registry.register(self)

    def observe(self, scope: dict[str, Any], status: int, seconds: float) -> None:
        method = scope["method"]
        if method not in METHODS:  # any other word a client sends is one label value, one key
            method = "OTHER"
        key = (method, route_of(scope), status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = [0, 0.0, [0] * (len(BUCKETS) + 1)]
        series[0] += 1
        series[1] += seconds
        series[2][bisect_left(BUCKETS, seconds)] += 1  # the first bound >= seconds (`le`)

    def collect(self) -> list[CounterMetricFamily | HistogramMetricFamily]:
        labels = ("method", "route", "status")
        requests = CounterMetricFamily("tollway_http_requests", "HTTP requests answered, by route template and"
                                       " status", labels=labels)
        duration = HistogramMetricFamily("tollway_http_request_duration_seconds", "Time from a request's arrival"
                                         " to the end of its answer (a stream: its last byte)", labels=labels)
        for (method, route, status), (count, total, buckets) in list(self._series.items()):
            values = (method, route, str(status))
            requests.add_metric(values, count)
            cumulative, running = [], 0
            for bound, n in zip((*map(floatToGoString, BUCKETS), "+Inf"), buckets, strict=True):
                running += n
                cumulative.append((bound, running))
            duration.add_metric(values, cumulative, total)
        return [requests, duration]
