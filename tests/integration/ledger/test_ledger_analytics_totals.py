"""The totals of every breakdown equal the sum of the receipts to the microdollar (and the
counts, tokens and cache figures exactly), on SQLite and PostgreSQL: random receipts over a day,
ingested in random batches, read back grouped by random sets of dimensions at every stored grain,
and as a series whose buckets add up to the same totals. The latency quantiles of every group are
those of one sketch of its receipts, however the stored sketches were merged."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.settings import Settings
from services.ledger.analytics.dimensions import tags_of
from services.ledger.analytics.series import Point, query_breakdown, query_series
from services.ledger.analytics.sketch import index_of, quantiles
from services.ledger.analytics.spec import GROUPS, SeriesSpec
from services.ledger.keys.model import VirtualKey
from services.ledger.receipts.parse import parse_receipt
from services.ledger.store.factory import make_store
from services.ledger.times import US_PER_S, iso, to_us
from tests.integration.ledger.ledger_factory import make_receipt

DAY_US = 86_400 * US_PER_S
FIRST_DAY = to_us(datetime(2026, 1, 5, tzinfo=UTC))
KEYS = {"kA": {"env": "ci"}, "kB": {"env": "prod", "tier": "gold"}, "kC": {}}
_days = itertools.count()

receipt_st = st.fixed_dictionaries({
    "offset_us": st.integers(0, DAY_US - 1),
    "cost_micros": st.integers(0, 50_000_000),
    "input_micros": st.integers(0, 50_000_000),
    "provider": st.sampled_from(["p1", "p2", "p3"]),
    "model": st.sampled_from(["m1", "m2"]),
    "key_id": st.sampled_from([None, "kA", "kB", "kC"]),
    "user": st.sampled_from([None, "ann", "bob"]),
    "team": st.sampled_from([None, "ml", "web"]),
    "org": st.sampled_from([None, "acme"]),
    "run_id": st.sampled_from(["r1", "r2", "r3"]),
    "agent": st.sampled_from(["a1", "a2"]),
    "status": st.sampled_from(["success", "success", "error", "budget_exceeded"]),
    "input_tokens": st.integers(0, 10**6),
    "cached": st.integers(0, 10**6),
    "output_tokens": st.integers(0, 10**6),
    "latency_ms": st.floats(0, 60_000, allow_nan=False),
    "cache_hit": st.booleans(),
    "saved_micros": st.integers(0, 10**6),
})


def receipt_body(day_us: int, r: dict[str, Any]) -> dict[str, Any]:
    cost = Decimal(r["cost_micros"]).scaleb(-6)
    inp = Decimal(min(r["input_micros"], r["cost_micros"])).scaleb(-6)
    extra: dict[str, Any] = {k: r[k] for k in ("key_id", "user", "team", "org") if r[k] is not None}
    if r["cache_hit"]:
        extra.update(cache="hit", saved_usd=Decimal(r["saved_micros"]).scaleb(-6))
    return make_receipt(f"{cost:f}", input_cost=f"{inp:f}", run_id=r["run_id"], provider=r["provider"],
                        timestamp=iso(day_us + r["offset_us"]), input_tokens=r["input_tokens"],
                        output_tokens=r["output_tokens"], model=r["model"], agent=r["agent"], status=r["status"],
                        latency_ms=r["latency_ms"], cache_read_input_tokens=min(r["cached"], r["input_tokens"]),
                        **extra)


def group_values(r: dict[str, Any], group_by: tuple[str, ...]) -> Iterable[tuple[str | None, ...]]:
    """The groups a receipt counts in: one, or one per tag of its key when grouped by tag."""
    names = {"key": "key_id", "run": "run_id"}
    tags = tags_of(KEYS[r["key_id"]]) if r["key_id"] else []
    for tag in (tags if "tag" in group_by else [None]):
        yield tuple(tag if name == "tag" else r[names.get(name, name)] for name in group_by)


def expected(receipts: list[dict[str, Any]], group_by: tuple[str, ...]) -> dict[tuple[str | None, ...], tuple]:
    sums: dict[tuple[str | None, ...], list[int]] = {}
    for r in receipts:
        values = (r["cost_micros"], 1, int(r["status"] == "error"), r["input_tokens"], r["output_tokens"],
                  min(r["cached"], r["input_tokens"]), int(r["cache_hit"]),
                  r["saved_micros"] if r["cache_hit"] else 0)
        for group in group_values(r, group_by):
            acc = sums.setdefault(group, [0] * 8)
            for i, v in enumerate(values):
                acc[i] += v
    return {g: tuple(v) for g, v in sums.items()}


def expected_latency(receipts: list[dict[str, Any]], group_by: tuple[str, ...]) -> dict[tuple, tuple]:
    """Each group's quantiles from one sketch of all its receipts' latencies."""
    sketches: dict[tuple[str | None, ...], Counter[int]] = {}
    for r in receipts:
        for group in group_values(r, group_by):
            sketches.setdefault(group, Counter())[index_of(r["latency_ms"])] += 1
    return {g: tuple(quantiles(c)) for g, c in sketches.items()}


def found(points: list[Point], group_by: tuple[str, ...]) -> dict[tuple[str | None, ...], tuple]:
    sums: dict[tuple[str | None, ...], list[int]] = {}
    for p in points:
        acc = sums.setdefault(tuple(p.group[name] for name in group_by), [0] * 8)
        for i, v in enumerate(p.counters.values()):
            acc[i] += v
    return {g: tuple(v) for g, v in sums.items()}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(receipts=st.lists(receipt_st, min_size=1, max_size=40),
       batches=st.integers(1, 3),
       groupings=st.lists(st.sets(st.sampled_from(GROUPS), max_size=4), min_size=1, max_size=4))
def test_every_breakdown_totals_the_receipts(tmp_path: Path, database_url: str, receipts: list[dict[str, Any]],
                                             batches: int, groupings: list[set[str]]) -> None:
    day = FIRST_DAY + next(_days) * DAY_US  # each example its own day of the same book
    parsed = [parse_receipt(receipt_body(day, r), now_us=day + DAY_US) for r in receipts]
    chunk = -(-len(parsed) // batches)

    async def scenario() -> None:
        store = make_store(Settings(artifacts_dir=tmp_path, database_url=database_url))
        await store.open()
        try:
            for key_id, metadata in KEYS.items():
                if await store.key(key_id) is None:
                    secret_hash = hashlib.sha256(key_id.encode()).hexdigest()
                    await store.create_key(VirtualKey(key_id=key_id, secret_hash=secret_hash, prefix="tw-x",
                                                      created_us=day, metadata=metadata))
            for i in range(0, len(parsed), chunk):
                await store.ingest(parsed[i:i + chunk], day + DAY_US)
            for group_set in [set(), set(GROUPS) - {"tag"}, *groupings]:
                group_by = tuple(sorted(group_set))
                want = expected(receipts, group_by)
                latency = expected_latency(receipts, group_by)
                for grain in ("minute", "hour", "day"):
                    spec = SeriesSpec(grain=grain, since_us=day, until_us=day + DAY_US, group_by=group_by)
                    points = await query_breakdown(store, spec)
                    assert found(points, group_by) == want, (grain, group_by)
                    # the sketches merged across batches and stored buckets = one sketch of the group
                    got = {tuple(p.group[name] for name in group_by): p.latency for p in points}
                    assert got.keys() == latency.keys()
                    for group, quantile in latency.items():
                        assert got[group] == pytest.approx(quantile, rel=1e-12), (grain, group)
                spec = SeriesSpec(grain="hour", since_us=day, until_us=day + DAY_US, group_by=group_by)
                assert found(await query_series(store, spec), group_by) == want, ("series", group_by)
        finally:
            await store.close()

    asyncio.run(scenario())
