"""Running wrk (pinned to a core) and reading its figures: the `BENCH_RESULT` line post.lua prints,
or, failing that, wrk's own summary text."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).resolve().parent / "post.lua"
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors plus non-2xx/3xx answers

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def merge(results: list[WrkResult]) -> WrkResult:
    """Rounds of one target pooled: requests, seconds and errors summed; p50 and p99 the median of
    the rounds' (wrk keeps no samples to pool)."""
    return WrkResult(sum(r.requests for r in results), sum(r.seconds for r in results),
                     statistics.median(r.p50_ms for r in results), statistics.median(r.p99_ms for r in results),
                     sum(r.errors for r in results))


def parse(output: str) -> WrkResult:
    """Figures from wrk's output; raises ValueError when there are none."""
    line = re.search(r"^BENCH_RESULT (.*)$", output, re.M)
    if line:
        f = {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", line.group(1))}
        errors = f["connect"] + f["read"] + f["write"] + f["status"] + f["timeout"]
        return WrkResult(f["requests"], f["duration_us"] / 1e6, f["p50_us"] / 1000, f["p99_us"] / 1000, errors)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if not total:
        raise ValueError("no results in wrk output:\n" + output[-2000:])
    pct = {p: float(v) * _UNITS_MS[u] for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)}
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors += int(non2xx.group(1)) if non2xx else 0
    seconds = float(total.group(2)) * _UNITS_MS[total.group(3)] / 1000
    return WrkResult(int(total.group(1)), seconds, pct.get("50", float("nan")), pct.get("99", float("nan")), errors)


def run_wrk(url: str, connections: int, seconds: float, *, cpu: str | None, body: str, run: str = "",
            auth: str = "") -> WrkResult:
    """One wrk run of `seconds` with `connections` connections on one thread."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(LUA), url]
    if cpu is not None:
        argv = ["taskset", "-c", cpu, *argv]
    env = {**os.environ, "BENCH_BODY": body, "BENCH_RUN": run, "BENCH_AUTH": auth}
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout[-500:]}")
    return parse(out.stdout)
