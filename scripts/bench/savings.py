"""The seeds' savings claims, reproduced on a committed, seeded workload through real swarms with
the simulator as providers, printed side by side with the claims.

The workload: cache_workload.py's seeded question stream over tests/data/cache_pairs.jsonl (30 %
word-for-word repeats, 20 % paraphrases, the rest new), each question made simple, medium or
complex for smart routing by a seeded draw per question (55 / 30 / 15 %: a plain question; "explain
why, step by step" and a comparison; that plus a code block and a long answer asked). Three
providers on the simulator, a premium, a mid and a cheap model, at list-like prices and configured
latencies. Six fresh swarms run the same stream one request at a time:

    baseline        every request asks for the premium model, response cache off
    cache           the premium model, exact response cache on
    routing         `tollway/auto` (smart routing: tiers by price, the cheapest in the tier), cache off
    cache+routing   `tollway/auto`, cache on
    auto-latency    `tollway/auto-latency` (smart routing, the fastest in the tier), cache off
    latency         the `latency` strategy (X-Tollway-Optimization) over an alias of all three
                    models: the lowest expected P95 whatever the request, as the seed's
                    latency-based routing does; cache off

Each run's cost and P95 are printed with their cut against the baseline, and each claim beside the
runs it concerns (the P95 claim beside every routing run). Upstream calls are the simulator's
count; cost is the sum of the run file's receipts (exact); P95 is the receipts' latency_ms (the
gateway's time for the request, upstream included).

    PYTHON=.venv/bin/python; $PYTHON scripts/bench/savings.py --requests 300 --seed 7
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from bench_swarm import start_swarm
from cache_workload import workload
from processes import port_free, wait_until

# name, model, input $/M, output $/M, simulator latency ms (configured, not measured from a real provider)
PROVIDERS = [("sv-premium", "sv-premium-model", "10", "30", 240), ("sv-mid", "sv-mid-model", "2.5", "10", 150),
             ("sv-cheap", "sv-cheap-model", "0.15", "0.6", 90)]
PREMIUM = PROVIDERS[0][1]
SHARES = (0.55, 0.30)  # simple, medium; the rest complex
ANY_MODEL = "sv-any"  # an alias over the three models, for the `latency` strategy run
CLAIMS = [  # what, source, run, measure, low %, high % (None: no upper bound)
    ("caching cuts upstream calls", "AutomatosX", "cache", "upstream", 30, None),
    ("routing cuts cost", "AutomatosX", "routing", "cost", 15, 78),
    ("routing cuts P95 latency", "AutomatosX", "routing", "p95", 20, 43),
    ("routing cuts P95 latency", "AutomatosX", "auto-latency", "p95", 20, 43),
    ("routing cuts P95 latency", "AutomatosX", "latency", "p95", 20, 43),
    ("cache + routing cuts cost", "Cognitude", "cache+routing", "cost", 70, 85),
]


@dataclass(frozen=True)
class Run:
    label: str
    cache: bool
    model: str
    strategy: str | None = None  # sent as X-Tollway-Optimization


RUNS = [Run("baseline", False, PREMIUM), Run("cache", True, PREMIUM), Run("routing", False, "tollway/auto"),
        Run("cache+routing", True, "tollway/auto"), Run("auto-latency", False, "tollway/auto-latency"),
        Run("latency", False, ANY_MODEL, "latency")]


@dataclass
class Outcome:
    label: str
    upstream: int
    cost: Decimal
    p95_ms: float
    by_model: dict[str, int]


def requests(n: int, seed: int) -> list[dict[str, object]]:
    """The committed workload made into chat requests (model filled in per run)."""
    out = []
    for question in workload(n, seed, 0.30, 0.20):
        roll = random.Random(f"{seed}:{question}").random()
        if roll < SHARES[0]:
            content, max_tokens = question, 256
        elif roll < SHARES[0] + SHARES[1]:
            content, max_tokens = f"Explain why, step by step, and compare the options: {question}", 512
        else:
            content = (f"Explain why, step by step, and compare the trade-offs: {question}\n"
                       "```\ndef answer(question):\n    return None\n```")
            max_tokens = 2500
        out.append({"temperature": 0, "max_tokens": max_tokens, "messages": [{"role": "user", "content": content}]})
    return out


def run_once(run: Run, stream: list[dict[str, object]], base_port: int) -> Outcome:
    procs, urls, root = start_swarm(f"savings-{run.label}", base_port,
                                    {"TOLLWAY_CACHE_ENABLED": str(run.cache).lower()})
    try:
        for name, served, price_in, price_out, latency in PROVIDERS:
            httpx.post(urls["router"] + "/register", timeout=10, json={
                "name": name, "model": served, "context_window": 16384, "input_per_mtok": price_in,
                "output_per_mtok": price_out,
                "endpoint": f"{urls['simulator']}/sim/latency_ms={latency},seed=3"}).raise_for_status()
        wanted = {p[1] for p in PROVIDERS}
        if run.model == ANY_MODEL:
            httpx.put(urls["router"] + f"/routing/aliases/{ANY_MODEL}", timeout=10,
                      json={"models": sorted(wanted)}).raise_for_status()
            wanted.add(ANY_MODEL)  # the gateway lists an alias once it has the routing config
        if not wait_until(lambda: wanted <= {m["id"] for m in
                                             httpx.get(urls["gateway"] + "/v1/models").json()["data"]}, 30):
            raise SystemExit(f"{run.label}: the gateway does not list {sorted(wanted)}")
        headers = {"x-tollway-run": "savings"} | ({"x-tollway-optimization": run.strategy} if run.strategy else {})
        with httpx.Client(timeout=60) as http:
            for body in stream:
                resp = http.post(urls["gateway"] + "/v1/chat/completions", headers=headers,
                                 json={**body, "model": run.model})
                resp.raise_for_status()
            upstream = http.get(urls["simulator"] + "/requests").json()["total"]
        receipts = [json.loads(line, parse_float=Decimal)
                    for line in (root / "costs" / "savings.jsonl").read_text().splitlines()]
        by_model: dict[str, int] = {}
        for r in receipts:
            key = "cache hit" if r.get("cache") == "hit" else str(r["model"])
            by_model[key] = by_model.get(key, 0) + 1
        return Outcome(run.label, upstream, sum((r["cost_usd"] for r in receipts), Decimal(0)),
                       statistics.quantiles([float(r["latency_ms"]) for r in receipts], n=20)[18], by_model)
    finally:
        procs.stop_all()


def cut(base: float | Decimal, other: float | Decimal) -> float:
    return float((Decimal(str(base)) - Decimal(str(other))) / Decimal(str(base)) * 100)


def claimed(low: int, high: int | None) -> str:
    return f"≥ {low} %" if high is None else f"{low}–{high} %"


def within(value: float, low: int, high: int | None) -> str:
    """"yes", or "no" saying on which side of the claimed range the measure fell."""
    if value < low:
        return "no (less)"
    return "no (more)" if high is not None and value > high else "yes"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--base-port", type=int, default=18400)
    p.add_argument("--runs", default=",".join(r.label for r in RUNS),
                   help="comma-separated runs (the baseline always runs)")
    args = p.parse_args()
    chosen = {"baseline", *args.runs.split(",")}
    unknown = chosen - {r.label for r in RUNS}
    if unknown:
        print(f"unknown runs: {sorted(unknown)}", file=sys.stderr)
        return 2
    busy = [port for port in (args.base_port + d for d in (3, 20, 21, 90)) if not port_free(port)]
    if busy:
        print(f"ports in use: {busy}; pass another --base-port", file=sys.stderr)
        return 2
    stream = requests(args.requests, args.seed)
    outcomes = {run.label: run_once(run, stream, args.base_port) for run in RUNS if run.label in chosen}
    base = outcomes["baseline"]
    print(f"\nsavings.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.requests} requests (seed {args.seed}),"
          " one at a time, through a fresh swarm per run; simulator providers "
          + ", ".join(f"{m} ${i}/${o} per Mtok {ms} ms" for _, m, i, o, ms in PROVIDERS) + "\n")
    print("| run | upstream calls | cost $ | cost cut | P95 ms | P95 cut | answered by |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for o in outcomes.values():
        served = ", ".join(f"{k} {v}" for k, v in sorted(o.by_model.items()))
        print(f"| {o.label} | {o.upstream} | {o.cost} | {cut(base.cost, o.cost):.1f} % | {o.p95_ms:.1f} |"
              f" {cut(base.p95_ms, o.p95_ms):.1f} % | {served} |")
    print("\n| claim | source | run | claimed | measured | within |")
    print("|---|---|---|---|---:|---|")
    for what, source, run, measure, low, high in CLAIMS:
        if run not in outcomes:
            continue
        o = outcomes[run]
        value = {"upstream": cut(base.upstream, o.upstream), "cost": cut(base.cost, o.cost),
                 "p95": cut(base.p95_ms, o.p95_ms)}[measure]
        print(f"| {what} | {source} | {run} | {claimed(low, high)} | {value:.1f} % | {within(value, low, high)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
