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
ToFloor = Callable[[WrkResult, WrkResult, WrkResult], float]  # (row, floor, direct) → the row as a ratio to the floor


def _rps_to_floor(r: WrkResult, floor: WrkResult, _direct: WrkResult) -> float:
    return r.rps / floor.rps if floor.rps else float("nan")


def _overhead_to_floor(r: WrkResult, floor: WrkResult, direct: WrkResult) -> float:
    base = floor.p50_ms - direct.p50_ms
    return (r.p50_ms - direct.p50_ms) / base if base > MIN_FLOOR_OVERHEAD_MS else float("nan")


# what the verdict compares: (figure, concurrency, as a ratio to the floor, whether higher is better)
VERDICT: tuple[tuple[str, int, ToFloor, bool], ...] = (("req/s", 64, _rps_to_floor, True),
                                                       ("p50 overhead", 1, _overhead_to_floor, False))


def baseline_verdict(rows: list[Row], suffix: str, tolerance_pct: float = REGRESSION_PCT) -> list[str]:
    """Each scenario that has a twin named `scenario + suffix` (another checkout's, measured in the
    same rounds): its figures of VERDICT as ratios to the floor, the twin's, the relative change,
    the same change round by round, and PASS unless it is more than `tolerance_pct` worse. (The
    floor and direct call are the same for both, so the change is also the row's own vs its
    twin's; the ratios make the figures comparable across runs and machines.)"""
    by = {(r.scenario, r.concurrency): r for r in rows}
    lines = [f"verdict: this checkout vs {suffix} (another checkout's swarm, measured in the same rounds), each "
             f"as a ratio to the floor; FAIL if more than {tolerance_pct:g} % worse"]
    for figure, conc, to_floor, higher_is_better in VERDICT:
        floor, direct = by.get((FLOOR, conc)), by.get((DIRECT, conc))
        for now in (r for r in rows if r.concurrency == conc and (r.scenario + suffix, conc) in by):
            base = by[(now.scenario + suffix, conc)]
            if floor is None or direct is None:
                lines.append(f"  {now.scenario} c={conc} {figure}: no verdict (the run has no floor or direct row)")
                continue
            ours, theirs = (to_floor(r.result, floor.result, direct.result) for r in (now, base))
            change = (ours / theirs - 1) * 100
            worse = -change if higher_is_better else change
            paired = sorted((to_floor(a, f, d) / to_floor(b, f, d) - 1) * 100
                            for a, b, f, d in zip(now.rounds, base.rounds, floor.rounds, direct.rounds, strict=True))
            outcome = ("no verdict (a ratio is undefined)" if math.isnan(worse) else
                       f"FAIL (more than {tolerance_pct:g} % worse)" if worse > tolerance_pct else
                       f"PASS (more than {tolerance_pct:g} % better)" if worse < -tolerance_pct else
                       f"PASS (within {tolerance_pct:g} %)")
            lines.append(f"  {now.scenario} c={conc} {figure} / floor's: {ours:.3f} vs {theirs:.3f}{suffix}, "
                         f"{change:+.1f} % ({'higher' if higher_is_better else 'lower'} is better)"
                         + (f"; round by round median {statistics.median(paired):+.1f} %, {paired[0]:+.1f} to "
                            f"{paired[-1]:+.1f} % over {len(paired)}" if paired else "") + f": {outcome}")
            ours_cpu, theirs_cpu = cpu_us(now), cpu_us(base)
            if higher_is_better and ours_cpu and theirs_cpu:  # the gateway process's own cost, less shaken by load
                lines.append(f"    (not judged) its process's CPU per request at c={conc}: {ours_cpu:.0f} µs vs "
                             f"{theirs_cpu:.0f} µs{suffix}, {(ours_cpu / theirs_cpu - 1) * 100:+.1f} %")
    return lines
