"""The router's Prometheus metrics beyond the request counts every service has, all read when
scraped: providers by health, the snapshot version gateways follow, outcome reports received."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.metrics.service import ServiceMetrics
from services.router.context import RouterContext

HEALTH = ("healthy", "unhealthy", "unknown")


def install(metrics: ServiceMetrics, ctx: RouterContext) -> None:
    def providers() -> Iterable[tuple[tuple[str], float]]:
        statuses = [p.health.status for p in ctx.providers]
        return [((status,), statuses.count(status)) for status in HEALTH]

    metrics.gauge("tollway_router_providers", "Active providers in the registry, by health", providers, ("health",))
    metrics.gauge("tollway_router_snapshot_version", "The registry snapshot version gateways follow",
                  lambda: ctx.signal.version)
    metrics.counter("tollway_router_outcomes_received", "Routing outcomes reported by gateways",
                    lambda: ctx.outcomes.received)
