"""Budget spend buckets under retention, on both backends with an injected `now`: buckets older than
TOLLWAY_RETENTION_SPEND_BUCKET_DAYS go; a monthly budget's current and previous period keep every
bucket (even at the shortest retention allowed, at the far edge of two 31-day months in a zone 12
hours behind UTC), and a lease grant still sees the current period's spend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.ledger.analytics.retention import Retention, prune_once
from services.ledger.budgets.config import BudgetTerms
from services.ledger.budgets.model import BudgetKey
from services.ledger.receipts.parse import parse_receipt
from services.ledger.store.factory import make_store
from services.ledger.times import iso, to_us
from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import make_receipt, post

NOW = datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC)
PROVIDER = BudgetKey("provider", "sim-openai")
MONTHLY = BudgetTerms(period="monthly", tz="Pacific/Kiritimati")  # UTC+14: months start 10:00 UTC the day before
USD = 1_000_000


async def _book(store, receipts: list[tuple[datetime, str]], now_us: int) -> None:
    batch = [parse_receipt(make_receipt(cost, run_id=f"run-{i}", timestamp=iso(to_us(at))), now_us=now_us)
             for i, (at, cost) in enumerate(receipts)]
    assert (await store.ingest(batch, now_us)).accepted == len(batch)


async def _history(store, key: BudgetKey, now_us: int, count: int) -> list[int]:
    return [spent for _, spent, _ in await store.budget_history(key, now_us, count)]


async def test_old_buckets_go_and_the_current_period_keeps_its_spend(tmp_path: Path, database_url: str) -> None:
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url))
    await store.open()
    try:
        now_us = to_us(NOW)
        # 100 days ago (August), 40 days ago (October: the previous month), 2 days ago (this month)
        await _book(store, [(NOW - timedelta(days=100), "1.000000"), (NOW - timedelta(days=40), "2.000000"),
                            (NOW - timedelta(days=2), "3.000000")], now_us)
        await store.set_budget(PROVIDER, 10 * USD, now_us, MONTHLY)
        assert (await store.budget(PROVIDER, now_us)).spent_micros == 3 * USD
        assert await _history(store, PROVIDER, now_us, 4) == [3 * USD, 2 * USD, 0, 1 * USD]

        pruned = await prune_once(store, Retention(), now_us)  # spend buckets: 70 days
        # the August receipt's buckets, one per scope it counts in (run, provider, model, global)
        assert pruned.spend_buckets == 4
        assert await _history(store, PROVIDER, now_us, 4) == [3 * USD, 2 * USD, 0, 0]
        assert (await store.budget(PROVIDER, now_us)).spent_micros == 3 * USD
        assert (await prune_once(store, Retention(), now_us)).spend_buckets == 0  # nothing more to do

        lease = await store.grow_lease("lease-1", PROVIDER, 7 * USD, 9 * USD, now_us, 60_000_000)
        assert (lease.kind, lease.granted_micros) == ("granted", 7 * USD)  # 10 - 3 spent, all of it
        assert lease.state is not None and lease.state.spent_micros == 3 * USD
        refused = await store.grow_lease("lease-2", PROVIDER, 1, 1, now_us, 60_000_000)
        assert refused.kind == "refused"
    finally:
        await store.close()


async def test_the_shortest_retention_keeps_the_previous_month_whole(tmp_path: Path, database_url: str) -> None:
    """July and August have 31 days each: on the last second of August (local), the first bucket of
    July is 62 days less a second old; 63 days keep it."""
    zone = ZoneInfo("Etc/GMT+12")  # UTC-12
    first_of_july = datetime(2026, 7, 1, tzinfo=zone).astimezone(UTC)
    last_of_august = datetime(2026, 8, 31, 23, 59, 59, tzinfo=zone).astimezone(UTC)
    key = BudgetKey("global", "all")
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url))
    await store.open()
    try:
        now_us = to_us(last_of_august)
        await _book(store, [(first_of_july - timedelta(days=30), "4.000000"), (first_of_july, "5.000000"),
                            (last_of_august, "6.000000")], now_us)
        await store.set_budget(key, 100 * USD, now_us, BudgetTerms(period="monthly", tz="Etc/GMT+12"))
        assert await _history(store, key, now_us, 3) == [6 * USD, 5 * USD, 4 * USD]
        pruned = await prune_once(store, Retention(spend_bucket_days=63), now_us)
        assert pruned.spend_buckets == 4  # June 1st's bucket, one per scope (run, provider, model, global)
        assert await _history(store, key, now_us, 3) == [6 * USD, 5 * USD, 0]
        assert (await store.budget(key, now_us)).spent_micros == 6 * USD
    finally:
        await store.close()


async def test_history_says_which_periods_are_no_longer_whole(ledger_at: Ledger, clock: FrozenClock) -> None:
    async with ledger_at() as client:  # the clock's now: 2026-11-23; spend buckets kept 70 days, from Sep 14
        made = await post(client, "/budget", {"scope": "global", "budget_usd": "10", "period": "monthly"})
        assert made.status_code == 201, made.text
        resp = await client.get("/budgets/global/all/history", params={"periods": 4})
        assert resp.status_code == 200, resp.text
        assert [(p["start"][:10], p["complete"]) for p in resp.json()["periods"]] == [
            ("2026-11-01", True), ("2026-10-01", True), ("2026-09-01", False), ("2026-08-01", False)]


def test_spend_bucket_retention_defaults_to_70_days_and_refuses_less_than_63() -> None:
    assert Retention.of(Settings()).spend_bucket_days == 70
    with pytest.raises(ValueError, match="retention_spend_bucket_days"):
        Settings(retention_spend_bucket_days=62)
