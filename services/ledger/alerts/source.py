"""Where rule metrics come from: a `MetricSource` answers "what did the receipts matching these
filters add up to in [first, last)". Today it reads the receipts themselves (`ReceiptMetrics`); a
time-series layer with rollups by every dimension can stand behind the same interface."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from services.ledger.alerts.window_stats import WindowStats, add_up
from services.ledger.store.alerts import AlertStore


class MetricSource(Protocol):
    async def stats(self, filters: Mapping[str, str], first_us: int, last_us: int) -> WindowStats: ...


class ReceiptMetrics:
    def __init__(self, store: AlertStore) -> None:
        self.store = store

    async def stats(self, filters: Mapping[str, str], first_us: int, last_us: int) -> WindowStats:
        return add_up(await self.store.receipts_between(first_us, last_us), filters)
