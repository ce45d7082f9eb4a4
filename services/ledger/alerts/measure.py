"""A rule's metric, measured at an instant: a Decimal, or None when there is nothing to measure
(no receipts in the window for a rate or a latency, no such budget, too little history)."""

from __future__ import annotations

from decimal import Decimal

from services.common.money import from_micros
from services.ledger.alerts.rules import AlertRule
from services.ledger.alerts.source import MetricSource
from services.ledger.analytics import anomaly
from services.ledger.budgets.model import BudgetKey
from services.ledger.store.base import LedgerStore

US_PER_S = 1_000_000
SIX_PLACES = Decimal("0.000001")


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(SIX_PLACES) if whole else None


async def measure(rule: AlertRule, source: MetricSource, ledger: LedgerStore, now_us: int,
                  anomaly_days: int) -> Decimal | None:
    if rule.metric == "budget_percent":
        assert rule.budget is not None
        state = await ledger.budget(BudgetKey(rule.budget["scope"], rule.budget["scope_id"]), now_us)
        if state is None or state.budget_micros <= 0:
            return None
        return (Decimal(state.spent_micros * 100) / Decimal(state.budget_micros)).quantize(SIX_PLACES)
    last_us = now_us + 1  # the window is (now - window, now], a receipt of this very instant in it
    first_us = last_us - rule.window_s * US_PER_S
    stats = await source.stats(rule.filters, first_us, last_us)
    if rule.metric == "cost":
        return from_micros(stats.cost_micros)
    if rule.metric == "requests":
        return Decimal(stats.requests)
    if rule.metric == "tokens":
        return Decimal(stats.tokens)
    if rule.metric == "error_rate":
        return _ratio(stats.errors, stats.requests)
    if rule.metric == "cache_hit_rate":
        return _ratio(stats.cache_hits, stats.requests)
    if rule.metric in ("p95_latency_ms", "p99_latency_ms"):
        value = stats.p95_ms if rule.metric == "p95_latency_ms" else stats.p99_ms
        return None if value is None else Decimal(str(round(value, 3)))
    assert rule.metric == "spend_anomaly", rule.metric
    history = []
    for first, last in anomaly.same_time_windows(first_us, last_us, anomaly_days):
        past = await source.stats(rule.filters, first, last)
        if past.requests:
            history.append(from_micros(past.cost_micros))
    return anomaly.score(from_micros(stats.cost_micros), history)
