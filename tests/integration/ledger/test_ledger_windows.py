"""GET /metrics rolling windows: receipts placed at known times land in the right buckets."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from services.common.clock import FrozenClock
from tests.integration.ledger.ledger_factory import error_of, exact, make_receipt, post

# the clock stands at 2026-11-23T10:30:15Z (conftest.START)
PLACED = [
    ("2026-11-23T10:30:01.000Z", "0.000001", "sim-openai"),  # the current minute
    ("2026-11-23T10:29:59.999Z", "0.333333", "sim-openai"),  # the minute before
    ("2026-11-23T10:29:00Z", "0.333333", "sim-anthropic"),  # same minute, other provider
    ("2026-11-23T09:31:00.000Z", "0.100000", "sim-openai"),  # the oldest minute in the window
    ("2026-11-23T09:30:59.000Z", "1.000000", "sim-openai"),  # one minute too old; hour 09:00
    ("2026-11-22T11:00:00.000Z", "2.000000", "sim-gemini"),  # oldest hour in the hour window
    ("2026-11-17T00:00:00.000Z", "4.000000", "sim-gemini"),  # oldest day in the day window
    ("2026-11-16T23:59:59.999Z", "8.000000", "sim-gemini"),  # too old for every window
]


def placed_batch() -> dict:
    return {"receipts": [make_receipt(cost, timestamp=ts, provider=p, input_tokens=10,
                                      output_tokens=1) for ts, cost, p in PLACED]}


async def place(client: httpx.AsyncClient, batch: dict | None = None) -> httpx.Response:
    resp = await post(client, "/receipts", batch or placed_batch())
    assert resp.status_code == 200
    return resp


def nonzero(body: dict) -> dict[str, Decimal]:
    return {b["start"]: b["cost_usd"] for b in body["buckets"] if b["requests"]}


async def test_minute_window_has_60_buckets_oldest_first(client: httpx.AsyncClient) -> None:
    await place(client)
    body = exact(await client.get("/metrics", params={"window": "minute"}))
    assert body["window"] == "minute" and body["generated_at"] == "2026-11-23T10:30:15.000Z"
    assert len(body["buckets"]) == 60
    assert body["buckets"][0]["start"] == "2026-11-23T09:31:00.000Z"
    assert body["buckets"][-1]["start"] == "2026-11-23T10:30:00.000Z"
    assert nonzero(body) == {"2026-11-23T09:31:00.000Z": Decimal("0.1"),
                             "2026-11-23T10:29:00.000Z": Decimal("0.666666"),
                             "2026-11-23T10:30:00.000Z": Decimal("0.000001")}
    empty = body["buckets"][1]
    assert (empty["cost_usd"], empty["requests"], empty["cost_per_request"]) == (0, 0, 0)
    totals = body["totals"]
    assert (totals["cost_usd"], totals["requests"]) == (Decimal("0.766667"), 4)
    assert (totals["input_tokens"], totals["output_tokens"]) == (40, 4)
    assert totals["cost_per_request"] == Decimal("0.191667")  # 0.19166675 half-even
    assert body["by_provider"]["sim-anthropic"]["cost_usd"] == Decimal("0.333333")
    assert body["by_provider"]["sim-openai"]["requests"] == 3
    assert "sim-gemini" not in body["by_provider"]


async def test_hour_and_day_windows(client: httpx.AsyncClient) -> None:
    await place(client)
    hour = exact(await client.get("/metrics", params={"window": "hour"}))
    assert len(hour["buckets"]) == 24
    assert nonzero(hour) == {"2026-11-22T11:00:00.000Z": Decimal("2"),
                             "2026-11-23T09:00:00.000Z": Decimal("1.1"),
                             "2026-11-23T10:00:00.000Z": Decimal("0.666667")}
    day = exact(await client.get("/metrics", params={"window": "day"}))
    assert [b["start"] for b in day["buckets"]][::6] == ["2026-11-17T00:00:00.000Z",
                                                         "2026-11-23T00:00:00.000Z"]
    assert nonzero(day) == {"2026-11-17T00:00:00.000Z": Decimal("4"),
                            "2026-11-22T00:00:00.000Z": Decimal("2"),
                            "2026-11-23T00:00:00.000Z": Decimal("1.766667")}
    assert day["totals"]["cost_usd"] == Decimal("7.766667")
    assert day["by_provider"]["sim-gemini"]["requests"] == 2


async def test_duplicates_do_not_inflate_windows(client: httpx.AsyncClient) -> None:
    batch = placed_batch()
    await place(client, batch)
    assert (await place(client, batch)).json() == {"accepted": 0, "duplicates": 8}
    assert exact(await client.get("/metrics", params={"window": "minute"}))["totals"]["requests"] == 4


@pytest.mark.sqlite_only  # reads or writes the SQLite file itself
async def test_windows_move_with_the_clock_and_old_minutes_are_pruned(
        client: httpx.AsyncClient, clock: FrozenClock, tmp_path: Path) -> None:
    await place(client)
    clock.set(clock.now() + timedelta(hours=1))
    assert exact(await client.get("/metrics", params={"window": "minute"}))["totals"]["requests"] == 0
    assert exact(await client.get("/metrics", params={"window": "hour"}))["totals"][
        "requests"] == 5
    await post(client, "/receipts", {"receipts": [make_receipt(
        "0.5", timestamp="2026-11-23T11:30:00Z")]})
    db = sqlite3.connect(tmp_path / "ledger" / "ledger.db")
    minutes = db.execute("SELECT bucket_us FROM rollups WHERE grain = 'minute'").fetchall()
    db.close()
    assert len(minutes) == 1  # only the new minute is kept; the rest were past retention


async def test_windows_survive_a_restart(ledger_at) -> None:
    async with ledger_at() as client:
        await place(client)
        before = {w: (await client.get("/metrics", params={"window": w})).json()
                  for w in ("minute", "hour", "day")}
    async with ledger_at() as client:
        for window, body in before.items():
            assert (await client.get("/metrics", params={"window": window})).json() == body


async def test_bad_window_is_a_400(client: httpx.AsyncClient) -> None:
    resp = await client.get("/metrics", params={"window": "week"})
    assert resp.status_code == 400
    assert error_of(resp)["field"] == "window"


async def test_cache_hits_and_what_they_saved_are_reported(client: httpx.AsyncClient) -> None:
    receipts = [make_receipt("0.020000", provider="sim-openai"),
                make_receipt("0", provider="sim-openai", cache="hit", cache_kind="exact", saved_usd=Decimal("0.02")),
                make_receipt("0", provider="sim-openai", cache="hit", cache_kind="semantic",
                             cache_similarity=0.93, saved_usd=Decimal("0.010001"))]
    assert (await post(client, "/receipts", {"receipts": receipts})).status_code == 200
    body = exact(await client.get("/metrics?window=day"))
    assert (body["totals"]["cost_usd"], body["totals"]["requests"]) == (Decimal("0.02"), 3)
    assert (body["totals"]["cache_hits"], body["totals"]["saved_usd"]) == (2, Decimal("0.030001"))
    assert body["by_provider"]["sim-openai"]["saved_usd"] == Decimal("0.030001")
    bad = await post(client, "/receipts", {"receipts": [make_receipt("0", saved_usd=Decimal("0.0000001"))]})
    assert bad.status_code == 400 and "saved_usd" in error_of(bad)["message"]
