"""Merging many stored latency sketches into one per point, and their quantiles, with numpy: the
blobs of all rows are joined and read as one array, each pair tagged with its point, summed per
(point, bucket index) and searched by cumulative count. Cost grows with the pairs read, not with
the points or the range of indexes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.ledger.analytics.sketch import GAMMA, QUANTILES, ZERO_INDEX

Quantiles = tuple[float | None, ...]


def point_quantiles(point_of_row: Sequence[int], blobs: Sequence[bytes], points: int,
                    qs: Sequence[float] = QUANTILES) -> list[Quantiles]:
    """For each point 0..points-1, the q-quantiles of the merged sketches of the rows that map to it
    (sketch.quantiles' definition: the bucket holding rank floor(q * (n - 1)))."""
    empty: Quantiles = tuple(None for _ in qs)
    out = [empty] * points
    if not blobs:
        return out
    rows = np.asarray(point_of_row, dtype=np.int64)
    if len(rows) > 1 and (rows[1:] < rows[:-1]).any():  # rows by point: then often no (point, bucket) twice
        order = np.argsort(rows, kind="stable")
        rows, blobs = rows[order], [blobs[i] for i in order.tolist()]
    pairs = np.frombuffer(b"".join(blobs), dtype="<i2").reshape(-1, 2)  # sketch.encode's pairs
    if not len(pairs):
        return out
    lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=len(blobs)) // 4
    index = pairs[:, 0].astype(np.intp)  # the one copy of the (often millions of) indexes
    counts = pairs[:, 1].view(np.uint16)
    low, high = int(index.min()), int(index.max())
    if low == ZERO_INDEX:  # latencies under MIN_MS: slot 0, the others from 1
        zero = index == ZERO_INDEX
        low = int(np.min(index, where=~zero, initial=high))
        index[zero] = low - 1
    width = high - low + 2  # slot = index - (low - 1): 1 for the lowest index
    cells = np.repeat(rows * width - (low - 1), lengths)  # each pair's point's first cell
    cells += index
    if len(cells) < 2 or (cells[1:] > cells[:-1]).all():  # each (point, bucket) once, in order: as stored
        values, has = _sparse(cells, counts, points, width, qs, distinct=True)
    elif points * width <= DENSE_CELLS:
        values, has = _dense(cells, counts, points, width, qs)
    else:
        values, has = _sparse(cells, counts, points, width, qs)
    shown = [np.where(v == 0, 0.0, 2 * GAMMA ** (v.astype(np.float64) - 1 + low) / (GAMMA + 1)).tolist()
             for v in values]
    for i in np.nonzero(has)[0].tolist():
        out[i] = tuple(column[i] for column in shown)
    return out


DENSE_CELLS = 8_000_000  # points x bucket range up to which one dense histogram per point is summed


def _dense(cells: np.ndarray, counts: np.ndarray, points: int, width: int,
           qs: Sequence[float]) -> tuple[list[np.ndarray], np.ndarray]:
    """One row of `width` slots per point (no sort): the first slot whose running count passes each rank."""
    hist = np.bincount(cells, weights=counts.astype(np.float64), minlength=points * width).reshape(points, width)
    cum = np.cumsum(hist, axis=1)
    totals = cum[:, -1]
    found = []
    for q in qs:
        rank = np.floor(q * (totals - 1))
        found.append(np.argmax(cum > rank[:, None], axis=1))
    return found, totals > 0


def _sparse(cells: np.ndarray, counts: np.ndarray, points: int, width: int,
            qs: Sequence[float], *, distinct: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """Only the (point, slot) cells that occur, sorted; searched by cumulative count. `distinct`: the
    cells are already sorted and each occurs once (each point one stored sketch, as encoded)."""
    if distinct:
        keys, summed = cells, counts.astype(np.int64)
    else:
        keys, where = np.unique(cells, return_inverse=True)
        summed = np.bincount(where, weights=counts).astype(np.int64)  # per (point, slot), in key order
    cum = np.cumsum(summed)
    key_point = keys // width
    starts = np.searchsorted(key_point, np.arange(points), side="left")
    ends = np.searchsorted(key_point, np.arange(points), side="right")
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0)
    totals = np.where(ends > starts, cum[np.maximum(ends - 1, 0)] - before, 0)
    found = []
    for q in qs:
        rank = np.floor(q * (totals - 1)).astype(np.int64)
        pos = np.minimum(np.searchsorted(cum, before + rank, side="right"), len(keys) - 1)
        found.append(keys[pos] % width)
    return found, totals > 0
