"""Receipts to integer microdollars: exact conversion, refusals, and rollups that add up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import InvalidRequest
from services.common.money import from_micros
from services.ledger.receipts.parse import parse_batch, parse_receipt
from services.ledger.times import to_us
from services.ledger.windows.buckets import GRAINS
from services.ledger.windows.rollup import rollup_deltas

NOW = to_us(datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC))


def priced(request_id: str, input_cost: Decimal, output_cost: Decimal,
           timestamp: str = "2026-11-23T10:30:00Z") -> dict[str, Any]:
    """The fields the ledger reads from a (contract-valid) receipt."""
    return {"request_id": request_id, "run_id": "run-u", "timestamp": timestamp,
            "provider": "p", "input_tokens": 3, "output_tokens": 4,
            "input_cost_usd": input_cost, "output_cost_usd": output_cost,
            "cost_usd": input_cost + output_cost}


def test_amounts_become_exact_micros_and_the_json_is_kept_as_sent() -> None:
    r = parse_receipt(priced("r1", Decimal("0.000001"), Decimal("0.333333")), now_us=NOW)
    assert (r.cost_micros, r.input_tokens, r.output_tokens) == (333_334, 3, 4)
    assert r.ts_us == to_us(datetime(2026, 11, 23, 10, 30, tzinfo=UTC))
    assert b'"cost_usd":0.333334' in r.body and b'"input_cost_usd":0.000001' in r.body
    assert orjson.loads(r.body)["request_id"] == "r1"


def test_trailing_zeros_beyond_six_places_are_not_extra_precision() -> None:
    assert parse_receipt(priced("r", Decimal("0.10000000"), Decimal(0)), now_us=NOW).cost_micros == 100_000


@pytest.mark.parametrize(("inp", "out", "field"), [
    (Decimal("0.0000001"), Decimal(0), "receipts.1.input_cost_usd"),
    (Decimal(0), Decimal("1.1234567"), "receipts.1.output_cost_usd"),
])
def test_more_than_six_decimals_is_refused_naming_the_receipt(inp: Decimal, out: Decimal,
                                                               field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_batch([priced("ok", Decimal(1), Decimal(0)), priced("r7", inp, out)], NOW)
    assert "r7" in info.value.message and info.value.field == field


@pytest.mark.parametrize(("timestamp", "why"), [
    ("0001-01-01T00:00:00Z", "before 2020"),
    ("2019-12-31T23:59:59.999Z", "before 2020"),
    ("9999-12-31T23:59:59Z", "ahead"),
    ("2026-11-24T10:30:16Z", "ahead"),  # a day and a second after the ledger's clock
])
def test_a_timestamp_that_cannot_be_right_is_refused_naming_it(timestamp: str, why: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_batch([priced("ok", Decimal(1), Decimal(0)), priced("r3", Decimal(1), Decimal(0), timestamp)], NOW)
    assert info.value.field == "receipts.1.timestamp"
    assert "r3" in info.value.message and timestamp in info.value.message and why in info.value.message


@pytest.mark.parametrize("timestamp", ["2020-01-01T00:00:00Z", "2026-11-13T10:30:15Z", "2026-11-24T10:30:15Z"])
def test_a_late_receipt_or_a_clock_a_little_ahead_is_taken(timestamp: str) -> None:
    """Shipped ten days late after an outage, the earliest time taken, a gateway's clock up to a day
    ahead of the ledger's."""
    assert parse_receipt(priced("late", Decimal(1), Decimal(0), timestamp), now_us=NOW).ts_us == to_us(
        datetime.fromisoformat(timestamp))


def test_cost_must_equal_input_plus_output() -> None:
    data = priced("rs", Decimal("0.1"), Decimal("0.2")) | {"cost_usd": Decimal("0.300001")}
    with pytest.raises(InvalidRequest) as info:
        parse_receipt(data, now_us=NOW)
    assert "rs" in info.value.message and info.value.field == "cost_usd"


amounts = st.integers(min_value=0, max_value=10**12).map(from_micros)


@given(st.lists(st.tuples(amounts, amounts, st.integers(min_value=0, max_value=86_400 * 8)),
                max_size=40))
def test_rollup_totals_always_equal_the_sum_of_the_receipts(
        items: list[tuple[Decimal, Decimal, int]]) -> None:
    receipts = [parse_receipt(priced(f"r{i}", a, b), now_us=NOW) for i, (a, b, _) in enumerate(items)]
    receipts = [replace(r, ts_us=NOW - age * 1_000_000)
                for r, (_, _, age) in zip(receipts, items, strict=True)]
    assert from_micros(sum(r.cost_micros for r in receipts)) == sum(
        (a + b for a, b, _ in items), Decimal(0))
    deltas = rollup_deltas(receipts, NOW)
    for name, g in GRAINS.items():
        rows = [t for (row_grain, _, _), t in deltas.items() if row_grain == name]
        kept = [r for r in receipts if r.ts_us >= g.cutoff(NOW)]  # older: past retention
        assert sum(t.cost_micros for t in rows) == sum(r.cost_micros for r in kept)
        assert sum(t.requests for t in rows) == len(kept)
        assert sum(t.input_tokens for t in rows) == 3 * len(kept)


@given(st.lists(st.tuples(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=86_400 * 8),
                          st.sampled_from(["p1", "p2"]), st.booleans()), max_size=60))
def test_rollup_rows_are_each_grains_buckets_summed_receipt_by_receipt(
        items: list[tuple[int, int, str, bool]]) -> None:
    """rollup_deltas adds each receipt to its finest bucket first, then those to every grain: the
    same rows, to the micro, as adding each receipt to each grain's bucket."""
    receipts = [replace(parse_receipt(priced(f"r{i}", Decimal(0), Decimal(0)), now_us=NOW), cost_micros=cost,
                        ts_us=NOW - age * 1_000_000 - i, provider=provider, cache_hit=hit, saved_micros=cost // 3)
                for i, (cost, age, provider, hit) in enumerate(items)]
    expected: dict[tuple[str, int, str], list[int]] = {}
    for r in receipts:
        for name, g in GRAINS.items():
            if g.start_of(r.ts_us) >= g.cutoff(NOW):
                row = expected.setdefault((name, g.start_of(r.ts_us), r.provider), [0] * 6)
                for i, v in enumerate((r.cost_micros, 1, r.input_tokens, r.output_tokens, r.saved_micros,
                                       int(r.cache_hit))):
                    row[i] += v
    assert {k: [t.cost_micros, t.requests, t.input_tokens, t.output_tokens, t.saved_micros, t.cache_hits]
            for k, t in rollup_deltas(receipts, NOW).items()} == expected


def test_integer_micros_on_a_receipt_are_checked_against_its_dollar_amounts() -> None:
    good = {**priced("m1", Decimal("0.015000"), Decimal("0.012000")),
            "input_cost_micros": 15_000, "output_cost_micros": 12_000, "cost_micros": 27_000}
    assert parse_receipt(good, now_us=NOW).cost_micros == 27_000
    for name in ("input_cost_micros", "output_cost_micros", "cost_micros"):
        with pytest.raises(InvalidRequest) as refused:
            parse_receipt({**good, name: good[name] + 1}, now_us=NOW, field_prefix="receipts.0.")
        assert refused.value.field == f"receipts.0.{name}" and "x 10^6" in str(refused.value)
