"""PostgresLedgerStore: the ledger's book of record on PostgreSQL through an asyncpg pool.

Every write method is one READ COMMITTED transaction (grants lock their budget's row first, see
budgets.py); every read that returns several things read together is one REPEATABLE READ, read-only
transaction (one snapshot). A transaction PostgreSQL ends as a deadlock or a serialization failure
(two ledgers' batches crossing) is run again, a few times, from the start. Nothing here blocks the
event loop: asyncpg is asyncio all the way down.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from services.common.db import DatabaseUnavailable, database_lost, mask_url, scrub
from services.common.stored_rows import UnreadableRow, report
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
from services.ledger.store.migrations import upgrade_postgres
from services.ledger.store.postgres import backfill, rounds
from services.ledger.store.postgres import budgets as budget_rows
from services.ledger.store.postgres import ingest as ingest_rows
from services.ledger.store.postgres import keys as key_rows
from services.ledger.store.postgres import receipts as receipt_rows
from services.ledger.store.postgres import series as series_rows
from services.ledger.store.postgres.ingest import ReceiptRace
from services.ledger.windows.rollup import Row

T = TypeVar("T")
RETRIES = 6
RETRYABLE = (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError, ReceiptRace)


class PostgresLedgerStore:
    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 10, connect_timeout_s: float = 5.0):
        self.url = url
        self.min_size, self.max_size = min_size, max_size
        self.connect_timeout_s = connect_timeout_s
        self._pool: asyncpg.Pool | None = None
        self._count = 0

    @property
    def receipt_count(self) -> int:
        return self._count

    def __repr__(self) -> str:
        return f"PostgresLedgerStore({mask_url(self.url)!r})"

    # -- plumbing ----------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            pool = await asyncpg.create_pool(self.url, min_size=self.min_size, max_size=self.max_size,
                                             timeout=self.connect_timeout_s, command_timeout=60)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise DatabaseUnavailable(f"the ledger cannot reach PostgreSQL at {mask_url(self.url)}:"
                                      f" {type(exc).__name__}: {scrub(str(exc), self.url)}") from None
        try:
            async with pool.acquire() as conn:
                await upgrade_postgres(conn)
                self._count = await receipt_rows.count_all(conn)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    def _need_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("the ledger store is not open")
        return self._pool

    async def _write(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        pool = self._need_pool()
        for attempt in range(RETRIES):
            try:
                with database_lost(self.url, "ledger"):
                    async with pool.acquire(timeout=self.connect_timeout_s) as conn, conn.transaction():
                        return await fn(conn, *args)
            except RETRYABLE:
                if attempt == RETRIES - 1:
                    raise
                await asyncio.sleep(random.uniform(0, 0.002 * 2 ** attempt))
        raise AssertionError("unreachable")

    async def _read(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        with database_lost(self.url, "ledger"):
            async with self._need_pool().acquire(timeout=self.connect_timeout_s) as conn, \
                    conn.transaction(isolation="repeatable_read", readonly=True):
                return await fn(conn, *args)

    # -- receipts ----------------------------------------------------------------------------

    async def ingest(self, batch: Sequence[Receipt], now_us: int) -> IngestResult:
        result = await self._write(ingest_rows.ingest, batch, now_us)
        self._count += result.accepted
        return result

    async def settle(self, hold_id: str, receipt: Receipt, now_us: int) -> SettleResult:
        result = await self._write(receipt_rows.settle, hold_id, receipt, now_us)
        self._count += result.ingest.accepted
        return result

    async def run_receipts(self, run_id: str, limit: int, offset: int, tenant: str | None = None) -> RunReceipts:
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
        return await self._read(receipt_rows.rollups, grain, first_us, last_us)

    async def series_rows(self, query: SeriesQuery) -> SeriesRows:
        return await self._read(series_rows.rows, query)

    async def backfill_series(self, limit: int) -> BackfillStep:
        return await self._write(backfill.step, limit)

    async def series_backfill_pending(self) -> int:
        return await self._read(backfill.pending)

    @asynccontextmanager
    async def exclusive_round(self, name: str, round_no: int) -> AsyncIterator[bool]:
        """Whether this replica does round `round_no` of `name` (services/ledger/store/postgres/rounds.py):
        the advisory lock is held, in a transaction of its own, while the body runs."""
        with database_lost(self.url, "ledger"):
            async with self._need_pool().acquire(timeout=self.connect_timeout_s) as conn, conn.transaction():
                mine = await rounds.claim(conn, name, round_no)
                yield mine
                if mine:
                    await rounds.mark(conn, name, round_no)

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
        return await self._read(_snapshot)

    async def version(self) -> int:
        return await self._read(budget_rows.version)

    async def versions(self) -> tuple[int, int]:
        """(budget version, keys version): what a replica's listener compares (services/ledger/app.py)."""
        return await self._read(_versions)

    # -- holds and leases --------------------------------------------------------------------

    async def place_hold(self, hold_id: str, key: BudgetKey, amount_micros: int, now_us: int,
                         ttl_us: int) -> HoldOutcome:
        return await self._write(budget_rows.place_hold, hold_id, key, amount_micros, now_us, ttl_us)

    async def release_hold(self, hold_id: str, now_us: int) -> bool:
        return await self._write(_release, hold_id, now_us)

    async def grow_lease(self, lease_id: str, key: BudgetKey, need_micros: int, want_micros: int,
                         now_us: int, ttl_us: int, share: float = 1.0, tenant: str | None = None) -> LeaseOutcome:
        return await self._write(budget_rows.grow_lease, lease_id, key, need_micros, want_micros, now_us, ttl_us,
                                 share, tenant)

    async def run_owner(self, run_id: str) -> str | None:
        return await self._read(budget_rows.run_owner, run_id)

    async def return_lease(self, lease_id: str, amount_micros: int, now_us: int) -> LeaseOutcome | None:
        return await self._write(budget_rows.return_lease, lease_id, amount_micros, now_us)

    async def hold_figures(self, now_us: int) -> tuple[int, int]:
        return await self._read(budget_rows.hold_figures, now_us)

    # -- virtual keys and limits -------------------------------------------------------------

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
        return await self._read(_keys_snapshot, now_us)

    async def put_limit(self, spec: dict[str, Any], expires_us: int | None, now_us: int) -> int:
        return await self._write(key_rows.put_limit, spec, expires_us, now_us)

    async def drop_limit(self, name: str, dimension: str, match: str) -> int | None:
        return await self._write(key_rows.drop_limit, name, dimension, match)

    async def limits(self, now_us: int) -> list[dict[str, Any]]:
        return await self._read(key_rows.limits, now_us)


