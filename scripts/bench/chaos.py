"""Chaos benchmark: three providers behind one model fail 100 %, 20 % and 0 % of their calls (the
cheapest fails most), simulated with seeded error draws; the same request sequence goes through a
gateway with each resilience setting, and one table compares success rate, p50/p99 latency and
upstream calls per request.

Rows: `bare` (one provider tried, no retry, no breaker), `fallback` (alternatives tried in order,
no retry, no breaker), `retries-breakers` (the defaults: fallback, one retry with jittered backoff,
circuit breakers). Every process is started here on its own ports and stopped at the end; the
simulator is restarted for each row so each sees the same seeded failures.

  python scripts/bench/chaos.py                    # 300 requests per row
  python scripts/bench/chaos.py --requests 1000 --latency-ms 20 --seed 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from processes import Processes, answers, wait_until

REPO = Path(__file__).resolve().parents[2]
ROWS = {
    "bare": {"TOLLWAY_MAX_ATTEMPTS": "1", "TOLLWAY_RETRIES_PER_PROVIDER": "0", "TOLLWAY_BREAKER_FAILURES": "1000000",
             "TOLLWAY_BREAKER_FAILURE_RATE": "1"},
    "fallback": {"TOLLWAY_RETRIES_PER_PROVIDER": "0", "TOLLWAY_BREAKER_FAILURES": "1000000",
                 "TOLLWAY_BREAKER_FAILURE_RATE": "1"},
    "retries-breakers": {},
}
ERROR_RATES = (("always-fails", "1", "0.1"), ("flaky", "0.2", "0.2"), ("solid", "0", "0.4"))  # name, rate, $/Mtok


@dataclass
class Result:
    row: str
    requests: int
    ok: int
    latencies_ms: list[float]
    upstream_calls: int

    def line(self) -> str:
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
        return (f"| {self.row} | {self.ok / self.requests:.1%} | {p50:.1f} | {p99:.1f} | "
                f"{self.upstream_calls / self.requests:.2f} |")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/bench/chaos.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=300, help="requests per row (default 300)")
    p.add_argument("--latency-ms", type=float, default=10.0, help="the simulator's latency per call (default 10)")
    p.add_argument("--seed", type=int, default=7, help="seed of the simulator's error draws (default 7)")
    p.add_argument("--base-port", type=int, default=17100,
                   help="router +3, ledger +21, gateways +30.., simulator +90 (default 17100)")
    return p.parse_args(argv)


def serve(procs: Processes, name: str, service: str, port: int, env: dict[str, str]) -> None:
    proc = procs.start(name, [sys.executable, "-m", "services.cli.main", "serve", service, "--port", str(port)],
                       cpu=None, env=env, cwd=REPO)
    if not wait_until(lambda: answers(f"http://127.0.0.1:{port}/health"), 30, proc):
        raise SystemExit(f"{name} did not start:\n{procs.tail(name)}")


def run_row(row: str, gateway: str, sim: str, n: int) -> Result:
    model = f"chaos-{row}"
    latencies, ok = [], 0
    before = httpx.get(sim + "/requests").json()["total"]
    with httpx.Client(timeout=60) as client:
        for i in range(n):
            started = time.perf_counter()
            resp = client.post(gateway + "/v1/chat/completions", headers={"X-Tollway-Run": f"chaos-{row}"},
                               json={"model": model, "max_tokens": 8,
                                     "messages": [{"role": "user", "content": f"request {i}"}]})
            latencies.append((time.perf_counter() - started) * 1000)
            ok += resp.status_code == 200
            if resp.status_code != 200 and i == 0:
                print(f"{row}: first failure {resp.status_code} {resp.text[:300]}", file=sys.stderr)
    calls = httpx.get(sim + "/requests").json()["total"] - before
    return Result(row, n, ok, latencies, calls)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    base = args.base_port
    router, ledger, sim_port = base + 3, base + 21, base + 90
    work = Path(tempfile.mkdtemp(prefix="tollway-chaos-"))
    env = {**os.environ, "TOLLWAY_ARTIFACTS_DIR": str(work), "TOLLWAY_ROUTER_URL": f"http://127.0.0.1:{router}",
           "TOLLWAY_LEDGER_URL": f"http://127.0.0.1:{ledger}", "TOLLWAY_LOG_LEVEL": "warning",
           "TOLLWAY_ACCESS_LOG": "false", "TOLLWAY_SNAPSHOT_WAIT_S": "5"}
    sim = f"http://127.0.0.1:{sim_port}"
    procs = Processes(work)
    results: list[Result] = []
    try:
        serve(procs, "router", "router", router, env)
        serve(procs, "ledger", "ledger", ledger, env)
        with httpx.Client(timeout=10) as control:
            for row in ROWS:
                for name, rate, price in ERROR_RATES:
                    spec = f"latency_ms={args.latency_ms:g},tps=0,error_rate={rate},status=503,seed={args.seed}"
                    resp = control.post(f"http://127.0.0.1:{router}/register", json={
                        "name": f"{row}-{name}", "model": f"chaos-{row}", "context_window": 8192,
                        "input_per_mtok": price, "output_per_mtok": price, "endpoint": f"{sim}/sim/{spec}"})
                    resp.raise_for_status()
        for i, (row, overrides) in enumerate(ROWS.items()):
            serve(procs, "simulator", "simulator", sim_port, env)  # fresh: the same seeded failures per row
            gateway_port = base + 30 + i
            serve(procs, f"gateway-{i}", "gateway", gateway_port, {**env, **overrides})
            gateway = f"http://127.0.0.1:{gateway_port}"
            wait_until(lambda g=gateway: any(m["id"] == "chaos-retries-breakers"
                                             for m in httpx.get(g + "/v1/models").json()["data"]), 10)
            results.append(run_row(row, gateway, sim, args.requests))
            procs.procs.pop("simulator").terminate()
            time.sleep(0.5)
    finally:
        procs.stop_all()
    print(f"\nchaos: {args.requests} requests per row, sequential; providers fail 100 % / 20 % / 0 % "
          f"(cheapest first), {args.latency_ms:g} ms per upstream call, seed {args.seed}\n")
    print("| row | success | p50 ms | p99 ms | upstream calls / request |")
    print("|---|---|---|---|---|")
    for result in results:
        print(result.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
