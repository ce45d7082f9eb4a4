"""Latency quantiles from a mergeable log-bucket histogram (the DDSketch mapping, our own buckets).

A latency x > 0 ms falls in bucket i = ceil(log_gamma(x)) with gamma = (1 + ALPHA) / (1 - ALPHA);
bucket i is shown as 2 * gamma^i / (gamma + 1), which is within ALPHA (1 %) of every value in it.
Buckets are plain (index, count) pairs, so merging two histograms is adding counts. A rollup row
stores its histogram as 16-bit little-endian pairs (`encode`: a signed index and an unsigned
count, 4 bytes a bucket, at most ~1,150 buckets from 1 us to 10^7 ms, a few hundred for a busy
day): a count above 65,535 is stored as several pairs of one index, which decode and the merge
add up. Small pairs keep a day row's sketch (~600 bytes) inside its SQLite b-tree page instead of
spilling to overflow pages (migration 0013 converted the int32 pairs of before: sketch_v1.py). A
query merges thousands of them at once with numpy (merge.py). Latencies under MIN_MS (and 0) go to
ZERO_INDEX and are shown as 0; indexes stop at MAX_INDEX (a latency of ~10^284 ms).

The q-quantile is the bucket holding the value of rank floor(q * (n - 1)) in sorted order (0-based),
so it is within ALPHA, relative, of that exact value (tests/unit/ledger/test_latency_sketch.py).
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable, Mapping

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
MIN_MS = 0.001
ZERO_INDEX = -(2**15)  # below MIN_MS: shown as 0
MAX_INDEX = 2**15 - 1
MAX_COUNT = 2**16 - 1  # of one stored pair
QUANTILES = (0.5, 0.95, 0.99)


def index_of(latency_ms: float) -> int:
    if not latency_ms >= MIN_MS:  # also NaN
        return ZERO_INDEX
    return math.ceil(min(math.log(latency_ms) / _LOG_GAMMA, MAX_INDEX))  # also inf


def value_of(index: int) -> float:
    if index == ZERO_INDEX:
        return 0.0
    return 2 * GAMMA**index / (GAMMA + 1)


def quantiles(counts: Mapping[int, int], qs: Iterable[float] = QUANTILES) -> list[float | None]:
    """The q-quantiles of a histogram {bucket index: count}; None for each when it is empty."""
    qs = list(qs)
    total = sum(counts.values())
    if total == 0:
        return [None for _ in qs]
    ordered = sorted(counts.items())
    out: list[float | None] = []
    for q in qs:
        rank = math.floor(q * (total - 1))
        seen = 0
        for index, count in ordered:
            seen += count
            if seen > rank:
                out.append(value_of(index))
                break
    return out


def encode(counts: Mapping[int, int]) -> bytes:
    """A histogram as (index int16, count uint16) pairs, little-endian, by index; a count above
    MAX_COUNT as several pairs of its index."""
    items = sorted(counts.items())
    try:
        indexes = array("h", [index for index, _ in items])
        counts_ = array("H", [count for _, count in items])
    except OverflowError:  # a count past 16 bits
        return _encode_split(items)
    flat = array("H", counts_ * 2)  # the length of the pairs
    flat[::2] = array("H", indexes.tobytes())
    flat[1::2] = counts_
    if sys.byteorder == "big":
        flat.byteswap()
    return flat.tobytes()


def _encode_split(items: list[tuple[int, int]]) -> bytes:
    flat = array("H")
    for index, count in items:
        word = index & 0xFFFF
        while count > MAX_COUNT:
            flat.append(word)
            flat.append(MAX_COUNT)
            count -= MAX_COUNT
        flat.append(word)
        flat.append(count)
    if sys.byteorder == "big":
        flat.byteswap()
    return flat.tobytes()


def decode(blob: bytes) -> dict[int, int]:
    indexes, counts = array("h"), array("H")
    indexes.frombytes(blob)
    counts.frombytes(blob)
    if sys.byteorder == "big":
        indexes.byteswap()
        counts.byteswap()
    out = dict(zip(indexes[::2], counts[1::2], strict=True))
    if len(out) * 2 < len(indexes):  # a count split over several pairs: add them
        out = {}
        for index, count in zip(indexes[::2], counts[1::2], strict=True):
            out[index] = out.get(index, 0) + count
    return out


def merged(blob: bytes | None, counts: Mapping[int, int]) -> bytes:
    """A stored histogram with `counts` added."""
    total = decode(blob) if blob else {}
    for index, count in counts.items():
        total[index] = total.get(index, 0) + count
    return encode(total)


def merged_blobs(old: bytes, new: bytes) -> bytes:
    """Two stored histograms added (SQLite's upsert calls it: services/ledger/store/sqlite/series.py)."""
    return merged(old, decode(new))
