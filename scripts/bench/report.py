"""The benchmark's tables: one markdown row per scenario and concurrency, gateway rows compared
with the direct call at the same concurrency; plain requests (wrk) and streams (time to first
token and total time) in a table each."""

from __future__ import annotations

from dataclasses import dataclass

from stream_client import StreamResult
from wrkrun import WrkResult

DIRECT = "direct (mock)"


@dataclass(frozen=True)
class Row:
    scenario: str
    concurrency: int
    result: WrkResult


def _overhead(row: Row, direct: Row | None) -> tuple[str, str]:
    if direct is None or row.scenario == DIRECT:
        return "", ""
    overhead = row.result.p50_ms - direct.result.p50_ms
    ratio = row.result.rps / direct.result.rps if direct.result.rps else float("nan")
    return f"{overhead:+.2f}", f"{ratio:.3f}"


def table(rows: list[Row]) -> str:
    direct = {r.concurrency: r for r in rows if r.scenario == DIRECT}
    lines = ["| scenario | conc | req/s | p50 ms | p99 ms | errors | p50 overhead ms | req/s vs direct |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        r = row.result
        overhead, ratio = _overhead(row, direct.get(row.concurrency))
        lines.append(f"| {row.scenario} | {row.concurrency} | {r.rps:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
                     f"| {r.errors} | {overhead} | {ratio} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class StreamRow:
    scenario: str
    concurrency: int
    result: StreamResult


def stream_table(rows: list[StreamRow]) -> str:
    direct = {r.concurrency: r for r in rows if r.scenario == DIRECT}
    lines = ["| scenario (stream) | conc | streams/s | TTFT p50 ms | TTFT p99 ms | total p50 ms | total p99 ms "
             "| errors | TTFT p50 overhead ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        r = row.result
        base = direct.get(row.concurrency)
        overhead = "" if base is None or row.scenario == DIRECT else f"{r.ttft_p50_ms - base.result.ttft_p50_ms:+.2f}"
        lines.append(f"| {row.scenario} | {row.concurrency} | {r.rps:,.0f} | {r.ttft_p50_ms:.2f} | {r.ttft_p99_ms:.2f} "
                     f"| {r.total_p50_ms:.2f} | {r.total_p99_ms:.2f} | {r.errors} | {overhead} |")
    return "\n".join(lines)
