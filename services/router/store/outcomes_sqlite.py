"""Outcome reports kept in SQLite (`<artifacts>/router/outcomes.db`) so a restarted router
rebuilds its sliding window instead of starting from the SLO priors; rows older than the window
are pruned. Also keeps the stats epoch: how many times new stats were published (it is part of
the registry snapshot's version, so it must never go back)."""

from __future__ import annotations

from collections.abc import Iterable

from services.common.outcome_window import Outcome
from services.router.store.sqlite_db import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS outcomes (
    provider TEXT NOT NULL,
    at REAL NOT NULL,
    latency_ms REAL NOT NULL,
    success INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outcomes_at ON outcomes (at);
CREATE TABLE IF NOT EXISTS stats_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT OR IGNORE INTO stats_epoch (id, epoch) VALUES (1, 0);
"""


class SqliteOutcomeLog(SqliteFile):
    schema = SCHEMA
    synchronous = "NORMAL"  # a power cut may lose the last outcomes; the window re-learns them

    def append(self, outcomes: Iterable[Outcome]) -> None:
        with self._write() as db:
            db.executemany("INSERT INTO outcomes (provider, at, latency_ms, success) VALUES (?, ?, ?, ?)",
                           [(o.provider, o.at, o.latency_ms, int(o.success)) for o in outcomes])

    def since(self, horizon: float) -> list[Outcome]:
        with self._read() as db:
            rows = db.execute("SELECT provider, at, latency_ms, success FROM outcomes WHERE at >= ? ORDER BY at",
                              (horizon,)).fetchall()
        return [Outcome(p, at, lat, bool(ok)) for p, at, lat, ok in rows]

    def prune(self, horizon: float) -> int:
        with self._write() as db:
            return db.execute("DELETE FROM outcomes WHERE at < ?", (horizon,)).rowcount

    def epoch(self) -> int:
        with self._read() as db:
            return int(db.execute("SELECT epoch FROM stats_epoch WHERE id = 1").fetchone()[0])

    def bump_epoch(self) -> int:
        with self._write() as db:
            row = db.execute("UPDATE stats_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch").fetchone()
            return int(row[0])
