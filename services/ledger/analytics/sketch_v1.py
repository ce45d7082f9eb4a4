"""The latency sketch's first stored form, int32 little-endian (index, count) pairs with
-2^31 for the zero bucket, read only by the migrations: 0009 sums the pre-merged rows' sketches in
it, 0013 converts every stored sketch to the 16-bit pairs of sketch.py."""

from __future__ import annotations

import sys
from array import array
from collections.abc import Mapping

from services.ledger.analytics.sketch import MAX_INDEX, ZERO_INDEX, encode

ZERO_INDEX_V1 = -(2**31)


def decode_v1(blob: bytes) -> dict[int, int]:
    flat = array("i")
    flat.frombytes(blob)
    if sys.byteorder == "big":
        flat.byteswap()
    return dict(zip(flat[::2], flat[1::2], strict=True))


def encode_v1(counts: Mapping[int, int]) -> bytes:
    flat = array("i")
    for index, count in sorted(counts.items()):
        flat.append(index)
        flat.append(count)
    if sys.byteorder == "big":
        flat.byteswap()
    return flat.tobytes()


def upgraded(blob: bytes) -> bytes:
    """A first-form sketch in sketch.py's form: the same buckets and counts (an index past
    MAX_INDEX, a latency over ~10^284 ms, joins the last bucket; one below -MAX_INDEX, which
    index_of never gave, the first)."""
    counts: dict[int, int] = {}
    for index, count in decode_v1(blob).items():
        index = ZERO_INDEX if index == ZERO_INDEX_V1 else max(min(index, MAX_INDEX), -MAX_INDEX)
        counts[index] = counts.get(index, 0) + count
    return encode(counts)
