"""Outcome reports kept in SQLite (`<artifacts>/router/outcomes.db`) so a restarted router
rebuilds its sliding window instead of starting from the SLO priors. One row per batch a gateway
posted (its outcomes as JSON columns, and the time of its newest), not one per outcome: a row and
an index entry per outcome cost the router ~20x more (measured: scripts/bench/outcomes.py). A
batch is pruned once its newest outcome is older than the window; reading filters the older
outcomes of a batch still kept. Also keeps the stats epoch: how many times new stats were
published (it is part of the registry snapshot's version, so it must never go back). Its tables:
migrations/sqlite/outcomes/."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from services.common.outcome_window import Outcome
from services.router.store.codec import encode_outcomes, kept_since
from services.router.store.migrations import SQLITE
from services.router.store.sqlite_db import SqliteFile


def _append(db: sqlite3.Connection, outcomes: Sequence[Outcome]) -> None:
    db.execute("INSERT INTO outcome_batches (newest_at, outcomes) VALUES (?, ?)", encode_outcomes(outcomes))


def _since(db: sqlite3.Connection, horizon: float) -> list[Outcome]:
    rows = db.execute("SELECT outcomes FROM outcome_batches WHERE newest_at >= ? ORDER BY id", (horizon,))
    return kept_since([blob for (blob,) in rows.fetchall()], horizon)


def _prune(db: sqlite3.Connection, horizon: float) -> int:
    return db.execute("DELETE FROM outcome_batches WHERE newest_at < ?", (horizon,)).rowcount


def _epoch(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT epoch FROM stats_epoch WHERE id = 1").fetchone()[0])


def _bump_epoch(db: sqlite3.Connection) -> int:
    return int(db.execute("UPDATE stats_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch").fetchone()[0])


class SqliteOutcomeLog(SqliteFile):
    migrations = SQLITE["outcomes"]
    synchronous = "NORMAL"  # a power cut may lose the last outcomes; the window re-learns them

    async def append(self, outcomes: Sequence[Outcome]) -> None:
        if outcomes:
            await self._call(_append, outcomes, write=True)

    async def since(self, horizon: float) -> list[Outcome]:
        return await self._call(_since, horizon)

    async def prune(self, horizon: float) -> int:
        return await self._call(_prune, horizon, write=True)

    async def epoch(self) -> int:
        return await self._call(_epoch)

    async def bump_epoch(self) -> int:
        return await self._call(_bump_epoch, write=True)
