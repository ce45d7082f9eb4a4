"""Ingest through the store on both backends: a batch with duplicates (inside the batch and
against stored rows) counts each receipt once in the windows' rollups, the series rollups and
their latency sketches, and every budget's spend (the one-off total and the periodic buckets);
and so do batches posted at once (the ledger's group commit)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx

from services.common.settings import Settings
from services.ledger.analytics.query import SeriesQuery
from services.ledger.analytics.sketch import decode
from services.ledger.budgets.config import BudgetTerms
from services.ledger.budgets.model import GLOBAL, GLOBAL_ID, BudgetKey
from services.ledger.receipts.parse import Receipt
from services.ledger.store.factory import make_store
from tests.integration.ledger.ledger_factory import exact, make_receipt, post

NOW_US = 1_795_000_000_000_000


def receipt(request_id: str, cost: int, *, run: str = "run-a", provider: str = "p1") -> Receipt:
    return Receipt(request_id=request_id, run_id=run, ts_us=NOW_US - 1_000, provider=provider, input_tokens=10,
                   output_tokens=5, cost_micros=cost, body=b'{"request_id":"%s"}' % request_id.encode(),
                   model="m1", latency_ms=12.5)


async def test_duplicates_within_and_across_batches_count_once_everywhere(tmp_path: Path,
                                                                          database_url: str) -> None:
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url, access_log=False))
    await store.open()
    try:
        run, provider, everything = BudgetKey.run("run-a"), BudgetKey("provider", "p1"), BudgetKey(GLOBAL, GLOBAL_ID)
        await store.set_budget(run, 10**9, NOW_US)
        await store.set_budget(provider, 10**9, NOW_US, BudgetTerms(period="daily", tz="UTC"))
        await store.set_budget(everything, 10**9, NOW_US)
        first = await store.ingest([receipt("r1", 100), receipt("r2", 20)], NOW_US)
        # r2 again (stored), r3 twice in this batch (the first stands), r1 again with another cost
        second = await store.ingest([receipt("r2", 20), receipt("r3", 3), receipt("r3", 3000),
                                     receipt("r1", 7000), receipt("r4", 4, run="run-b", provider="p2")], NOW_US)
        assert (first.accepted, first.duplicates) == (2, 0)
        assert (second.accepted, second.duplicates) == (2, 3)
        assert [r.request_id for r in second.new] == ["r3", "r4"]

        total = 100 + 20 + 3 + 4
        minute = await store.rollups("minute", 0, NOW_US)
        assert sum(t.cost_micros for _, _, t in minute) == total
        assert sum(t.requests for _, _, t in minute) == 4
        assert {p: t.requests for _, p, t in minute} == {"p1": 3, "p2": 1}

        rows = await store.series_rows(SeriesQuery(grain="minute", first_us=0, until_us=NOW_US + 1,
                                                   group_by=("run_id",)))
        counters = {row[1]: row[2:] for row in rows.counters}  # run -> (cost, requests, ...)
        assert counters["run-a"][:2] == (123, 3) and counters["run-b"][:2] == (4, 1)
        assert sum(sum(decode(row[-1]).values()) for row in rows.latency) == 4  # one sketch count per receipt

        for key, spent in ((run, 123), (provider, 123), (everything, total)):
            state = await store.budget(key, NOW_US)
            assert state is not None and state.spent_micros == spent, key
    finally:
        await store.close()


async def test_concurrent_posts_share_commits_and_count_each_receipt_once(client: httpx.AsyncClient) -> None:
    """POST /receipts batches sent at once go through the group commit: each answer is its own
    batch's, a receipt in several concurrent batches is accepted by exactly one of them."""
    receipts = [make_receipt("0.000100", request_id=f"req-c{i:03d}") for i in range(60)]
    batches = [receipts[i:i + 20] for i in range(0, 60, 10)]  # overlapping: most receipts in two batches
    answers = await asyncio.gather(*(post(client, "/receipts", {"receipts": b}) for b in batches))
    bodies = [a.json() for a in answers]
    assert all(a.status_code == 200 for a in answers)
    assert [b["accepted"] + b["duplicates"] for b in bodies] == [len(b) for b in batches]
    assert sum(b["accepted"] for b in bodies) == 60
    book = exact(await client.get("/receipts/run-a"))
    assert book["count"] == 60 and book["total_cost_usd"] == Decimal("0.006")
    assert len({r["request_id"] for r in book["receipts"]}) == 60


async def test_one_batch_raises_each_budgets_crossings_in_each_period_once(tmp_path: Path, database_url: str) -> None:
    """A batch reaching several budgets, one-off and daily, with receipts from yesterday and today:
    each budget's thresholds are reckoned from its own spend in each period (on PostgreSQL all of
    them read and written together, services/ledger/store/postgres/budgets.py's `crossings`)."""
    day = 86_400_000_000
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url, access_log=False))
    await store.open()
    try:
        daily = BudgetTerms(period="daily", tz="UTC")
        team, provider, everything = BudgetKey("team", "t"), BudgetKey("provider", "p1"), BudgetKey(GLOBAL, GLOBAL_ID)
        await store.set_budget(team, 1_000, NOW_US, daily)
        await store.set_budget(provider, 1_250, NOW_US, daily)
        await store.set_budget(everything, 2_000, NOW_US)

        def spent(request_id: str, cost: int, ts_us: int) -> Receipt:
            return replace(receipt(request_id, cost), ts_us=ts_us, team="t")

        batch = [spent("y1", 500, NOW_US - day), spent("t1", 950, NOW_US - 1_000), spent("y2", 300, NOW_US - day)]
        first = await store.ingest(batch, NOW_US)
        today, yesterday = NOW_US - NOW_US % day, NOW_US - NOW_US % day - day
        assert sorted((e.key.scope, e.period_start_us, e.threshold) for e in first.events) == [
            ("global", 0, 75),  # 1,750 of 2,000
            ("provider", today, 75),  # 950 of 1,250 (yesterday's 800: 64 %)
            ("team", yesterday, 75), ("team", today, 75), ("team", today, 90)]  # 800 and 950 of 1,000
        assert (await store.ingest(batch, NOW_US)).events == []  # all duplicates: nothing again
        later = await store.ingest([spent("t2", 60, NOW_US - 500)], NOW_US)
        assert sorted((e.key.scope, e.threshold, e.spent_micros) for e in later.events) == [
            ("global", 90, 1_810), ("team", 100, 1_010)]
    finally:
        await store.close()
