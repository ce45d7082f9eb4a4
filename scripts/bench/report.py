"""The benchmark's tables: one markdown row per scenario and concurrency, plain requests (wrk) and
streams (time to first token and total time) in a table each. Every row is compared with the
direct call at the same concurrency (its overhead) and, when the run has one, with the floor (a
bare uvicorn + Starlette + aiohttp pass-through, scripts/bench/floor.py): its req/s and its
overheads as ratios to the floor's, measured in the same run. Where the run measured the target
process's CPU, its CPU per request and the req/s one core of it would serve are shown too."""

from __future__ import annotations

import json
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
