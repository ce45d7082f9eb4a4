"""The benchmark's tables: one markdown row per scenario and concurrency, plain requests (wrk) and
streams (time to first token and total time) in a table each. Every row is compared with the
direct call at the same concurrency (its overhead) and, when the run has one, with the floor (a
bare uvicorn + Starlette + aiohttp pass-through, scripts/bench/floor.py): its req/s and its
overheads as ratios to the floor's, measured in the same run. Where the run measured the target
process's CPU, its CPU per request and the req/s one core of it would serve are shown too."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stream_client import StreamResult
from wrkrun import WrkResult

DIRECT = "direct (mock)"
FLOOR = "floor (uvicorn+starlette+aiohttp)"
MIN_FLOOR_OVERHEAD_MS = 0.005  # a floor overhead smaller than this is no base for a ratio


@dataclass(frozen=True)
class Row:
    scenario: str
    concurrency: int
    result: WrkResult  # its rounds pooled
    cpu_s: float | None = None  # the target process's CPU over its measured runs, when known
    rounds: tuple[WrkResult, ...] = ()  # each round's, in the order they ran
    round_cpu_s: tuple[float, ...] = ()  # the target process's CPU in each round, when known


@dataclass(frozen=True)
class StreamRow:
    scenario: str
    concurrency: int
    result: StreamResult
    cpu_s: float | None = None


def cpu_us(row: Row | StreamRow) -> float | None:
    """The target process's CPU per request (or stream), in µs."""
    if row.cpu_s is None or not row.result.requests:
        return None
    return row.cpu_s / row.result.requests * 1e6


def _ratio(value: float, base: float | None, minimum: float = 0.0) -> str:
    return "" if base is None or base <= minimum else f"{value / base:.2f}"


Metric = Callable[[Any], float]  # a figure of a Row or a StreamRow


