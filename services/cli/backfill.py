"""`tollway db backfill-series`: add the receipts booked before the analytics series existed to
the series (services/ledger/analytics/backfill.py), in batches, with a progress line per batch.
Safe to run again, while a ledger ingests, or while a ledger's own start-up backfill runs: no
receipt is counted twice. Exit 0 when none is left, 1 on a failure (what was done stays done)."""

from __future__ import annotations

import asyncio
import sqlite3
import sys

from services.common.db import DatabaseUnavailable
from services.common.migrations import SchemaError
from services.common.settings import Settings
from services.ledger.analytics.backfill import BackfillStep, BackfillTotals, backfill_series
from services.ledger.store.factory import UnsupportedDatabase, make_store


def _line(step: BackfillStep, totals: BackfillTotals) -> None:
    print(f"series backfill: {totals.added} added, {totals.skipped} skipped, {totals.remaining} to do", flush=True)


async def _run(settings: Settings, batch: int) -> BackfillTotals:
    store = make_store(settings)
    await store.open()  # applies the migrations, 0010 (which lists what to backfill) among them
    try:
        return await backfill_series(store, batch, _line)
    finally:
        await store.close()


def run(settings: Settings, batch: int) -> int:
    try:
        totals = asyncio.run(_run(settings, batch))
    except (DatabaseUnavailable, SchemaError, UnsupportedDatabase, sqlite3.Error, ValueError) as exc:
        print(f"tollway db backfill-series: {exc}", file=sys.stderr)
        return 1
    skipped = f" ({totals.skipped} skipped: unreadable, or pruned since; see the log)" if totals.skipped else ""
    print(f"series backfill: done, {totals.added} receipts added in {totals.batches} batches{skipped}")
    return 0
