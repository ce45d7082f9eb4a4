"""Request counts and latency histograms by method, route template and status.

Observed once per request by the request-context middleware (services/common/http/middleware.py),
so it is on every service's hot path: a label set's two children are looked up once and kept, and
a request costs one dict lookup, one counter increment and one histogram observation. The route is
the template (`/receipts/{run_id}`), never the path, so the label values stay few: a path no route
matched is `unmatched`.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

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
    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("method", "route", "status")
        self.requests = Counter("tollway_http_requests", "HTTP requests answered, by route template and status",
                                labels, registry=registry)
        self.duration = Histogram("tollway_http_request_duration_seconds",
                                  "Time from a request's arrival to the end of its answer (a stream: its last byte)",
                                  labels, registry=registry, buckets=BUCKETS)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, scope: dict[str, Any], status: int, seconds: float) -> None:
        method = scope["method"]
        if method not in METHODS:  # any other word a client sends is one label value, one key
            method = "OTHER"
        key = (method, route_of(scope), status)
        children = self._children.get(key)
        if children is None:
            values = (method, key[1], str(status))
            children = (self.requests.labels(*values), self.duration.labels(*values))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
