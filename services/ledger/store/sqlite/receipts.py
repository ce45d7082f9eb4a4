"""Receipt rows: idempotent insert on request_id, and a run's receipts in timestamp order."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import ArmSample, RunReceipts
from services.ledger.windows.rollup import Row, Tally

INSERT = """
INSERT INTO receipts (request_id, run_id, ts_us, provider, input_tokens, output_tokens,
                      cost_micros, body, ingested_us, tenant, saved_micros, cache_hit, experiment, arm)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (request_id) DO NOTHING
"""


def insert_new(conn: sqlite3.Connection, receipts: Sequence[Receipt], now_us: int) -> list[Receipt]:
    """Insert each receipt not already in the book; the ones that were new, in order."""
    new: list[Receipt] = []
    for r in receipts:
        cur = conn.execute(INSERT, (r.request_id, r.run_id, r.ts_us, r.provider, r.input_tokens,
                                    r.output_tokens, r.cost_micros, r.body.decode(), now_us, r.tenant,
                                    r.saved_micros, int(r.cache_hit), r.experiment, r.arm))
        if cur.rowcount == 1:
            new.append(r)
    return new


def exists(conn: sqlite3.Connection, request_id: str) -> bool:
    row = conn.execute("SELECT 1 FROM receipts WHERE request_id = ?", (request_id,)).fetchone()
    return row is not None


def count_all(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM receipts").fetchone()[0])


def run_page(conn: sqlite3.Connection, run_id: str, limit: int, offset: int,
             tenant: str | None = None) -> RunReceipts:
    """A run's receipts; with `tenant`, only that tenant's (a virtual key reads its own)."""
    where, args = ("run_id = ?", (run_id,)) if tenant is None else ("run_id = ? AND tenant = ?", (run_id, tenant))
    count, spent = conn.execute(
        f"SELECT COUNT(*), COALESCE(SUM(cost_micros), 0) FROM receipts WHERE {where}", args).fetchone()
    rows = conn.execute(
        f"SELECT body FROM receipts WHERE {where} ORDER BY ts_us, rowid LIMIT ? OFFSET ?",
        (*args, limit, offset)).fetchall()
    return RunReceipts(count=int(count), spent_micros=int(spent), bodies=[b for (b,) in rows])


def one(conn: sqlite3.Connection, request_id: str, tenant: str | None = None) -> str | None:
    """The body of the receipt of `request_id`; with `tenant`, only if it is that tenant's."""
    where, args = ("request_id = ?", (request_id,)) if tenant is None else (
        "request_id = ? AND tenant = ?", (request_id, tenant))
    row = conn.execute(f"SELECT body FROM receipts WHERE {where}", args).fetchone()
    return None if row is None else str(row[0])


def between(conn: sqlite3.Connection, first_us: int, until_us: int, limit: int,
            tenant: str | None = None) -> list[str]:
    where, args = ("ts_us >= ? AND ts_us < ?", (first_us, until_us)) if tenant is None else (
        "tenant = ? AND ts_us >= ? AND ts_us < ?", (tenant, first_us, until_us))
    rows = conn.execute(f"SELECT body FROM receipts WHERE {where} ORDER BY ts_us DESC LIMIT ?", (*args, limit))
    return [str(b) for (b,) in rows]


def tenant_window(conn: sqlite3.Connection, tenant: str, size_us: int, first_us: int,
                  last_us: int) -> list[Row]:
    """One tenant's receipts summed per bucket of `size_us` and provider (buckets from first_us
    to last_us): the rollup rows of a window, for a virtual key that may see only its own."""
    rows = conn.execute(
        "SELECT ts_us - ts_us % ?, provider, SUM(cost_micros), COUNT(*), SUM(input_tokens), SUM(output_tokens),"
        " SUM(saved_micros), SUM(cache_hit) FROM receipts WHERE tenant = ? AND ts_us >= ? AND ts_us < ? GROUP BY 1, 2",
        (size_us, tenant, first_us, last_us + size_us))
    return [(int(start), provider, Tally(int(cost), int(n), int(i), int(o), int(saved), int(hits)))
            for start, provider, cost, n, i, o, saved, hits in rows]


def experiment_samples(conn: sqlite3.Connection, experiment: str, tenant: str | None = None) -> list[ArmSample]:
    """Every receipt of an experiment (with `tenant`, only that tenant's) as (arm, status,
    latency_ms, cost_micros, input_tokens, output_tokens, first attempt's status), by the
    experiment's index."""
    where, args = ("experiment = ?", (experiment,)) if tenant is None else (
        "experiment = ? AND tenant = ?", (experiment, tenant))
    rows = conn.execute(
        "SELECT arm, json_extract(body, '$.status'), json_extract(body, '$.latency_ms'), cost_micros,"
        f" input_tokens, output_tokens, json_extract(body, '$.attempts[0].status') FROM receipts WHERE {where}",
        args)
    return [ArmSample(arm, status, float(latency), int(cost), int(i), int(o), first)
            for arm, status, latency, cost, i, o, first in rows]
