"""The shared Prometheus pieces: request metrics by route template, scrape-time readers, and which
requests get the text exposition."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from services.common.metrics.exposition import wants_text
from services.common.metrics.http import HOT_ROUTE, UNMATCHED, HttpMetrics, route_of
from services.common.metrics.service import ServiceMetrics


def samples(metrics: ServiceMetrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = generate_latest(metrics.registry).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_route_is_the_template_the_hot_path_or_unmatched() -> None:
    template = SimpleNamespace(path="/receipts/{run_id}")
    assert route_of({"route": template, "path": "/receipts/r1"}) == "/receipts/{run_id}"
    assert route_of({HOT_ROUTE: "/v1/chat/completions", "path": "/v1/chat/completions"}) == "/v1/chat/completions"
    assert route_of({"path": "/whatever"}) == UNMATCHED


def test_requests_are_counted_and_timed_by_method_route_and_status() -> None:
    metrics = ServiceMetrics("test")
    http: HttpMetrics = metrics.http
    scope: dict[str, Any] = {"method": "GET", "route": SimpleNamespace(path="/things/{id}")}
    for seconds in (0.0004, 0.003, 0.2):
        http.observe(scope, 200, seconds)
    http.observe(scope, 404, 0.001)
    http.observe({"method": "BREW", "path": "/pot"}, 405, 0.001)
    http.observe({"method": "WHEN", "path": "/pot"}, 405, 0.001)
    got = samples(metrics)
    ok = frozenset({("method", "GET"), ("route", "/things/{id}"), ("status", "200")})
    assert got[("tollway_http_requests_total", ok)] == 3
    assert got[("tollway_http_request_duration_seconds_count", ok)] == 3
    assert got[("tollway_http_request_duration_seconds_bucket", ok | {("le", "0.0005")})] == 1
    assert got[("tollway_http_request_duration_seconds_bucket", ok | {("le", "0.005")})] == 2
    assert got[("tollway_http_request_duration_seconds_sum", ok)] == pytest.approx(0.2034)
    assert got[("tollway_http_requests_total", frozenset({("method", "GET"), ("route", "/things/{id}"),
                                                          ("status", "404")}))] == 1
    assert got[("tollway_http_requests_total", frozenset({("method", "OTHER"), ("route", UNMATCHED),
                                                          ("status", "405")}))] == 2
    assert len(http._series) == 3  # methods no one knows share one entry: a client cannot grow it
    assert not any(name.endswith("_created") for name, _ in got)


def test_readers_are_called_when_scraped() -> None:
    metrics = ServiceMetrics("test")
    state = {"backlog": 3, "by": {"a": 1, "b": 2}}
    metrics.gauge("t_backlog", "a gauge read at scrape", lambda: state["backlog"])
    metrics.counter("t_seen", "a count kept elsewhere", lambda: [((k,), v) for k, v in state["by"].items()], ("k",))
    assert samples(metrics)[("t_backlog", frozenset())] == 3
    state["backlog"], state["by"] = 0, {"a": 5}
    got = samples(metrics)
    assert got[("t_backlog", frozenset())] == 0
    assert got[("t_seen_total", frozenset({("k", "a")}))] == 5 and ("t_seen_total", frozenset({("k", "b")})) not in got


def request(query: bytes = b"", accept: str | None = None) -> Request:
    headers = [(b"accept", accept.encode())] if accept is not None else []
    return Request({"type": "http", "method": "GET", "path": "/metrics", "query_string": query, "headers": headers})


@pytest.mark.parametrize(("query", "accept", "text"), [
    (b"", None, True), (b"", "*/*", True), (b"", "text/plain;version=0.0.4", True),
    (b"", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5", True),
    (b"", "application/json", False), (b"window=hour", None, False), (b"window=", "text/plain", False)])
def test_which_requests_get_the_text_exposition(query: bytes, accept: str | None, text: bool) -> None:
    assert wants_text(request(query, accept)) is text
