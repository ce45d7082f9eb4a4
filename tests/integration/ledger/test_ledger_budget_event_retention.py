"""Budget threshold events under retention, on both backends with an injected `now`: a periodic
budget's events go with their period once it began more than TOLLWAY_RETENTION_BUDGET_EVENT_DAYS
ago; the current period's and a one-off budget's stay, so no threshold is raised twice in a
period after a prune."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

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

NOW = datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC)  # a Monday
WEEKLY = BudgetKey("global", "all")
ONE_OFF = BudgetKey("run", "run-old")
USD = 1_000_000


async def _book(store, cost: str, at: datetime, run_id: str = "run-w") -> list[tuple[str, int]]:
    """One receipt at `at`, booked then (as the ledger would); the (budget, threshold) it raised."""
    receipt = parse_receipt(make_receipt(cost, run_id=run_id, timestamp=iso(to_us(at))), now_us=to_us(at))
    result = await store.ingest([receipt], to_us(at))
    assert result.accepted == 1
    return [(f"{e.key.scope}:{e.key.scope_id}", e.threshold) for e in result.events]


async def _raised(store, key: BudgetKey, count: int) -> list[list[int]]:
    """The thresholds raised in each of the budget's last `count` periods, newest first."""
    return [[e.threshold for e in events] for _, _, events in await store.budget_history(key, to_us(NOW), count)]


async def test_old_periods_lose_their_events_and_no_threshold_is_raised_twice(tmp_path: Path,
                                                                              database_url: str) -> None:
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url))
    await store.open()
    try:
        set_at = to_us(NOW - timedelta(days=300))
        await store.set_budget(WEEKLY, 10 * USD, set_at, BudgetTerms(period="weekly", tz="UTC"))
        await store.set_budget(ONE_OFF, 1 * USD, set_at)
        assert await _book(store, "0.900000", NOW - timedelta(days=200), run_id="run-old") == [
            ("run:run-old", 75), ("run:run-old", 90)]
        for weeks in (12, 5, 0):  # 75 % of the weekly budget in three weeks
            assert await _book(store, "8.000000", NOW - timedelta(weeks=weeks, hours=1)) == [("global:all", 75)]
        assert await _raised(store, WEEKLY, 13) == [[75], *[[]] * 4, [75], *[[]] * 6, [75]]

        # a month ago, the week 12 weeks back had begun 54 to 60 days before: kept (70 days)
        assert (await prune_once(store, Retention(), to_us(NOW - timedelta(days=30)))).budget_events == 0
        pruned = await prune_once(store, Retention(), to_us(NOW))
        assert pruned.budget_events == 1  # that week's 75 %; not the one-off budget's, 200 days old
        assert await _raised(store, WEEKLY, 13) == [[75], *[[]] * 4, [75], *[[]] * 7]
        assert await _raised(store, ONE_OFF, 1) == [[75, 90]]
        assert (await prune_once(store, Retention(), to_us(NOW))).budget_events == 0  # nothing more to do

        # what was kept is what "once per period" reads: nothing is raised again
        assert await _book(store, "0.500000", NOW) == []  # this week: 85 %, its 75 % raised already
        assert await _book(store, "0.050000", NOW, run_id="run-old") == []  # 95 %: 75 and 90 raised already
        assert await _book(store, "0.100000", NOW, run_id="run-old") == [("run:run-old", 100)]
    finally:
        await store.close()


async def test_the_ledger_prunes_events_on_its_own_clock(ledger_at: Ledger, clock: FrozenClock) -> None:
    async with ledger_at(retention_interval_s=0.01) as client:  # the clock's now: 2026-11-23 10:30:15
        made = await post(client, "/budget", {"scope": "global", "budget_usd": "10", "period": "weekly"})
        assert made.status_code == 201, made.text
        receipt = make_receipt("8.000000", timestamp=iso(to_us(clock.now() - timedelta(minutes=5))))
        assert (await post(client, "/receipts", {"receipts": [receipt]})).status_code == 200

        async def first_week_events() -> list[int]:
            resp = await client.get("/budgets/global/all/history", params={"periods": 20})
            assert resp.status_code == 200, resp.text
            week = [p for p in resp.json()["periods"] if p["start"].startswith("2026-11-23")]  # a Monday
            assert len(week) == 1, resp.json()["periods"]
            return [e["threshold"] for e in week[0]["events"]]

        assert await first_week_events() == [75]
        clock.set(clock.now() + timedelta(days=60))  # that week began 60 days ago: kept
        await asyncio.sleep(0.1)
        assert await first_week_events() == [75]
        clock.set(clock.now() + timedelta(days=20))  # now 80 days: past the 70 days'
        for _ in range(500):
            if await first_week_events() == []:
                break
            await asyncio.sleep(0.01)
        assert await first_week_events() == []


def test_event_retention_defaults_to_70_days_refuses_less_than_63_and_keeps_up_with_spend_buckets() -> None:
    assert Retention.of(Settings()).budget_event_days == 70
    assert Retention.of(Settings(retention_budget_event_days=400)).budget_event_days == 400
    with pytest.raises(ValueError, match="retention_budget_event_days"):
        Settings(retention_budget_event_days=62)
    now_us = to_us(NOW)
    day_us = 86_400 * USD
    assert Retention(budget_event_days=63).cutoffs(now_us).budget_events_us == now_us - 70 * day_us
    # an event outlives its period's spend buckets, never the reverse (a late receipt would re-raise it)
    longer_spend = Retention(budget_event_days=63, spend_bucket_days=100).cutoffs(now_us)
    assert longer_spend.budget_events_us == longer_spend.spend_buckets_us == now_us - 100 * day_us
