"""Retention with an injectable clock: each grain's rows and the raw receipts go once older than
their retention, and not before; the ledger's pruning task runs on the ledger's clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.ledger.analytics.retention import Retention, prune_once
from services.ledger.analytics.series import query_breakdown
from services.ledger.analytics.spec import SeriesSpec
from services.ledger.receipts.parse import parse_receipt
from services.ledger.store.factory import make_store
from services.ledger.times import iso, to_us
from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import make_receipt, post

NOW = datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC)
AGES = {"1h": timedelta(hours=1), "8d": timedelta(days=8), "91d": timedelta(days=91),
        "731d": timedelta(days=731)}


async def requests_in(store, grain: str) -> int:
    spec = SeriesSpec(grain=grain, since_us=0, until_us=to_us(NOW) + 1)
    return sum(p.counters.requests for p in await query_breakdown(store, spec))


async def test_each_grain_and_the_receipts_are_pruned_at_their_age(tmp_path: Path, database_url: str) -> None:
    store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url))
    await store.open()
    try:
        now_us = to_us(NOW)
        batch = [parse_receipt(make_receipt(run_id=f"age-{name}", timestamp=iso(to_us(NOW - age))), now_us=now_us)
                 for name, age in AGES.items()]
        assert (await store.ingest(batch, now_us)).accepted == 4
        assert [await requests_in(store, g) for g in ("minute", "hour", "day")] == [4, 4, 4]
        keep = Retention()  # receipts 90 d, minute 7 d, hour 90 d, day 730 d

        pruned = await prune_once(store, keep, to_us(NOW - timedelta(days=2)))  # two days ago
        assert [await requests_in(store, g) for g in ("minute", "hour", "day")] == [2, 3, 4]
        assert pruned.receipts == 1  # 731 days old now was 729 then: past the receipts' 90 days
        pruned = await prune_once(store, keep, now_us)
        assert [await requests_in(store, g) for g in ("minute", "hour", "day")] == [1, 2, 3]
        assert pruned.receipts == 1 and store.receipt_count == 2  # 91 d old
        assert [(await store.run_receipts(f"age-{n}", 10, 0)).count for n in AGES] == [1, 1, 0, 0]
        assert (await prune_once(store, keep, now_us)).rows == 0  # nothing more to do
        shorter = Retention(receipts_days=0.01, minute_days=0.01, hour_days=1, day_days=30)
        await prune_once(store, shorter, now_us)
        assert [await requests_in(store, g) for g in ("minute", "hour", "day")] == [0, 1, 2]
        assert store.receipt_count == 0
    finally:
        await store.close()


async def test_the_ledger_prunes_on_its_own_clock(ledger_at: Ledger, clock: FrozenClock) -> None:
    async with ledger_at(retention_interval_s=0.01, retention_minute_days=1) as client:
        receipt = make_receipt(timestamp=iso(to_us(NOW - timedelta(hours=2))))
        assert (await post(client, "/receipts", {"receipts": [receipt]})).status_code == 200
        params = {"grain": "minute", "since": iso(to_us(NOW - timedelta(hours=3)))}

        async def minutes() -> int:
            resp = await client.get("/analytics/breakdown", params=params)
            return sum(g["requests"] for g in resp.json()["groups"])

        assert await minutes() == 1
        clock.set(NOW + timedelta(days=1))  # the minute row is now 26 h old: past its day
        for _ in range(500):
            if await minutes() == 0:
                break
            await asyncio.sleep(0.01)
        assert await minutes() == 0
        hours = await client.get("/analytics/breakdown", params={**params, "grain": "hour"})
        assert sum(g["requests"] for g in hours.json()["groups"]) == 1


def test_retention_settings_have_the_issue_defaults() -> None:
    assert Retention.of(Settings()) == Retention(receipts_days=90, minute_days=7, hour_days=90, day_days=730)


async def test_bad_retention_settings_are_refused() -> None:
    try:
        Settings(retention_minute_days=0)
    except ValueError as exc:
        assert "retention_minute_days" in str(exc)
    else:
        raise AssertionError("a zero retention was taken")