def _render(rows: list[Row] | list[StreamRow], own: list[tuple[str, Metric, str]], overheads: list[tuple[str, Metric]],
            rate: Metric, unit: str, one: str) -> str:
    """Columns: the row's own figures, its overheads and rate vs direct, then where there is a
    floor its rate and overheads as ratios to the floor's, then its CPU where measured."""
    direct = {r.concurrency: r for r in rows if r.scenario == DIRECT}
    floor = {r.concurrency: r for r in rows if r.scenario == FLOOR}
    with_cpu = any(cpu_us(r) is not None for r in rows)
    head = ["scenario", "conc", *(name for name, _, _ in own), "errors",
            *(f"{name} overhead ms" for name, _ in overheads), f"{unit} vs direct"]
    if floor:
        head += [f"{unit} vs floor", *(f"{name} overhead vs floor" for name, _ in overheads)]
    if with_cpu:
        head += [f"CPU µs/{one}", f"{unit} per core"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for row in rows:
        cells = [row.scenario, str(row.concurrency), *(fmt.format(metric(row)) for _, metric, fmt in own),
                 str(row.result.errors)]
        base, low = direct.get(row.concurrency), floor.get(row.concurrency)
        if base is None or row is base:
            cells += [""] * (len(overheads) + 1 + (1 + len(overheads) if floor else 0))
        else:
            cells += [f"{metric(row) - metric(base):+.2f}" for _, metric in overheads]
            cells.append(_ratio(rate(row), rate(base)))
            if floor:
                cells.append("" if low is None else _ratio(rate(row), rate(low)))
                cells += ["" if low is None or row is low else
                          _ratio(metric(row) - metric(base), metric(low) - metric(base), MIN_FLOOR_OVERHEAD_MS)
                          for _, metric in overheads]
        if with_cpu:
            us = cpu_us(row)
            cells += ["", ""] if us is None else [f"{us:.0f}", f"{1e6 / us:,.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(rows: list[Row]) -> str:
    return _render(rows, [("req/s", lambda r: r.result.rps, "{:,.0f}"), ("p50 ms", lambda r: r.result.p50_ms, "{:.2f}"),
                          ("p99 ms", lambda r: r.result.p99_ms, "{:.2f}")],
                   [("p50", lambda r: r.result.p50_ms), ("p99", lambda r: r.result.p99_ms)],
                   lambda r: r.result.rps, "req/s", "request")


def stream_table(rows: list[StreamRow]) -> str:
    return _render(rows, [("streams/s", lambda r: r.result.rps, "{:,.0f}"),
                          ("TTFT p50 ms", lambda r: r.result.ttft_p50_ms, "{:.2f}"),
                          ("TTFT p99 ms", lambda r: r.result.ttft_p99_ms, "{:.2f}"),
                          ("total p50 ms", lambda r: r.result.total_p50_ms, "{:.2f}"),
                          ("total p99 ms", lambda r: r.result.total_p99_ms, "{:.2f}")],
                   [("TTFT p50", lambda r: r.result.ttft_p50_ms), ("TTFT p99", lambda r: r.result.ttft_p99_ms)],
                   lambda r: r.result.rps, "streams/s", "stream")


def write_json(path: Path, rows: list[Row], stream_rows: list[StreamRow]) -> None:
    """Every row's figures (a stream row's samples left out), for comparing runs."""
    path.write_text(json.dumps(
        [{**asdict(r.result), "scenario": r.scenario, "concurrency": r.concurrency, "rps": r.result.rps,
          "cpu_s": r.cpu_s} for r in rows]
        + [{**asdict(r.result), "ttfts_ms": None, "totals_ms": None, "scenario": r.scenario, "stream": True,
            "concurrency": r.concurrency, "rps": r.result.rps, "cpu_s": r.cpu_s} for r in stream_rows], indent=2))


REGRESSION_PCT = 5.0  # the --baseline verdict: a ratio to the floor that much worse than the baseline's fails


@dataclass(frozen=True)
class Measured:
    """One run of a row (a round, or its rounds pooled): wrk's figures and its process's CPU."""
    result: WrkResult
    cpu_s: float | None


# (row, floor, direct) → the row as a ratio to the floor, NaN where undefined
ToFloor = Callable[[Measured, Measured, Measured], float]


def _rps_to_floor(r: Measured, floor: Measured, _direct: Measured) -> float:
    return r.result.rps / floor.result.rps if floor.result.rps else float("nan")


def _per_core_to_floor(r: Measured, floor: Measured, _direct: Measured) -> float:
    """The req/s one core of the row's process serves over the floor's: the floor's CPU per
    request over the row's."""
    if not (r.cpu_s and floor.cpu_s and r.result.requests and floor.result.requests):
        return float("nan")
    return (floor.cpu_s / floor.result.requests) / (r.cpu_s / r.result.requests)


def _overhead_to_floor(r: Measured, floor: Measured, direct: Measured) -> float:
    base = floor.result.p50_ms - direct.result.p50_ms
    return (r.result.p50_ms - direct.result.p50_ms) / base if base > MIN_FLOOR_OVERHEAD_MS else float("nan")


# what the verdict compares: (figure, concurrency, as a ratio to the floor, whether higher is better, judged).
# Judged: the gateway process's req/s per core at 64 in flight and its p50 overhead one at a time (issue 12's
# rule); shown beside them, the whole swarm's req/s, which also moves with the mock and wrk on the other core.
VERDICT: tuple[tuple[str, int, ToFloor, bool, bool], ...] = (
    ("req/s per core", 64, _per_core_to_floor, True, True),
    ("req/s", 64, _rps_to_floor, True, False),
    ("p50 overhead", 1, _overhead_to_floor, False, True))


def _pooled(row: Row) -> Measured:
    return Measured(row.result, row.cpu_s)


def _rounds(row: Row) -> list[Measured]:
    cpu = row.round_cpu_s or (None,) * len(row.rounds)
    return [Measured(r, c) for r, c in zip(row.rounds, cpu, strict=True)]


def baseline_verdict(rows: list[Row], suffix: str, tolerance_pct: float = REGRESSION_PCT) -> list[str]:
    """Each scenario that has a twin named `scenario + suffix` (another checkout's, measured in the
    same rounds): its figures of VERDICT as ratios to the floor, the twin's, the relative change
    pooled over the rounds, the same change round by round, and PASS unless the median of the
    rounds' changes is more than `tolerance_pct` worse (the pooled change when there is one round).
    Each round runs the two back to back, the floor beside them, so a slow moment of a shared
    machine falls on both; the median of those paired changes is not moved by one such moment,
    the pooled figure is. (The floor and direct call are the same for both, so the change is also
    the row's own vs its twin's; the ratios make the figures comparable across runs and machines.)"""
    by = {(r.scenario, r.concurrency): r for r in rows}
    lines = [f"verdict: this checkout vs {suffix} (another checkout's swarm, measured in the same rounds), each "
             f"as a ratio to the floor; judged on the median of the rounds' paired changes, FAIL if more than "
             f"{tolerance_pct:g} % worse"]
    for figure, conc, to_floor, higher_is_better, judged in VERDICT:
        floor, direct = by.get((FLOOR, conc)), by.get((DIRECT, conc))
        for now in (r for r in rows if r.concurrency == conc and (r.scenario + suffix, conc) in by):
            base = by[(now.scenario + suffix, conc)]
            if floor is None or direct is None:
                lines.append(f"  {now.scenario} c={conc} {figure}: no verdict (the run has no floor or direct row)")
                continue
            ours, theirs = (to_floor(_pooled(r), _pooled(floor), _pooled(direct)) for r in (now, base))
            change = (ours / theirs - 1) * 100
            paired = sorted(c for c in ((to_floor(a, f, d) / to_floor(b, f, d) - 1) * 100 for a, b, f, d in
                                        zip(_rounds(now), _rounds(base), _rounds(floor), _rounds(direct), strict=True))
                            if not math.isnan(c))
            judged_change = statistics.median(paired) if paired else change
            worse = -judged_change if higher_is_better else judged_change
            outcome = ("not judged" if not judged else
                       "no verdict (a ratio is undefined)" if math.isnan(worse) else
                       f"FAIL (more than {tolerance_pct:g} % worse)" if worse > tolerance_pct else
                       f"PASS (more than {tolerance_pct:g} % better)" if worse < -tolerance_pct else
                       f"PASS (within {tolerance_pct:g} %)")
            lines.append(f"  {now.scenario} c={conc} {figure} / floor's: {ours:.3f} vs {theirs:.3f}{suffix}, "
                         f"{change:+.1f} % pooled ({'higher' if higher_is_better else 'lower'} is better)"
                         + (f"; round by round median {statistics.median(paired):+.1f} %, {paired[0]:+.1f} to "
                            f"{paired[-1]:+.1f} % over {len(paired)}" if paired else "") + f": {outcome}")
    return lines
