"""Announcing threshold crossings: one structlog warning per event, raised once (see levels), and
the events handed to `notify` (the alert channels' queue, services/ledger/alerts/runner.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import structlog

from services.common.money import fmt_usd, from_micros
from services.ledger.budgets.model import ThresholdEvent
from services.ledger.times import iso

log = structlog.get_logger("tollway.ledger.budgets")


def announce(events: Sequence[ThresholdEvent],
             notify: Callable[[Sequence[ThresholdEvent]], None] | None = None) -> None:
    if events and notify is not None:
        notify(events)
    for event in events:
        log.warning("budget_threshold_crossed", scope=event.key.scope, scope_id=event.key.scope_id,
                    threshold=event.threshold, level=event.level, at=iso(event.at_us),
                    spent_usd=fmt_usd(from_micros(event.spent_micros)),
                    budget_usd=fmt_usd(from_micros(event.budget_micros)))
