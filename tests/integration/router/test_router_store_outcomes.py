"""The outcome log on both backends keeps each posted batch as one row: every outcome comes back
exactly (floats to the bit), in time order, the ones older than the horizon left out; a batch is
pruned once all of it is older. On SQLite, a log of one row per outcome (older than release 0.1) is
dropped when opened, its epoch kept."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.outcome_window import Outcome
from services.common.settings import Settings
from services.router.store.base import OutcomeLog
from services.router.store.factory import make_stores
from services.router.store.outcomes_sqlite import SqliteOutcomeLog

T = 1795429815.25


@pytest.fixture
async def log(router_settings: Settings) -> AsyncIterator[OutcomeLog]:
    s = make_stores(router_settings).outcomes
    await s.open()
    yield s
    await s.close()


async def test_batches_come_back_exactly_in_time_order(log: OutcomeLog):
    rng = random.Random(4)
    batches = [[Outcome(rng.choice(["a", "b.c", "d-e_f"]), T + rng.random() * 10, rng.lognormvariate(5, 1),
                        rng.random() > 0.2) for _ in range(300)] for _ in range(5)]
    for batch in batches:
        await log.append(batch)
    await log.append([])  # nothing to keep: no row
    back = await log.since(0.0)
    assert back == sorted((o for b in batches for o in b), key=lambda o: o.at)  # exact floats, bools, names
    assert all(type(o.success) is bool and type(o) is Outcome for o in back)
    assert await log.prune(T + 100) == 5  # five rows, no sixth for the empty batch


async def test_reading_leaves_out_what_is_older_than_the_horizon_and_pruning_whole_old_batches(log: OutcomeLog):
    await log.append([Outcome("a", T, 1.0, True), Outcome("a", T + 1, 2.0, True)])
    await log.append([Outcome("a", T + 5, 3.0, False), Outcome("b", T + 10, 4.0, True)])  # straddles T + 6
    await log.append([Outcome("b", T + 3, 5.0, True), Outcome("b", T + 2, 6.0, True)])
    assert [o.latency_ms for o in await log.since(T + 1)] == [2.0, 6.0, 5.0, 3.0, 4.0]
    assert [o.latency_ms for o in await log.since(T + 6)] == [4.0]
    assert await log.prune(T + 6) == 2  # the first and the third: all older; the second keeps its old half
    assert [o.latency_ms for o in await log.since(0.0)] == [3.0, 4.0]
    assert [o.latency_ms for o in await log.since(T + 6)] == [4.0]


async def test_equal_times_keep_their_arrival_order(log: OutcomeLog):
    await log.append([Outcome("a", T, 1.0, True), Outcome("b", T, 2.0, True)])
    await log.append([Outcome("c", T, 3.0, True)])
    assert [o.provider for o in await log.since(T)] == ["a", "b", "c"]


async def test_the_epoch_only_goes_up(log: OutcomeLog):
    assert await log.epoch() == 0
    assert [await log.bump_epoch() for _ in range(3)] == [1, 2, 3]
    assert await log.epoch() == 3


LEGACY_SCHEMA = """
CREATE TABLE outcomes (provider TEXT NOT NULL, at REAL NOT NULL, latency_ms REAL NOT NULL, success INTEGER NOT NULL);
CREATE INDEX outcomes_at ON outcomes (at);
CREATE TABLE stats_epoch (id INTEGER PRIMARY KEY CHECK (id = 1), epoch INTEGER NOT NULL);
INSERT INTO stats_epoch (id, epoch) VALUES (1, 41);
"""


async def test_a_log_of_one_row_per_outcome_is_dropped_its_epoch_kept(tmp_path: Path):
    path = tmp_path / "o.db"
    with sqlite3.connect(path) as db:
        db.executescript(LEGACY_SCHEMA)
        db.execute("INSERT INTO outcomes VALUES ('p', ?, 100.0, 1)", (T,))
    log = SqliteOutcomeLog(path)
    await log.open()
    assert await log.epoch() == 41 and await log.since(0.0) == []
    await log.append([Outcome("new", T + 9, 1.0, True)])
    await log.close()
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "outcomes" not in tables and "schema_version" in tables
    again = SqliteOutcomeLog(path)
    await again.open()
    assert len(await again.since(0.0)) == 1 and await again.epoch() == 41
    await again.close()
