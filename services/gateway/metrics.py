"""The gateway's Prometheus metrics beyond the request counts every service has.

On the request path, one call per written receipt (`ReceiptMetrics.observe`, from
`Pipeline.after_receipt`): receipts by provider, model and status, their cost and tokens, cache
hits and the dollars they saved. A (provider, model, status) label set's children are made once
and kept; a receipt costs a dict lookup and four increments.

Everything else is read when scraped, from what the gateway keeps anyway: circuit breakers, the
rate limiter's counters, the response cache's statistics, the unshipped-receipt backlog, leases
and settlements in flight.

Money here is a float (Prometheus has no other number): the exact figures are the receipts and
the ledger's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter

from services.common.metrics.service import ServiceMetrics
from services.gateway.forwarding.breaker import CLOSED, HALF_OPEN, OPEN
from services.gateway.receipts.build import Receipt

BREAKER_STATES = (CLOSED, OPEN, HALF_OPEN)


class ReceiptMetrics:
    def __init__(self, metrics: ServiceMetrics) -> None:
        registry = metrics.registry
        pm = ("provider", "model")
        self.receipts = Counter("tollway_gateway_receipts", "Receipts written, by provider, model and status"
                                " (success | error | budget_exceeded)", (*pm, "status"), registry=registry)
        self.cost = Counter("tollway_gateway_cost_usd", "Dollars charged on receipts", pm, registry=registry)
        self.tokens = Counter("tollway_gateway_tokens", "Tokens on receipts: input (cache reads included),"
                              " output, and the input read from the provider's prompt cache",
                              (*pm, "kind"), registry=registry)
        self.cache_hits = Counter("tollway_gateway_cache_hits", "Requests answered from the response cache",
                                  ("kind",), registry=registry)
        self.cache_saved = Counter("tollway_gateway_cache_saved_usd", "What the answers served from the cache"
                                   " cost when they were first bought", registry=registry)
        self._children: dict[tuple[str, str, str], tuple[Any, Any, Any, Any, Any]] = {}

    def observe(self, receipt: Receipt) -> None:
        key = (receipt["provider"], receipt["model"], receipt["status"])
        children = self._children.get(key)
        if children is None:
            provider, model, status = key
            children = (self.receipts.labels(provider, model, status), self.cost.labels(provider, model),
                        self.tokens.labels(provider, model, "input"), self.tokens.labels(provider, model, "output"),
                        self.tokens.labels(provider, model, "cache_read"))
            self._children[key] = children
        receipts, cost, input_tokens, output_tokens, cache_read = children
        receipts.inc()
        if receipt["cost_micros"]:
            cost.inc(receipt["cost_micros"] / 1_000_000)
        input_tokens.inc(receipt["input_tokens"])
        output_tokens.inc(receipt["output_tokens"])
        if receipt.get("cache_read_input_tokens"):
            cache_read.inc(receipt["cache_read_input_tokens"])
        if receipt.get("cache") == "hit":
            self.cache_hits.labels(receipt.get("cache_kind", "exact")).inc()
            saved = receipt.get("saved_usd")
            if saved:
                self.cache_saved.inc(float(saved))


def install(metrics: ServiceMetrics, pipeline: Any, shipper: Any, leases: Any, gate: Any) -> ReceiptMetrics:
    """The gateway's metrics on `metrics`; the receipt observer for the pipeline to call."""
    breakers = pipeline.forwarder.breakers

    def breaker_states() -> Iterable[tuple[tuple[str, str], float]]:
        for name, breaker in breakers.to_json().items():
            for state in BREAKER_STATES:
                yield (name, state), 1.0 if breaker["state"] == state else 0.0

    metrics.gauge("tollway_gateway_breaker_state", "Each provider's circuit: 1 for the state it is in",
                  breaker_states, ("provider", "state"))
    counters = gate.limiter.counters
    metrics.counter("tollway_gateway_rate_limit_checks", "Rate-limit checks made", lambda: counters.checks)
    metrics.counter("tollway_gateway_rate_limit_refusals", "Rate-limit checks that refused a request (429)",
                    lambda: counters.refused)
    metrics.counter("tollway_gateway_rate_limit_store_failures", "Checks the limit store could not answer,"
                    " by what was done", lambda: [(("admitted",), counters.failed_open),
                                                  (("refused",), counters.failed_closed)], ("outcome",))
    cache = pipeline.cache
    if cache is not None:
        def lookups() -> Iterable[tuple[tuple[str], float]]:
            stats = cache.stats
            return [(("hit_exact",), stats.hits_exact), (("hit_semantic",), stats.hits_semantic),
                    (("miss",), stats.misses)]

        metrics.counter("tollway_gateway_cache_lookups", "Response-cache lookups by result", lookups, ("result",))
        metrics.gauge("tollway_gateway_cache_entries", "Answers held in the response cache",
                      lambda: cache.stats.entries)
    metrics.gauge("tollway_gateway_receipts_unshipped_files", "Run files with receipts not yet acknowledged by"
                  " the ledger", lambda: shipper.backlog_files)
    metrics.gauge("tollway_gateway_receipts_unshipped_bytes", "Bytes of receipts not yet acknowledged by the"
                  " ledger", shipper.backlog_bytes)
    metrics.counter("tollway_gateway_receipts_shipped", "Receipts the ledger acknowledged", lambda: shipper.shipped)
    metrics.counter("tollway_gateway_receipt_ship_failures", "Shipping passes that failed (ledger unreachable)",
                    lambda: shipper.failures)
    metrics.gauge("tollway_gateway_settlements_open", "Admitted requests whose receipt is not written yet",
                  lambda: pipeline.open_settlements)
    metrics.gauge("tollway_gateway_budget_leases", "Budget leases this gateway holds at the ledger",
                  lambda: leases.active)
    metrics.gauge("tollway_gateway_budget_reservations_in_flight", "Requests holding a reservation on a lease",
                  lambda: leases.in_flight)
    return ReceiptMetrics(metrics)
