"""Pre-merged rows (services/ledger/analytics/premerge.py): each (dimension, value) row is the exact
sum of the tuple rows with that value, its sketch the sketch of all their latencies; which queries
read them."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from services.ledger.analytics.dimensions import COLUMNS
from services.ledger.analytics.premerge import DIMENSIONS, TOTAL, merged_deltas, merged_dimension
from services.ledger.analytics.query import SeriesQuery, counters_sql, latency_sql, point_rows_sql
from services.ledger.analytics.rollup import Counters, Delta

value = st.sampled_from(["", "a", "b"])
tuple_row = st.tuples(st.sampled_from(["minute", "day"]), st.sampled_from(["", "env:ci", "tier:gold"]),
                      st.sampled_from([0, 60_000_000]), st.tuples(*(value for _ in COLUMNS)),
                      st.lists(st.integers(0, 10**9), min_size=8, max_size=8),
                      st.dictionaries(st.integers(-(2**31), 2_000), st.integers(1, 1_000), max_size=6))


@settings(max_examples=200, deadline=None)
@given(st.lists(tuple_row, max_size=30, unique_by=lambda r: r[:4]))
def test_each_merged_row_sums_the_tuple_rows_with_its_value(rows: list) -> None:
    tuples = [((grain, tag, bucket, dims), Delta(Counters(*counts), dict(latency)))
              for grain, tag, bucket, dims, counts, latency in rows]
    merged = merged_deltas(tuples)
    keys = [key for key, _ in merged]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    want: dict[tuple, tuple[list[int], Counter[int]]] = {}
    for (grain, tag, bucket, dims), delta in tuples:
        if tag:
            targets = [("tag", tag)]
        else:
            targets = [(TOTAL, TOTAL), *((c, dims[i]) for i, c in enumerate(COLUMNS) if c != "run_id")]
        for dimension, v in targets:
            counts, sketch = want.setdefault((grain, dimension, bucket, v), ([0] * 8, Counter()))
            for i, n in enumerate(delta.counters.values()):
                counts[i] += n
            sketch.update(delta.latency)
    assert {key: (list(d.counters.values()), Counter(d.latency)) for key, d in merged} == want
    assert all(dimension in DIMENSIONS and dimension != "run_id" for _, dimension, _, _ in keys)


def test_which_queries_read_the_merged_rows() -> None:
    assert merged_dimension((), ()) == TOTAL
    assert merged_dimension(("provider",), ()) == "provider"
    assert merged_dimension(("team",), ("team",)) == "team"
    assert merged_dimension((), ("tag",)) == "tag"
    assert merged_dimension(("tag",), ()) == "tag"
    assert merged_dimension(("provider",), ("team",)) is None
    assert merged_dimension(("team", "model"), ()) is None
    assert merged_dimension(("run_id",), ()) is None
    assert merged_dimension((), ("key_id", "org")) is None  # a key's tenant: its key and no org


def test_the_sql_reads_the_merged_table_or_the_tuples() -> None:
    def mark(i: int) -> str:
        return f"${i}"

    one = SeriesQuery("minute", 0, 60, group_by=("provider",), filters={"provider": ("p1", "p2")})
    sql, args = counters_sql(one, mark)
    assert "FROM series_by_dimension" in sql and "GROUP BY bucket_us, value" in sql
    assert args == ["minute", 0, 60, "provider", "p1", "p2"] and "value IN ($5, $6)" in sql
    sql, _ = latency_sql(SeriesQuery("day", 0, 60, by_bucket=False), mark)
    assert sql.startswith("SELECT 0, latency FROM series_by_dimension")
    two = SeriesQuery("minute", 0, 60, group_by=("team", "model"))
    assert "FROM series " in counters_sql(two, mark)[0] and "FROM series_latency " in latency_sql(two, mark)[0]


def test_a_point_per_row_is_read_in_one_ordered_pass() -> None:
    def mark(i: int) -> str:
        return "?"

    per_provider = SeriesQuery("minute", 0, 60, group_by=("provider",))
    assert per_provider.row_per_point
    sql, _ = point_rows_sql(per_provider, mark)
    assert sql.startswith("SELECT bucket_us, value, cost_micros")
    assert sql.endswith(", latency FROM series_by_dimension WHERE grain = ? AND bucket_us >= ? AND bucket_us < ?"
                        " AND dimension = ? ORDER BY bucket_us, value")
    assert SeriesQuery("minute", 0, 60, filters={"team": ("ml",)}).row_per_point
    assert not SeriesQuery("minute", 0, 60, filters={"team": ("ml", "web")}).row_per_point  # two rows a bucket
    assert not SeriesQuery("minute", 0, 60, group_by=("provider",), by_bucket=False).row_per_point
    assert not SeriesQuery("minute", 0, 60, group_by=("team", "model")).row_per_point
