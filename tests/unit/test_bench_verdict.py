"""scripts/bench/report.py's --baseline verdict: issue 12's figures (the gateway process's req/s
per core at 64 in flight, its p50 overhead one at a time) as ratios to the floor, judged on the
median of the rounds' paired changes, so one slow round of a shared machine does not decide it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "bench"))
from report import DIRECT, FLOOR, Row, baseline_verdict  # noqa: E402
from wrkrun import WrkResult, merge  # noqa: E402


def row(scenario: str, conc: int, rounds: list[tuple[int, float]], cpu_us: list[float] | None = None) -> Row:
    """A row of 1-second rounds, each (requests, p50 ms), and the process's CPU per request in each."""
    results = tuple(WrkResult(n, 1.0, p50, p50 * 3, 0) for n, p50 in rounds)
    cpu = tuple(n * us / 1e6 for (n, _), us in zip(rounds, cpu_us, strict=True)) if cpu_us else ()
    return Row(scenario, conc, merge(list(results)), sum(cpu) if cpu else None, results, cpu)


def verdict_line(lines: list[str], start: str) -> str:
    [line] = [x for x in lines if x.startswith("  " + start)]
    return line


def c64(gateway_cpu: list[float], base_cpu: list[float]) -> list[Row]:
    n = len(gateway_cpu)
    return [row(DIRECT, 64, [(20_000, 3.0)] * n),
            row(FLOOR, 64, [(4_000, 16.0)] * n, [250.0] * n),
            row("gateway", 64, [(2_000, 30.0)] * n, gateway_cpu),
            row("gateway@base", 64, [(2_000, 30.0)] * n, base_cpu)]


def test_req_per_core_is_judged_on_the_floor_ratio_of_cpu_per_request():
    lines = baseline_verdict(c64([525.0] * 4, [500.0] * 4), "@base")
    line = verdict_line(lines, "gateway c=64 req/s per core")
    # floor 250 µs a request: 0.476 vs 0.500 of the floor, 4.8 % worse in every round
    assert "0.476 vs 0.500@base" in line
    assert "round by round median -4.8 %" in line
    assert line.endswith("PASS (within 5 %)")
    worse = verdict_line(baseline_verdict(c64([530.0] * 4, [500.0] * 4), "@base"), "gateway c=64 req/s per core")
    assert worse.endswith("FAIL (more than 5 % worse)")


def test_one_slow_round_moves_the_pooled_change_not_the_verdict():
    # three rounds alike, one where the machine stalled the gateway's process (CPU per request x3)
    line = verdict_line(baseline_verdict(c64([500.0, 500.0, 1500.0, 500.0], [500.0] * 4), "@base"),
                        "gateway c=64 req/s per core")
    pooled = float(line.split(", ")[1].split(" %")[0])
    assert pooled < -30
    assert "round by round median +0.0 %" in line
    assert line.endswith("PASS (within 5 %)")


def test_whole_swarm_req_per_s_is_shown_not_judged():
    rows = c64([500.0] * 4, [500.0] * 4)
    rows[2] = row("gateway", 64, [(1_000, 30.0)] * 4, [500.0] * 4)  # half the throughput, same CPU a request
    line = verdict_line(baseline_verdict(rows, "@base"), "gateway c=64 req/s /")
    assert "-50.0 % pooled" in line
    assert line.endswith("not judged")


@pytest.mark.parametrize(("p50_ms", "outcome"), [(0.66, "PASS (within 5 %)"), (0.68, "FAIL (more than 5 % worse)")])
def test_p50_overhead_one_at_a_time(p50_ms: float, outcome: str):
    rows = [row(DIRECT, 1, [(20_000, 0.04)] * 3), row(FLOOR, 1, [(1_700, 0.54)] * 3),
            row("gateway", 1, [(1_200, p50_ms)] * 3), row("gateway@base", 1, [(1_250, 0.64)] * 3)]
    line = verdict_line(baseline_verdict(rows, "@base"), "gateway c=1 p50 overhead")
    assert line.endswith(outcome)
