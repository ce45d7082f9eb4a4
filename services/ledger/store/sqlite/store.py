"""SqliteLedgerStore: one SQLite file in WAL mode behind one connection and one worker thread.

Every call runs on that single thread, so calls never interleave in this process; each write is
a `BEGIN IMMEDIATE` transaction, so they do not interleave with other processes on the file either.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from services.common.stored_rows import readable
from services.ledger.analytics.backfill import BackfillStep
from services.ledger.analytics.query import SeriesQuery, SeriesRows
from services.ledger.analytics.retention import Cutoffs, Pruned
from services.ledger.budgets.config import ONE_OFF, BudgetTerms
from services.ledger.budgets.holds import HoldOutcome
from services.ledger.budgets.leases import LeaseOutcome
from services.ledger.budgets.model import BudgetKey, BudgetState, ThresholdEvent
from services.ledger.keys.model import VirtualKey
from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import ArmSample, BudgetChange, IngestResult, PeriodSpend, RunReceipts, SettleResult
from services.ledger.store.sqlite import backfill, reserve, schema, sketch_sql
from services.ledger.store.sqlite import budgets as budget_rows
from services.ledger.store.sqlite import holds as hold_rows
from services.ledger.store.sqlite import ingest as ingest_tx
from services.ledger.store.sqlite import keys as key_rows
from services.ledger.store.sqlite import leases as lease_rows
from services.ledger.store.sqlite import owners as owner_rows
from services.ledger.store.sqlite import receipts as receipt_rows
from services.ledger.store.sqlite import rollups as rollup_rows
from services.ledger.store.sqlite import series as series_rows
from services.ledger.store.sqlite import spend as spend_rows
from services.ledger.windows.rollup import Row

T = TypeVar("T")


class SqliteLedgerStore:
    def __init__(self, path: Path, *, synchronous: str = "FULL", busy_timeout_ms: int = 10_000):
        self.path = path
        self.synchronous = synchronous  # FULL: a committed receipt survives a power cut too
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._worker: ThreadPoolExecutor | None = None
        self._count = 0

    @property
    def receipt_count(self) -> int:
        return self._count

    # -- plumbing ----------------------------------------------------------------------------

    def _connect(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        sketch_sql.install(conn)  # the sketch upserts merge with it
        schema.create(conn)
        self._conn = conn
        return receipt_rows.count_all(conn)

    def _in_tx(self, begin: str, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        conn = self._conn
        if conn is None:
            raise RuntimeError("the ledger store is not open")
        conn.execute(begin)
        try:
            result = fn(conn, *args)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    async def _call(self, begin: str, fn: Callable[..., T], *args: Any) -> T:
        if self._worker is None:
            raise RuntimeError("the ledger store is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._in_tx, begin, fn, args)

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._call("BEGIN IMMEDIATE", fn, *args)

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._call("BEGIN", fn, *args)

    async def open(self) -> None:
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-sqlite")
        loop = asyncio.get_running_loop()
        self._count = await loop.run_in_executor(self._worker, self._connect)

    async def close(self) -> None:
        worker, conn = self._worker, self._conn
        self._worker = None
        if worker is None:
            return
        if conn is not None:
            await asyncio.get_running_loop().run_in_executor(worker, conn.close)
        self._conn = None
        worker.shutdown(wait=True)

    # -- receipts ----------------------------------------------------------------------------

    async def ingest(self, batch: Sequence[Receipt], now_us: int) -> IngestResult:
        result = await self._write(ingest_tx.ingest, batch, now_us)
        self._count += result.accepted
        return result

    async def settle(self, hold_id: str, receipt: Receipt, now_us: int) -> SettleResult:
        result = await self._write(ingest_tx.settle, hold_id, receipt, now_us)
        self._count += result.ingest.accepted
        return result

    async def run_receipts(self, run_id: str, limit: int, offset: int,
                           tenant: str | None = None) -> RunReceipts:
        return await self._read(receipt_rows.run_page, run_id, limit, offset, tenant)

    async def receipt(self, request_id: str, tenant: str | None = None) -> str | None:
        return await self._read(receipt_rows.one, request_id, tenant)

    async def experiment_samples(self, experiment: str, tenant: str | None = None) -> list[ArmSample]:
        return await self._read(receipt_rows.experiment_samples, experiment, tenant)

    async def receipts_between(self, first_us: int, until_us: int, limit: int,
                               tenant: str | None = None) -> list[str]:
        return await self._read(receipt_rows.between, first_us, until_us, limit, tenant)

    async def tenant_window(self, tenant: str, size_us: int, first_us: int, last_us: int) -> list[Row]:
        return await self._read(receipt_rows.tenant_window, tenant, size_us, first_us, last_us)

    async def rollups(self, grain: str, first_us: int, last_us: int) -> list[Row]:
        return await self._read(rollup_rows.window, grain, first_us, last_us)

    async def series_rows(self, query: SeriesQuery) -> SeriesRows:
        return await self._read(series_rows.rows, query)

    async def backfill_series(self, limit: int) -> BackfillStep:
        return await self._write(backfill.step, limit)

    async def series_backfill_pending(self) -> int:
        return await self._read(backfill.pending)

    @asynccontextmanager
    async def exclusive_round(self, name: str, round_no: int) -> AsyncIterator[bool]:
        """Always this process's: a SQLite ledger is one process."""
        yield True

    async def prune(self, cutoffs: Cutoffs) -> Pruned:
        pruned = await self._write(series_rows.prune, cutoffs)
        self._count = max(0, self._count - pruned.receipts)
        return pruned

    # -- budgets -----------------------------------------------------------------------------

    async def set_budget(self, key: BudgetKey, budget_micros: int, now_us: int,
                         terms: BudgetTerms = ONE_OFF) -> BudgetChange:
        return await self._write(_set_budget, key, budget_micros, now_us, terms)

    async def delete_budget(self, key: BudgetKey) -> int | None:
        return await self._write(_delete_budget, key)

    async def budget(self, key: BudgetKey, now_us: int) -> BudgetState | None:
        return await self._read(lambda conn: budget_rows.state(conn, key, now_us, with_burn=True))

    async def budgets(self, scope: str, now_us: int) -> list[BudgetState]:
        return await self._read(_all_states, scope, now_us)

    async def budget_history(self, key: BudgetKey, now_us: int, count: int) -> list[PeriodSpend] | None:
        return await self._read(budget_rows.history, key, now_us, count)

    async def snapshot(self) -> tuple[int, dict[str, list[str]], dict[str, int]]:
        return await self._read(lambda conn: (budget_rows.version(conn), budget_rows.all_ids(conn),
                                              budget_rows.caps(conn)))

    async def version(self) -> int:
        return await self._read(budget_rows.version)

    # -- holds -------------------------------------------------------------------------------

    async def place_hold(self, hold_id: str, key: BudgetKey, amount_micros: int, now_us: int,
                         ttl_us: int) -> HoldOutcome:
        return await self._write(reserve.place, hold_id, key, amount_micros, now_us, ttl_us)

    async def release_hold(self, hold_id: str, now_us: int) -> bool:
        return await self._write(_release, hold_id, now_us)

    async def grow_lease(self, lease_id: str, key: BudgetKey, need_micros: int, want_micros: int,
                         now_us: int, ttl_us: int, share: float = 1.0, tenant: str | None = None) -> LeaseOutcome:
        return await self._write(lease_rows.grow, lease_id, key, need_micros, want_micros, now_us, ttl_us, share,
                                 tenant)

    async def run_owner(self, run_id: str) -> str | None:
        return await self._read(owner_rows.owner, run_id)

    async def return_lease(self, lease_id: str, amount_micros: int, now_us: int) -> LeaseOutcome | None:
        return await self._write(lease_rows.give_back, lease_id, amount_micros, now_us)

    async def hold_figures(self, now_us: int) -> tuple[int, int]:
        return await self._read(hold_rows.figures, now_us)

    # -- virtual keys ------------------------------------------------------------------------

    async def create_key(self, key: VirtualKey) -> int:
        return await self._write(key_rows.insert, key)

    async def key(self, key_id: str) -> VirtualKey | None:
        return await self._read(key_rows.by_id, key_id)

    async def key_by_hash(self, secret_hash: str) -> VirtualKey | None:
        return await self._read(key_rows.by_hash, secret_hash)

    async def keys(self, filters: dict[str, str]) -> list[VirtualKey]:
        return await self._read(key_rows.listing, filters)

    async def revoke_key(self, key_id: str, now_us: int) -> tuple[VirtualKey, int] | None:
        return await self._write(key_rows.revoke, key_id, now_us)

    async def keys_snapshot(self, now_us: int) -> tuple[int, list[VirtualKey], list[dict[str, Any]]]:
        return await self._read(lambda conn: (key_rows.version(conn), key_rows.listing(conn, {}),
                                              key_rows.limits(conn, now_us)))

    async def put_limit(self, spec: dict[str, Any], expires_us: int | None, now_us: int) -> int:
        return await self._write(key_rows.put_limit, spec, expires_us, now_us)

    async def drop_limit(self, name: str, dimension: str, match: str) -> int | None:
        return await self._write(key_rows.drop_limit, name, dimension, match)

    async def limits(self, now_us: int) -> list[dict[str, Any]]:
        return await self._read(key_rows.limits, now_us)


