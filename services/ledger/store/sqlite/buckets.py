"""Spend per scope in 15-minute UTC buckets, kept in step with every new receipt: a periodic
budget's spend is the sum of its period's buckets, the runway's burn rate that of the last hour's
or day's."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

from services.ledger.budgets.model import BudgetKey, Burn
from services.ledger.budgets.periods import bucket_of
from services.ledger.budgets.runway import DAY_US, HOUR_US, since

UPSERT = """
INSERT INTO spend_buckets (scope, scope_id, bucket_us, spent_micros, receipts) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (scope, scope_id, bucket_us) DO UPDATE SET
    spent_micros = spent_micros + excluded.spent_micros,
    receipts = receipts + excluded.receipts
"""


def deltas(items: Mapping[BudgetKey, Sequence[tuple[int, int]]]) -> dict[tuple[str, str, int], tuple[int, int]]:
    """(scope, scope_id, bucket) -> (cost, receipts) of the (timestamp, cost) pairs per scope."""
    out: dict[tuple[str, str, int], tuple[int, int]] = {}
    for key, pairs in items.items():
        sums: dict[int, list[int]] = {}  # bucket -> [cost, receipts]
        for ts_us, cost in pairs:
            cell = sums.get(bucket := bucket_of(ts_us))
            if cell is None:
                sums[bucket] = [cost, 1]
            else:
                cell[0] += cost
                cell[1] += 1
        for bucket, (spent, count) in sums.items():
            out[(key.scope, key.scope_id, bucket)] = (spent, count)
    return out


def add(conn: sqlite3.Connection, items: Mapping[BudgetKey, Sequence[tuple[int, int]]]) -> None:
    conn.executemany(UPSERT, [(*cell, spent, n) for cell, (spent, n) in deltas(items).items()])


def total(conn: sqlite3.Connection, key: BudgetKey, start_us: int, end_us: int) -> int:
    """What `key` spent in [start_us, end_us) (bucket starts)."""
    row = conn.execute("SELECT COALESCE(SUM(spent_micros), 0) FROM spend_buckets WHERE scope = ? AND scope_id = ?"
                       " AND bucket_us >= ? AND bucket_us < ?", (key.scope, key.scope_id, start_us, end_us)).fetchone()
    return int(row[0])


def burn(conn: sqlite3.Connection, key: BudgetKey, now_us: int) -> Burn:
    hour, day = since(now_us, HOUR_US), since(now_us, DAY_US)
    end = bucket_of(now_us) + 1
    return Burn(total(conn, key, hour, end), hour, total(conn, key, day, end), day, now_us)
