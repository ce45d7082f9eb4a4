"""One service's metrics: its own registry (not prometheus-client's global one, so several apps in
one test process never mix), its request metrics, and what is read only when scraped.

Each service runs as one process (one uvicorn worker), so one in-memory registry is the whole
truth; several worker processes would each answer with their own figures (prometheus-client's
multiprocess mode is not used).

Figures a service already keeps (breakers, limiter counters, the shipping backlog, store totals)
are not counted twice on the request path: `gauge`/`counter` register a reader called at scrape
time, and `before_scrape` an async refresh (a store query) awaited before the text is made.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Info, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.common.metrics.http import HttpMetrics

disable_created_metrics()  # no `_created` series beside every counter: Prometheus does not use them

Reading = float | Iterable[tuple[Sequence[str], float]]  # one value, or (label values, value) pairs


class _Read(Collector):
    def __init__(self, kind: type[GaugeMetricFamily] | type[CounterMetricFamily], name: str, doc: str,
                 labels: Sequence[str], read: Callable[[], Reading]) -> None:
        self.kind, self.name, self.doc, self.labels, self.read = kind, name, doc, list(labels), read

    def collect(self) -> Iterable[Metric]:
        family = self.kind(self.name, self.doc, labels=self.labels)
        value = self.read()
        if isinstance(value, int | float):
            family.add_metric([], value)
        else:
            for labels, v in value:
                family.add_metric(list(labels), v)
        yield family

    def describe(self) -> Iterable[Metric]:
        yield self.kind(self.name, self.doc, labels=self.labels)


class ServiceMetrics:
    def __init__(self, service: str, version: str = "0.1.0") -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self.http = HttpMetrics(self.registry)
        Info("tollway_service", "Which Tollway service answers", registry=self.registry).info(
            {"service": service, "version": version})
        self._refresh: list[Callable[[], Awaitable[None]]] = []

    def gauge(self, name: str, doc: str, read: Callable[[], Reading], labels: Sequence[str] = ()) -> None:
        self.registry.register(_Read(GaugeMetricFamily, name, doc, labels, read))

    def counter(self, name: str, doc: str, read: Callable[[], Reading], labels: Sequence[str] = ()) -> None:
        """`name` without `_total`: a count the service keeps itself, exposed as a counter."""
        self.registry.register(_Read(CounterMetricFamily, name, doc, labels, read))

    def before_scrape(self, refresh: Callable[[], Awaitable[None]]) -> None:
        self._refresh.append(refresh)

    async def refresh(self) -> None:
        for refresh in self._refresh:
            await refresh()

    def register(self, collector: Any) -> None:
        self.registry.register(collector)
