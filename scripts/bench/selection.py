"""Selection micro-benchmark: microseconds per decision (p50 / p99) for 10, 100 and 1,000
registered providers, every one eligible (the worst case: any model), per strategy, over the
providers prepared as the gateway and the router keep them (a Catalog per snapshot, which keeps
its pools and shortlists: the first decisions on a new catalog prepare them, see below the
table); next to the cost selection as it was before the routing strategies (filter, score, full
sort, explain), to the cost strategy with its whole ranking read (the rest is sorted when first
read), and to the cost strategy over an unprepared list (the full path).

    taskset -c 0 python scripts/bench/selection.py [--repeat 400] [--sizes 10,100,1000]

One process, one core; figures are from this run only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.common.registry.provider import Provider, provider_from_registration  # noqa: E402
from services.common.selection.catalog import Catalog  # noqa: E402
from services.common.selection.config import RoutingConfig  # noqa: E402
from services.common.selection.context import RoutingContext  # noqa: E402
from services.common.selection.decide import select  # noqa: E402
from services.common.selection.estimate import estimated_cost  # noqa: E402
from services.common.selection.observed import Observed, ProviderStats  # noqa: E402
from services.common.selection.request import Requirements, SelectionRequest  # noqa: E402

NOW = datetime(2026, 11, 23, tzinfo=UTC)
STRATEGIES = ("cost", "latency", "balanced", "capability", "round_robin", "least_busy", "failover", "region",
              "smart")
PAYLOAD = {"messages": [{"role": "user", "content": "Compare the two plans and say which is cheaper."}],
           "max_tokens": 500}


def fleet(n: int, rng: random.Random) -> list[Provider]:
    models = [f"model-{i}" for i in range(max(n // 10, 3))]
    return [provider_from_registration({
        "name": f"p{i:04d}", "model": rng.choice(models), "context_window": rng.choice([8192, 32000, 128000]),
        "endpoint": "http://sim", "input_per_mtok": Decimal(rng.randint(5, 3000)) / 100,
        "output_per_mtok": Decimal(rng.randint(10, 6000)) / 100, "features": ["function_calling"],
        "slo": {"latency_p95_ms": rng.randint(200, 5000)}, "region": rng.choice(["us", "eu", "ap"]),
        "priority": rng.randint(1, 100)}, NOW) for i in range(n)]


def context(providers: list[Provider], rng: random.Random) -> RoutingContext:
    observed = Observed(providers={p.name: ProviderStats(float(rng.randint(100, 6000)), 0.99, 50)
                                   for p in providers[::2]})
    return RoutingContext(config=RoutingConfig(), observed=observed, in_flight={p.name: rng.randint(0, 5)
                                                                               for p in providers},
                          rng=rng, region="eu")


def before_cheapest(providers: list[Provider], input_tokens: int, output_tokens: int) -> object:
    """The cost selection before this change: eligibility, a Candidate each, one full sort, the reason."""
    eligible, excluded = [], []
    for p in providers:
        if not p.active or p.context_window < input_tokens + output_tokens:
            excluded.append((p.name, "no"))
        else:
            eligible.append(p)
    scored = [(estimated_cost(input_tokens, output_tokens, p.input_per_token, p.output_per_token), p)
              for p in eligible]
    ranked = sorted(scored, key=lambda cp: (cp[0], cp[1].priority, cp[1].name))
    best_cost, best = ranked[0]
    return (f"cheapest for {input_tokens} input + {output_tokens} output tokens: ${best_cost} at "
            f"${best.input_per_mtok}/${best.output_per_mtok} per Mtok; next {ranked[1][1].name} ${ranked[1][0]}")


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    for _ in range(min(repeat // 10, 20)):
        call()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - t0) / 1000)
    samples.sort()
    return statistics.median(samples), samples[min(int(len(samples) * 0.99), len(samples) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=400)
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(7)
    columns = {}
    for n in sizes:
        providers = fleet(n, rng)
        ctx = context(providers, rng)
        catalog = Catalog(providers, ctx.observed)  # what the gateway keeps per snapshot
        runs: dict[str, Callable[[], object]] = {"cost (before)": lambda p=providers: before_cheapest(p, 1000, 500)}
        for strategy in STRATEGIES:
            request = SelectionRequest(Requirements(), strategy, 1000, 500, payload=PAYLOAD)
            runs[strategy] = lambda c=catalog, r=request, x=ctx: select(c, r, x)
        plain = SelectionRequest(Requirements(), "cost", 1000, 500, payload=PAYLOAD)
        runs["cost, whole ranking read"] = lambda c=catalog, r=plain, x=ctx: list(select(c, r, x).ranked)
        runs["cost, unprepared"] = lambda p=providers, r=plain, x=ctx: select(p, r, x)
        columns[n] = {name: timed(run, args.repeat if n < 1000 else max(args.repeat // 4, 50))
                      for name, run in runs.items()}
    python = ".".join(map(str, sys.version_info[:2]))
    print(f"µs per decision, p50 / p99 ({args.repeat} decisions, a quarter of them at 1000 providers; "
          f"every provider eligible; python {python})")
    print("| strategy | " + " | ".join(f"{n} providers" for n in sizes) + f" | x before at {sizes[-1]} (p50) |")
    print("|---" * (len(sizes) + 2) + "|")
    base = columns[sizes[-1]]["cost (before)"][0]
    for name in columns[sizes[0]]:
        cells = " | ".join(f"{columns[n][name][0]:,.0f} / {columns[n][name][1]:,.0f}" for n in sizes)
        print(f"| {name} | {cells} | {columns[sizes[-1]][name][0] / base:.2f} |")
    print(preparation(sizes[-1], rng))
    return 0


def preparation(n: int, rng: random.Random) -> str:
    """What a new snapshot costs once: the catalog, then each strategy's first decision on it."""
    providers = fleet(n, rng)
    ctx = context(providers, rng)
    t0 = time.perf_counter_ns()
    catalog = Catalog(providers, ctx.observed)
    firsts = [f"catalog {(time.perf_counter_ns() - t0) / 1e6:.1f}"]
    for strategy in STRATEGIES:
        request = SelectionRequest(Requirements(), strategy, 1000, 500, payload=PAYLOAD)
        t0 = time.perf_counter_ns()
        select(catalog, request, ctx)
        firsts.append(f"{strategy} {(time.perf_counter_ns() - t0) / 1e6:.1f}")
    return f"\nonce per snapshot at {n} providers, ms: " + ", ".join(firsts) + " (first decision each, in this order)"


if __name__ == "__main__":
    sys.exit(main())
