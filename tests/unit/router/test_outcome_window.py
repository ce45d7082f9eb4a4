"""The sliding window of outcomes: P95 of successes, success rate and samples over the window,
the newest max_samples kept; the book persists reports and rebuilds its window after a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.common.clock import FrozenClock
from services.common.outcome_window import Outcome, OutcomeWindow, p95
from services.router.outcomes.book import OutcomeBook
from services.router.store.outcomes_sqlite import SqliteOutcomeLog

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def test_p95_is_nearest_rank():
    assert p95([]) is None
    assert p95([5.0]) == 5.0
    assert p95([float(i) for i in range(1, 101)]) == 95.0
    assert p95([float(i) for i in range(1, 21)]) == 19.0


def test_stats_count_every_outcome_but_time_only_successes():
    w = OutcomeWindow(window_s=60, max_samples=1000)
    for i in range(1, 21):
        w.add(Outcome("a", 100.0, float(i * 10), True))
    for _ in range(5):
        w.add(Outcome("a", 100.0, 90_000.0, False))  # timeouts: failures, not latencies
    stats = w.stats(now=110.0)["a"]
    assert stats.samples == 25 and stats.success_rate == 0.8 and stats.p95_ms == 190.0


def test_outcomes_leave_the_window_as_time_passes():
    w = OutcomeWindow(window_s=60, max_samples=1000)
    w.add(Outcome("a", 0.0, 5000.0, True))
    w.add(Outcome("a", 50.0, 100.0, True))
    assert w.stats(now=55.0)["a"].samples == 2
    assert w.stats(now=65.0)["a"].p95_ms == 100.0
    assert "a" not in w.stats(now=200.0)


def test_only_the_newest_max_samples_count():
    w = OutcomeWindow(window_s=3600, max_samples=10)
    for i in range(10):
        w.add(Outcome("a", float(i), 5000.0, True))
    for i in range(10):
        w.add(Outcome("a", 10.0 + i, 100.0, True))
    assert w.stats(now=30.0)["a"].p95_ms == 100.0


def test_adding_many_is_adding_each_in_order():
    outcomes = [Outcome("ab"[i % 2], float(i % 7), float(i), i % 3 != 0) for i in range(50)]
    one_by_one, at_once = OutcomeWindow(window_s=60, max_samples=10), OutcomeWindow(window_s=60, max_samples=10)
    for o in outcomes:
        one_by_one.add(o)
    at_once.add_many(outcomes[:20])
    at_once.add_many(outcomes[20:])
    assert at_once.stats(now=63.0) == one_by_one.stats(now=63.0)
    assert at_once.stats(now=63.0)["a"].samples == 9  # the newest 10 of "a"; the first (at 2.0) expired


async def book(tmp_path: Path, clock: FrozenClock) -> OutcomeBook:
    b = OutcomeBook(SqliteOutcomeLog(tmp_path / "outcomes.db"), clock, window_s=3600, max_samples=100,
                    min_samples=3, success_floor=0.8)
    await b.open()
    return b


async def test_publishing_moves_the_epoch_only_when_the_stats_change(tmp_path: Path):
    clock = FrozenClock(T0)
    b = await book(tmp_path, clock)
    assert await b.publish() is False and b.epoch == 0
    now = clock.now().timestamp()
    assert await b.record([Outcome("a", now, 120.0, True), Outcome("a", now, 80.0, False)]) == 2
    assert await b.publish() is True and b.epoch == 1
    assert b.observed.providers["a"].success_rate == 0.5
    assert await b.publish() is False and b.epoch == 1
    assert b.observed.min_samples == 3 and b.observed.success_floor == 0.8
    await b.close()


async def test_reports_older_than_the_window_are_not_kept(tmp_path: Path):
    clock = FrozenClock(T0)
    b = await book(tmp_path, clock)
    old = (T0 - timedelta(hours=2)).timestamp()
    assert await b.record([Outcome("a", old, 120.0, True)]) == 0
    await b.close()


async def test_a_restarted_router_rebuilds_its_window_and_keeps_its_epoch(tmp_path: Path):
    clock = FrozenClock(T0)
    b = await book(tmp_path, clock)
    now = clock.now().timestamp()
    await b.record([Outcome("a", now - i, 100.0 + i, True) for i in range(10)])
    await b.publish()
    before = b.observed
    await b.close()
    clock.set(T0 + timedelta(minutes=5))
    again = await book(tmp_path, clock)
    assert again.epoch == 1
    assert again.observed.providers == before.providers
    clock.set(T0 + timedelta(hours=2))  # everything has left the window
    assert await again.publish() is True and again.observed.providers == {} and again.epoch == 2
    assert await again.log.since(0.0) == []  # pruned
    await again.close()
