"""The benchmark's table: one markdown row per scenario and concurrency, gateway rows compared
with the direct call at the same concurrency."""

from __future__ import annotations

from dataclasses import dataclass

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