def _set_budget(conn: sqlite3.Connection, key: BudgetKey, budget_micros: int,
                now_us: int, terms: BudgetTerms) -> BudgetChange:
    before = budget_rows.row(conn, key)
    if before != (budget_micros, terms):
        budget_rows.put(conn, key, budget_micros, terms, now_us)
        version = budget_rows.bump_version(conn)
    else:
        version = budget_rows.version(conn)
    events: list[ThresholdEvent] = budget_rows.record_crossings(
        conn, key, spend_rows.spent(conn, key), [], now_us)
    state = budget_rows.state(conn, key, now_us)
    assert state is not None
    return BudgetChange(state=state, created=before is None, version=version, events=events)


def _delete_budget(conn: sqlite3.Connection, key: BudgetKey) -> int | None:
    return budget_rows.bump_version(conn) if budget_rows.remove(conn, key) else None


def _all_states(conn: sqlite3.Connection, scope: str, now_us: int) -> list[BudgetState]:
    states = readable(budget_rows.ids(conn, scope),
                      lambda i: budget_rows.state(conn, BudgetKey(scope, i), now_us, with_burn=True))
    return [s for s in states if s is not None]


def _release(conn: sqlite3.Connection, hold_id: str, now_us: int) -> bool:
    hold_rows.expire(conn, now_us)
    return hold_rows.delete(conn, [hold_id]) > 0
