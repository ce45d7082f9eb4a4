"""How long each kind of data is kept, and the task that prunes what is older.

Defaults (settings, TOLLWAY_RETENTION_*_DAYS): raw receipts 90 days, minute rollups 7 days, hour
rollups 90 days, day rollups 2 years (730 days), budget spend buckets 70 days (at least 63: a
monthly budget's current and previous month in any zone, 62 days, and a day's margin for the
zone's offset), a periodic budget's threshold events 70 days (at least 63). A rollup row or spend
bucket goes when its bucket starts before now - retention; a receipt when its timestamp is.

A threshold event is raised once per period because the period's stored events say which
thresholds were raised already: pruning one of a period that is still open would raise it again.
So an event goes when its period starts before now - retention (at least 63 days: every period,
a month at most, has ended by then), never one of a one-off budget (its one period never ends;
deleting the budget deletes them), and never before the spend buckets of its period are gone (a
late receipt for a period whose spend is still kept would find its thresholds unraised). The
clock is the ledger's (injectable), so tests move it instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from services.common.tasks import BackgroundLoop
from services.ledger.times import US_PER_S

if TYPE_CHECKING:
    from services.common.settings import Settings
    from services.ledger.store.base import LedgerStore

log = structlog.get_logger("ledger.retention")
US_PER_DAY = 86_400 * US_PER_S


@dataclass(frozen=True)
class Retention:
    receipts_days: float = 90
    minute_days: float = 7
    hour_days: float = 90
    day_days: float = 730
    spend_bucket_days: float = 70
    budget_event_days: float = 70  # never less, in effect, than spend_bucket_days

    @classmethod
    def of(cls, settings: Settings) -> Retention:
        return cls(settings.retention_receipts_days, settings.retention_minute_days,
                   settings.retention_hour_days, settings.retention_day_days,
                   settings.retention_spend_bucket_days, settings.retention_budget_event_days)

    def cutoffs(self, now_us: int) -> Cutoffs:
        def before(days: float) -> int:
            return now_us - int(days * US_PER_DAY)

        return Cutoffs(receipts_us=before(self.receipts_days),
                       grains={"minute": before(self.minute_days), "hour": before(self.hour_days),
                               "day": before(self.day_days)},
                       spend_buckets_us=before(self.spend_bucket_days),
                       budget_events_us=before(max(self.budget_event_days, self.spend_bucket_days)))


@dataclass(frozen=True)
class Cutoffs:
    receipts_us: int  # receipts with ts_us before it go
    grains: dict[str, int]  # rollup rows of a grain with bucket_us before it go
    spend_buckets_us: int  # budget spend buckets with bucket_us before it go
    budget_events_us: int = 0  # periodic budgets' threshold events with period_start_us before it go


@dataclass(frozen=True)
class Pruned:
    receipts: int
    rows: int  # series and latency rows
    spend_buckets: int = 0
    budget_events: int = 0


async def prune_once(store: LedgerStore, retention: Retention, now_us: int) -> Pruned:
    pruned = await store.prune(retention.cutoffs(now_us))
    if pruned.receipts or pruned.rows or pruned.spend_buckets or pruned.budget_events:
        log.info("retention_pruned", receipts=pruned.receipts, rows=pruned.rows, spend_buckets=pruned.spend_buckets,
                 budget_events=pruned.budget_events)
    return pruned


class Pruner:
    """Runs prune_once every `interval_s` (0: never) in the background; a failed prune is tried
    again next time, and the ledger goes on."""

    def __init__(self, store: LedgerStore, retention: Retention, now_us: Callable[[], int], interval_s: float):
        self.store, self.retention, self.now_us, self.interval_s = store, retention, now_us, interval_s
        self.loop = BackgroundLoop("ledger-retention", self.prune, interval_s, failed_event="retention_prune_failed",
                                   logger=log)

    async def prune(self) -> Pruned:
        return await prune_once(self.store, self.retention, self.now_us())

    def start(self) -> None:
        if self.interval_s > 0:
            self.loop.start()

    async def stop(self) -> None:
        await self.loop.stop()
