"""The outcome log keeps each posted batch as one row: every outcome comes back exactly (floats to
the bit), in time order, the ones older than the horizon left out; a batch is pruned once all of
it is older; a log written one row per outcome (before batches) is converted when opened."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

from services.common.outcome_window import Outcome
from services.router.store.outcomes_sqlite import SqliteOutcomeLog

T = 1795429815.25


def opened(path: Path) -> SqliteOutcomeLog:
    log = SqliteOutcomeLog(path)
    log.open()
    return log


def rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_batches_come_back_exactly_in_time_order(tmp_path: Path):
    rng = random.Random(4)
    batches = [[Outcome(rng.choice(["a", "b.c", "d-e_f"]), T + rng.random() * 10, rng.lognormvariate(5, 1),
                        rng.random() > 0.2) for _ in range(300)] for _ in range(5)]
    log = opened(tmp_path / "o.db")
    for batch in batches:
        log.append(batch)
    log.append([])  # nothing to keep: no row
    assert rows(tmp_path / "o.db", "outcome_batches") == 5
    back = log.since(0.0)
    assert back == sorted((o for b in batches for o in b), key=lambda o: o.at)  # exact floats, bools, names
    assert all(type(o.success) is bool and type(o) is Outcome for o in back)
    log.close()


def test_reading_leaves_out_what_is_older_than_the_horizon_and_pruning_whole_old_batches(tmp_path: Path):
    log = opened(tmp_path / "o.db")
    log.append([Outcome("a", T, 1.0, True), Outcome("a", T + 1, 2.0, True)])
    log.append([Outcome("a", T + 5, 3.0, False), Outcome("b", T + 10, 4.0, True)])  # straddles T + 6
    log.append([Outcome("b", T + 3, 5.0, True), Outcome("b", T + 2, 6.0, True)])
    assert [o.latency_ms for o in log.since(T + 1)] == [2.0, 6.0, 5.0, 3.0, 4.0]
    assert [o.latency_ms for o in log.since(T + 6)] == [4.0]
    assert log.prune(T + 6) == 2  # the first and the third: all older; the second keeps its old half
    assert rows(tmp_path / "o.db", "outcome_batches") == 1
    assert [o.latency_ms for o in log.since(0.0)] == [3.0, 4.0]
    assert [o.latency_ms for o in log.since(T + 6)] == [4.0]
    log.close()


def test_equal_times_keep_their_arrival_order(tmp_path: Path):
    log = opened(tmp_path / "o.db")
    log.append([Outcome("a", T, 1.0, True), Outcome("b", T, 2.0, True)])
    log.append([Outcome("c", T, 3.0, True)])
    assert [o.provider for o in log.since(T)] == ["a", "b", "c"]
    log.close()


LEGACY_SCHEMA = """
CREATE TABLE outcomes (provider TEXT NOT NULL, at REAL NOT NULL, latency_ms REAL NOT NULL, success INTEGER NOT NULL);
CREATE INDEX outcomes_at ON outcomes (at);
CREATE TABLE stats_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL);
INSERT INTO stats_epoch (id, epoch) VALUES (1, 41);
"""


def test_a_log_of_one_row_per_outcome_is_converted_when_opened(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("services.router.store.outcomes_sqlite.LEGACY_CHUNK", 7)
    path = tmp_path / "o.db"
    old = [Outcome(f"p{i % 3}", T + (i % 5) * 0.1, 100.0 + i, i % 4 != 0) for i in range(30)]
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        db.executemany("INSERT INTO outcomes VALUES (?, ?, ?, ?)", [(o.provider, o.at, o.latency_ms, int(o.success))
                                                                   for o in old])
    log = opened(path)
    assert log.epoch() == 41
    assert log.since(0.0) == sorted(old, key=lambda o: o.at)
    assert rows(path, "outcome_batches") == 5  # 30 outcomes, 7 a batch
    log.append([Outcome("new", T + 9, 1.0, True)])
    log.close()
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "outcomes" not in tables
    again = opened(path)  # converted once: opening again changes nothing
    assert len(again.since(0.0)) == 31 and again.epoch() == 41
    again.close()
