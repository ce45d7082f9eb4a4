"""The budget periods migration on a book that has receipts, budgets and events: the new scopes' spend and the
15-minute buckets are filled from the receipts in it, and a recorded event stays recorded (as the
one-off period's), on SQLite (a file upgraded in place) and on PostgreSQL."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
from structlog.testing import capture_logs

from services.common import jsonio
from services.common.clock import FrozenClock, parse_utc
from services.ledger.store.migrations import migrations
from services.ledger.times import to_us
from tests.integration.ledger.conftest import Ledger
from tests.integration.ledger.ledger_factory import exact, make_receipt, post
from tests.integration.ledger.old_books import postgres_at, sqlite_at

# the book this test builds by hand: every migration before the one that adds budget periods
BEFORE = next(i for i, m in enumerate(migrations("sqlite")) if m.name.endswith("budget_periods"))
RECEIPTS = [make_receipt("0.400000", request_id="old-1", user="ann", team="ml", timestamp="2026-11-23T09:00:00.000Z"),
            make_receipt("0.200000", request_id="old-2", user="bob", timestamp="2026-11-23T10:20:00.000Z")]


def _rows(clock: FrozenClock) -> list[tuple[Any, ...]]:
    return [(r["request_id"], r["run_id"], to_us(parse_utc(r["timestamp"])), r["provider"], 100, 50,
             int(Decimal(r["cost_usd"]) * 1_000_000), jsonio.dumps(r).decode(), to_us(clock.now()))
            for r in RECEIPTS]


INSERT = ("INSERT INTO receipts (request_id, run_id, ts_us, provider, input_tokens, output_tokens, cost_micros, body,"
          " ingested_us) VALUES ({})")


async def _build(backend: str, database_url: str, tmp_path: Path, clock: FrozenClock) -> None:
    rows, now = _rows(clock), to_us(clock.now())
    if backend == "sqlite":
        path = tmp_path / "ledger" / "ledger.db"
        path.parent.mkdir(parents=True)
        with sqlite3.connect(path, isolation_level=None) as conn:
            sqlite_at(conn, BEFORE)
            conn.executemany(INSERT.format(", ".join("?" * 9)), rows)
            conn.execute("INSERT INTO spend VALUES ('team', 'ml', 400000, 1)")
            conn.execute("INSERT INTO budgets VALUES ('team', 'ml', 500000, ?, ?)", (now, now))
            conn.execute("INSERT INTO budget_events VALUES ('team', 'ml', 75, ?, 400000, 500000)", (now,))
        return
    conn = await asyncpg.connect(database_url)
    try:
        await postgres_at(conn, BEFORE)
        await conn.executemany(INSERT.format(", ".join(f"${i}" for i in range(1, 10))), rows)
        await conn.execute("INSERT INTO spend VALUES ('team', 'ml', 400000, 1)")
        await conn.execute("INSERT INTO budgets VALUES ('team', 'ml', 500000, $1, $1)", now)
        await conn.execute("INSERT INTO budget_events VALUES ('team', 'ml', 75, $1, 400000, 500000)", now)
    finally:
        await conn.close()


async def test_an_existing_book_upgrades_with_its_receipts_counted(
        backend: str, database_url: str, tmp_path: Path, clock: FrozenClock, ledger_at: Ledger) -> None:
    await _build(backend, database_url, tmp_path, clock)
    async with ledger_at() as client:
        team = exact(await client.get("/budgets/team/ml"))
        assert (team["spent_usd"], team["period"], [e["threshold"] for e in team["events"]]) == (
            Decimal("0.4"), "once", [75])
        for scope, scope_id, spent in (("user", "ann", "0.4"), ("global", "all", "0.6"), ("model", "sim-small", "0.6")):
            made = await post(client, "/budget", {"scope": scope, "scope_id": scope_id, "budget_usd": "10"})
            assert exact(made)["spent_usd"] == Decimal(spent), (scope, made.text)
        daily = await post(client, "/budget", {"scope": "user", "scope_id": "bob", "budget_usd": "1",
                                               "period": "daily"})
        runway = exact(daily)
        assert runway["spent_usd"] == Decimal("0.2")  # from the buckets the migration filled
        with capture_logs() as logs:  # the 75 % recorded before the upgrade is not raised again
            await post(client, "/receipts", {"receipts": [make_receipt("0.050000", team="ml")]})
        assert [e["threshold"] for e in logs if e["event"] == "budget_threshold_crossed"] == [90]
        global_state = exact(await client.get("/budgets/global/all"))
        assert global_state["runway"]["last_hour"]["spent_usd"] == Decimal("0.25")
