"""The ledger's Prometheus metrics beyond the request counts every service has.

Counted as it happens: receipts ingested (new, and duplicates not counted again) with their cost
by provider, budget thresholds crossed, lease grants. Read when scraped: the holds and leases in
force and the money they hold (one store query per scrape), receipts in the book, events published
on `GET /events` and the readers connected to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter

from services.common.metrics.service import ServiceMetrics
from services.ledger.budgets.leases import LeaseOutcome
from services.ledger.budgets.model import ThresholdEvent
from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import IngestResult


class LedgerMetrics:
    def __init__(self, service: ServiceMetrics | None = None) -> None:
        self.service = service or ServiceMetrics("ledger")
        registry = self.service.registry
        self.ingested = Counter("tollway_ledger_receipts_ingested", "Receipts booked (new ones)",
                                registry=registry)
        self.duplicates = Counter("tollway_ledger_receipt_duplicates", "Receipts received again and not"
                                  " booked twice", registry=registry)
        self.spend = Counter("tollway_ledger_spend_usd", "Dollars booked, by provider", ("provider",),
                             registry=registry)
        self.thresholds = Counter("tollway_ledger_budget_thresholds", "Budget thresholds crossed",
                                  ("scope", "threshold"), registry=registry)
        self.leases = Counter("tollway_ledger_lease_grows", "Lease requests from gateways, by outcome",
                              ("outcome",), registry=registry)
        self.lease_granted = Counter("tollway_ledger_lease_granted_usd", "Dollars granted to gateways' leases",
                                     registry=registry)
        self._spend: dict[str, Any] = {}
        self.held = (0, 0)  # (holds and leases in force, micros they hold), as of the last scrape

    def booked(self, result: IngestResult) -> None:
        self.ingested.inc(result.accepted)
        if result.duplicates:
            self.duplicates.inc(result.duplicates)
        self._book(result.new)
        self.crossed(result.events)

    def _book(self, receipts: Iterable[Receipt]) -> None:
        for receipt in receipts:
            child = self._spend.get(receipt.provider)
            if child is None:
                child = self._spend[receipt.provider] = self.spend.labels(receipt.provider)
            if receipt.cost_micros:
                child.inc(receipt.cost_micros / 1_000_000)

    def crossed(self, events: Iterable[ThresholdEvent]) -> None:
        for event in events:
            self.thresholds.labels(event.key.scope, str(event.threshold)).inc()

    def lease(self, outcome: LeaseOutcome) -> None:
        self.leases.labels(outcome.kind).inc()
        if outcome.kind == "granted" and outcome.granted_micros > 0:
            self.lease_granted.inc(outcome.granted_micros / 1_000_000)


def install(metrics: LedgerMetrics, ctx: Any) -> None:
    """The scrape-time figures of the ledger `ctx` (its store, its event bus)."""
    service = metrics.service

    async def read_holds() -> None:
        metrics.held = await ctx.store.hold_figures(ctx.now_us())

    service.before_scrape(read_holds)
    service.gauge("tollway_ledger_holds_active", "Holds and gateway leases in force (unexpired)",
                  lambda: metrics.held[0])
    service.gauge("tollway_ledger_held_usd", "Dollars reserved by the holds and leases in force",
                  lambda: metrics.held[1] / 1_000_000)
    service.gauge("tollway_ledger_receipts_stored", "Receipts in the book (as of this ledger's last write)",
                  lambda: ctx.store.receipt_count)
    service.counter("tollway_ledger_events_published", "Events published on GET /events",
                    lambda: ctx.events.published)
    service.gauge("tollway_ledger_event_readers", "GET /events streams open", lambda: ctx.events.readers)
