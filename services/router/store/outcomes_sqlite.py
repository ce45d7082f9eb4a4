"""Outcome reports kept in SQLite (`<artifacts>/router/outcomes.db`) so a restarted router
rebuilds its sliding window instead of starting from the SLO priors. One row per batch a gateway
posted (its outcomes as JSON columns, and the time of its newest), not one per outcome: a row and
an index entry per outcome cost the router ~20x more (measured: scripts/bench/outcomes.py). A
batch is pruned once its newest outcome is older than the window; reading filters the older
outcomes of a batch still kept. Also keeps the stats epoch: how many times new stats were
published (it is part of the registry snapshot's version, so it must never go back)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from operator import attrgetter

import orjson

from services.common.outcome_window import Outcome
from services.router.store.sqlite_db import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS outcome_batches (
    id INTEGER PRIMARY KEY,
    newest_at REAL NOT NULL,
    outcomes BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS outcome_batches_newest_at ON outcome_batches (newest_at);
CREATE TABLE IF NOT EXISTS stats_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT OR IGNORE INTO stats_epoch (id, epoch) VALUES (1, 0);
"""
LEGACY_CHUNK = 10_000  # outcomes per batch when a log of one row per outcome is converted


def encode(outcomes: Sequence[Outcome]) -> tuple[float, bytes]:
    """The newest `at` and the outcomes as four JSON columns: [providers, ats, latencies, successes]."""
    columns = list(zip(*outcomes, strict=True))
    return max(columns[1]), orjson.dumps(columns)


def decode(blob: bytes) -> list[Outcome]:
    return list(map(Outcome._make, zip(*orjson.loads(blob), strict=True)))


class SqliteOutcomeLog(SqliteFile):
    schema = SCHEMA
    synchronous = "NORMAL"  # a power cut may lose the last outcomes; the window re-learns them

    def open(self) -> None:
        super().open()
        self._convert_legacy()

    def _convert_legacy(self) -> None:
        """A log written one row per outcome (before batches) becomes batches, once."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'outcomes'").fetchone() is None:
                return
            rows = db.execute("SELECT provider, at, latency_ms, success FROM outcomes ORDER BY rowid")
            while chunk := rows.fetchmany(LEGACY_CHUNK):
                self._insert(db, [Outcome(p, at, lat, bool(ok)) for p, at, lat, ok in chunk])
            db.execute("DROP TABLE outcomes")

    @staticmethod
    def _insert(db: sqlite3.Connection, outcomes: Sequence[Outcome]) -> None:
        db.execute("INSERT INTO outcome_batches (newest_at, outcomes) VALUES (?, ?)", encode(outcomes))

    def append(self, outcomes: Sequence[Outcome]) -> None:
        """One batch, one row, one transaction."""
        if not outcomes:
            return
        with self._write() as db:
            self._insert(db, outcomes)

    def since(self, horizon: float) -> list[Outcome]:
        """Every outcome at or after `horizon`, in time order (arrival order among equal times)."""
        with self._read() as db:
            blobs = db.execute("SELECT outcomes FROM outcome_batches WHERE newest_at >= ? ORDER BY id",
                               (horizon,)).fetchall()
        kept = [o for (blob,) in blobs for o in decode(blob) if o.at >= horizon]
        kept.sort(key=attrgetter("at"))
        return kept

    def prune(self, horizon: float) -> int:
        """Drop the batches whose every outcome is older than `horizon`; how many."""
        with self._write() as db:
            return db.execute("DELETE FROM outcome_batches WHERE newest_at < ?", (horizon,)).rowcount

    def epoch(self) -> int:
        with self._read() as db:
            return int(db.execute("SELECT epoch FROM stats_epoch WHERE id = 1").fetchone()[0])

    def bump_epoch(self) -> int:
        with self._write() as db:
            row = db.execute("UPDATE stats_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch").fetchone()
            return int(row[0])
