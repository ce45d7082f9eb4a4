"""The `LedgerStore` protocol: every read and atomic write the ledger needs, backend-neutral.

Times are integer microseconds since the epoch, money integer microdollars. Each write method
is ONE transaction: a check and the write it guards can never interleave with another writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from services.ledger.analytics.backfill import BackfillStep
from services.ledger.analytics.query import SeriesQuery, SeriesRows
from services.ledger.analytics.retention import Cutoffs, Pruned
from services.ledger.budgets.config import ONE_OFF, BudgetTerms
from services.ledger.budgets.holds import HoldOutcome
from services.ledger.budgets.leases import LeaseOutcome
from services.ledger.budgets.model import BudgetKey, BudgetState, ThresholdEvent
from services.ledger.budgets.periods import Window
from services.ledger.keys.model import VirtualKey
from services.ledger.receipts.parse import Receipt
from services.ledger.windows.rollup import Row


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    events: list[ThresholdEvent] = field(default_factory=list)  # raised by this ingest
    new: Sequence[Receipt] = ()  # the receipts accepted (not duplicates), in batch order


@dataclass(frozen=True)
class SettleResult:
    ingest: IngestResult
    released: bool  # the hold existed (unexpired) and is gone
    state: BudgetState | None  # the receipt's run budget, None when it has none


@dataclass(frozen=True)
class BudgetChange:
    state: BudgetState
    created: bool
    version: int  # the budget snapshot version after the change
    events: list[ThresholdEvent] = field(default_factory=list)


PeriodSpend = tuple[Window, int, tuple[ThresholdEvent, ...]]  # a period, its spend, its threshold events


@dataclass(frozen=True)
class RunReceipts:
    count: int
    spent_micros: int
    bodies: list[str]  # each receipt's JSON exactly as stored, ordered by timestamp


class ArmSample(NamedTuple):
    """One receipt of an A/B experiment, as its report needs it."""

    arm: str
    status: str  # success | error | budget_exceeded
    latency_ms: float
    cost_micros: int
    input_tokens: int
    output_tokens: int
    first_attempt: str | None = None  # the first upstream attempt's status; None: nothing was sent


class LedgerStore(Protocol):
    @property
    def receipt_count(self) -> int:
        """Receipts in the book, as of this store's last open or write (for /health)."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ingest(self, receipts: Sequence[Receipt], now_us: int) -> IngestResult:
        """Insert new receipts (idempotent on request_id), update spend and rollups, remove
        holds settled by them, raise threshold events; all or nothing."""
        ...

    async def settle(self, hold_id: str, receipt: Receipt, now_us: int) -> SettleResult:
        """Ingest `receipt` and drop hold `hold_id` in one transaction."""
        ...

    async def run_receipts(self, run_id: str, limit: int, offset: int,
                           tenant: str | None = None) -> RunReceipts:
        """A run's receipts in time order; with `tenant`, only that tenant's."""
        ...

    async def receipt(self, request_id: str, tenant: str | None = None) -> str | None:
        """The body of the receipt of `request_id` (with `tenant`, only if it is that tenant's);
        None when there is none."""
        ...

    async def experiment_samples(self, experiment: str, tenant: str | None = None) -> list[ArmSample]:
        """Every receipt routed by an A/B experiment (with `tenant`, only that tenant's), unordered."""
        ...

    async def receipts_between(self, first_us: int, until_us: int, limit: int,
                               tenant: str | None = None) -> list[str]:
        """The bodies of the receipts with a timestamp in [first_us, until_us) (with `tenant`, only
        that tenant's), newest first, at most `limit` of them."""
        ...

    async def set_budget(self, key: BudgetKey, budget_micros: int, now_us: int,
                         terms: BudgetTerms = ONE_OFF) -> BudgetChange:
        """Create or change a budget (amount and terms); the thresholds its spend already reached
        in the current period are raised (once)."""
        ...

    async def delete_budget(self, key: BudgetKey) -> int | None:
        """The new snapshot version, or None when there was no such budget."""
        ...

    async def budget(self, key: BudgetKey, now_us: int) -> BudgetState | None:
        """Its state in the current period, with the burn of the last hour and day (`burn`)."""
        ...

    async def budgets(self, scope: str, now_us: int) -> list[BudgetState]:
        """Every readable budget of `scope`, as `budget` gives each."""
        ...

    async def budget_history(self, key: BudgetKey, now_us: int, count: int) -> list[PeriodSpend] | None:
        """The current period and the `count` - 1 before it, newest first (a one-off budget:
        its one period); None when there is no such budget."""
        ...

    async def snapshot(self) -> tuple[int, dict[str, list[str]], dict[str, int]]:
        """(version, the ids of every budget by scope, every budget's cap in micros as
        '<scope>:<id>'), read together."""
        ...

    async def version(self) -> int: ...

    async def place_hold(self, hold_id: str, key: BudgetKey, amount_micros: int, now_us: int,
                         ttl_us: int) -> HoldOutcome:
        """Check and reserve atomically; idempotent on hold_id; expired holds are dropped."""
        ...

    async def release_hold(self, hold_id: str, now_us: int) -> bool: ...

    async def grow_lease(self, lease_id: str, key: BudgetKey, need_micros: int, want_micros: int,
                         now_us: int, ttl_us: int, share: float = 1.0, tenant: str | None = None) -> LeaseOutcome:
        """Grant `need` (else refused) and up to `want` within `share` of what is left, and renew
        the lease, atomically; a run's budget is claimed by the first `tenant` to lease from it
        and `foreign` to any other."""
        ...

    async def run_owner(self, run_id: str) -> str | None:
        """The tenant a run's budget belongs to, if one has claimed it."""
        ...

    async def return_lease(self, lease_id: str, amount_micros: int, now_us: int) -> LeaseOutcome | None:
        """Give back up to `amount`; None when the lease is unknown or expired."""
        ...

    async def hold_figures(self, now_us: int) -> tuple[int, int]:
        """(unexpired holds and leases, the microdollars they hold), for /metrics."""
        ...

    async def tenant_window(self, tenant: str, size_us: int, first_us: int, last_us: int) -> list[Row]:
        """One tenant's receipts as rollup rows of buckets `size_us` wide in [first_us, last_us]."""
        ...

    async def rollups(self, grain: str, first_us: int, last_us: int) -> list[Row]:
        """Rollup rows of `grain` with bucket start in [first_us, last_us]."""
        ...

    async def series_rows(self, query: SeriesQuery) -> SeriesRows:
        """The series rollups a query asks for, summed per (bucket, group) (services/ledger/analytics/query.py)."""
        ...

    async def backfill_series(self, limit: int) -> BackfillStep:
        """Up to `limit` of the receipts booked before the series existed (migration 0010) added to
        the series as their ingest would have, and struck off that list, in one transaction."""
        ...

    async def series_backfill_pending(self) -> int:
        """How many receipts are still on that list."""
        ...

    def exclusive_round(self, name: str, round_no: int) -> AbstractAsyncContextManager[bool]:
        """Inside: whether this replica does round `round_no` of the periodic work `name` (True for
        one replica per round on PostgreSQL; always True on SQLite)."""
        ...

    async def prune(self, cutoffs: Cutoffs) -> Pruned:
        """Delete rollup rows, raw receipts, budget spend buckets and periodic budgets' threshold events
        older than their retention, in one transaction."""
        ...

    async def create_key(self, key: VirtualKey) -> int:
        """Store a new key; the keys snapshot version after it."""
        ...

    async def key(self, key_id: str) -> VirtualKey | None: ...

    async def key_by_hash(self, secret_hash: str) -> VirtualKey | None: ...

    async def keys(self, filters: dict[str, str]) -> list[VirtualKey]:
        """Every key, optionally only those with these user/team/org values."""
        ...

    async def revoke_key(self, key_id: str, now_us: int) -> tuple[VirtualKey, int] | None:
        """Revoke; the key and the keys snapshot version, None when there is no such key."""
        ...

    async def keys_snapshot(self, now_us: int) -> tuple[int, list[VirtualKey], list[dict[str, Any]]]:
        """(version, every key, the unexpired rate limits), read together."""
        ...

    async def put_limit(self, spec: dict[str, Any], expires_us: int | None, now_us: int) -> int:
        """Create or replace the limit (name, dimension, match); the keys snapshot version after."""
        ...

    async def drop_limit(self, name: str, dimension: str, match: str) -> int | None: ...

    async def limits(self, now_us: int) -> list[dict[str, Any]]: ...