async def _set_budget(conn: Any, key: BudgetKey, budget_micros: int, now_us: int,
                      terms: BudgetTerms) -> BudgetChange:
    before = await budget_rows.row(conn, key)
    if before != (budget_micros, terms):
        await budget_rows.put(conn, key, budget_micros, terms, now_us)
        version = await budget_rows.bump_version(conn)
    else:
        version = await budget_rows.version(conn)
    events: list[ThresholdEvent] = await budget_rows.record_crossings(
        conn, key, await budget_rows.spent_total(conn, key), [], now_us)
    state = await budget_rows.state(conn, key, now_us)
    assert state is not None
    return BudgetChange(state=state, created=before is None, version=version, events=events)


async def _delete_budget(conn: Any, key: BudgetKey) -> int | None:
    return await budget_rows.bump_version(conn) if await budget_rows.remove(conn, key) else None


async def _all_states(conn: Any, scope: str, now_us: int) -> list[BudgetState]:
    """Every readable budget of `scope` (an unreadable one is left out and reported, as on SQLite)."""
    out = []
    for scope_id in await budget_rows.ids(conn, scope):
        try:
            state = await budget_rows.state(conn, BudgetKey(scope, scope_id), now_us, with_burn=True)
        except UnreadableRow as exc:
            report(exc)
            continue
        if state is not None:
            out.append(state)
    return out


async def _snapshot(conn: Any) -> tuple[int, dict[str, list[str]], dict[str, int]]:
    return await budget_rows.version(conn), await budget_rows.all_ids(conn), await budget_rows.caps(conn)


async def _versions(conn: Any) -> tuple[int, int]:
    return await budget_rows.version(conn), await budget_rows.version(conn, key_rows.KEYS)


async def _keys_snapshot(conn: Any, now_us: int) -> tuple[int, list[VirtualKey], list[dict[str, Any]]]:
    return (await budget_rows.version(conn, key_rows.KEYS), await key_rows.listing(conn, {}),
            await key_rows.limits(conn, now_us))


async def _release(conn: Any, hold_id: str, now_us: int) -> bool:
    return await budget_rows.release(conn, [hold_id], now_us) > 0
