"""The gateway's Prometheus metrics beyond the request counts every service has.

On the request path, one call per written receipt (`ReceiptMetrics.observe`, from
`Pipeline.after_receipt`): receipts by provider, model and status, their cost and tokens, cache
hits and the dollars they saved, summed as plain integers and read by a collector when scraped.

Everything else is read when scraped, from what the gateway keeps anyway: circuit breakers, the
rate limiter's counters, the response cache's statistics, the unshipped-receipt backlog, leases
and settlements in flight.

Money here is a float (Prometheus has no other number): the exact figures are the receipts and
the ledger's.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from prometheus_client.core import CounterMetricFamily

from services.common.metrics.service import ServiceMetrics
from services.gateway.forwarding.breaker import CLOSED, HALF_OPEN, OPEN
from services.gateway.receipts.build import Receipt

BREAKER_STATES = (CLOSED, OPEN, HALF_OPEN)


class ReceiptMetrics:
    """Receipts, cost, tokens and cache hits, summed in plain integers on the request path and
    turned into Prometheus counters only when scraped (a custom collector: prometheus-client's own
    counter takes a lock and several calls per increment, five increments a receipt)."""

    def __init__(self, metrics: ServiceMetrics) -> None:
        # (provider, model, status) -> [receipts, cost micros, input, output, cache-read tokens]
        self._sums: dict[tuple[str, str, str], list[int]] = {}
        self._hits: dict[str, int] = {}
        self._saved_usd = Decimal(0)
        metrics.registry.register(self)

    def observe(self, receipt: Receipt) -> None:
        key = (receipt["provider"], receipt["model"], receipt["status"])
        sums = self._sums.get(key)
        if sums is None:
            sums = self._sums[key] = [0, 0, 0, 0, 0]
        sums[0] += 1
        sums[1] += receipt["cost_micros"]
        sums[2] += receipt["input_tokens"]
        sums[3] += receipt["output_tokens"]
        sums[4] += receipt.get("cache_read_input_tokens") or 0
        if receipt.get("cache") == "hit":
            kind = receipt.get("cache_kind", "exact")
            self._hits[kind] = self._hits.get(kind, 0) + 1
            saved = receipt.get("saved_usd")
            if saved:
                self._saved_usd += Decimal(str(saved))

    def collect(self) -> Iterable[CounterMetricFamily]:
        receipts = CounterMetricFamily("tollway_gateway_receipts", "Receipts written, by provider, model and status"
                                       " (success | error | budget_exceeded)", labels=("provider", "model", "status"))
        cost = CounterMetricFamily("tollway_gateway_cost_usd", "Dollars charged on receipts",
                                   labels=("provider", "model"))
        tokens = CounterMetricFamily("tollway_gateway_tokens", "Tokens on receipts: input (cache reads included),"
                                     " output, and the input read from the provider's prompt cache",
                                     labels=("provider", "model", "kind"))
        by_model: dict[tuple[str, str], list[int]] = {}
        for (provider, model, status), sums in list(self._sums.items()):
            receipts.add_metric((provider, model, status), sums[0])
            total = by_model.setdefault((provider, model), [0, 0, 0, 0])
            for i in range(4):
                total[i] += sums[i + 1]
        for (provider, model), (micros, inp, out, cache_read) in by_model.items():
            cost.add_metric((provider, model), micros / 1_000_000)
            tokens.add_metric((provider, model, "input"), inp)
            tokens.add_metric((provider, model, "output"), out)
            tokens.add_metric((provider, model, "cache_read"), cache_read)
        hits = CounterMetricFamily("tollway_gateway_cache_hits", "Requests answered from the response cache",
                                   labels=("kind",))
        for kind, n in list(self._hits.items()):
            hits.add_metric((kind,), n)
        saved = CounterMetricFamily("tollway_gateway_cache_saved_usd", "What the answers served from the cache"
                                    " cost when they were first bought", value=float(self._saved_usd))
        return [receipts, cost, tokens, hits, saved]


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
    metrics.gauge("tollway_gateway_budget_leases_draining", "Budget leases given back whose costs the ledger"
                  " still holds until their receipts are booked", lambda: leases.draining)
    metrics.gauge("tollway_gateway_budget_reservations_in_flight", "Requests holding a reservation on a lease",
                  lambda: leases.in_flight)
    return ReceiptMetrics(metrics)
