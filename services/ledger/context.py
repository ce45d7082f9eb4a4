"""What every ledger route needs: settings, store, clock, the snapshot signals, the event bus and
the metrics."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.requests import Request

from services.common.clock import Clock
from services.common.http.longpoll import VersionSignal
from services.common.settings import Settings
from services.ledger.budgets.model import ThresholdEvent
from services.ledger.events.bus import EventBus
from services.ledger.metrics import LedgerMetrics
from services.ledger.receipts.group_commit import GroupCommit
from services.ledger.store.base import LedgerStore
from services.ledger.times import to_us


@dataclass
class LedgerContext:
    settings: Settings
    store: LedgerStore
    clock: Clock
    signal: VersionSignal = field(default_factory=VersionSignal)  # budgets snapshot
    keys_signal: VersionSignal = field(default_factory=VersionSignal)  # keys snapshot
    events: EventBus = field(default_factory=EventBus)  # GET /events (services/ledger/events/bus.py)
    # budget threshold events go here too (the alert channels' queue), after their log line
    on_threshold: Callable[[Sequence[ThresholdEvent]], None] | None = None
    metrics: LedgerMetrics = field(default_factory=LedgerMetrics)  # GET /metrics (Prometheus)

    # POST /receipts writes through this: concurrent batches share one transaction (group_commit.py)
    ingest: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.ingest = GroupCommit(self.store.ingest, self.settings.ingest_group_receipts)

    def now_us(self) -> int:
        return to_us(self.clock.now())


def ledger(request: Request) -> LedgerContext:
    ctx: LedgerContext = request.app.state.ledger
    return ctx
