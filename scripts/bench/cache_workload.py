"""The response cache on a reproducible workload, through the whole swarm, cache off vs on.

A seeded stream of chat requests (temperature 0) over the simulator: a stated share repeats an
earlier question word for word, a share asks an earlier question in other words (the labelled
paraphrases in tests/data/cache_pairs.jsonl), the rest are new. The same stream runs through a
fresh swarm with the cache off, then on (exact, and semantic with --semantic), and the table shows
upstream calls, hit rate, dollars spent and saved (from the receipts) and gateway latency.

    PYTHON=/work/.venv/bin/python scripts/bench/cache_workload.py --requests 600 --seed 7 --semantic
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from bench_swarm import start_swarm
from processes import port_free, wait_until

REPO = Path(__file__).resolve().parents[2]
PAIRS = REPO / "tests" / "data" / "cache_pairs.jsonl"
MODEL = "workload-model"


@dataclass
class Outcome:
    label: str
    requests: int
    upstream_calls: int
    exact_hits: int
    semantic_hits: int
    spent: Decimal
    saved: Decimal
    p50_ms: float
    p95_ms: float
    hit_gateway_p50_ms: float | None  # the gateway's own time for a hit (receipt latency_ms)
    miss_gateway_p50_ms: float | None


def workload(n: int, seed: int, repeat: float, paraphrase: float) -> list[str]:
    """n prompts: `repeat` of them repeat an earlier prompt, `paraphrase` rephrase an earlier one."""
    rng = random.Random(seed)
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    hits = [(p["a"], p["b"]) for p in pairs if p["label"] == "hit"]
    rng.shuffle(hits)
    fresh = iter(hits)
    asked: list[tuple[str, str]] = []  # (question, its paraphrase)
    out: list[str] = []
    for i in range(n):
        roll = rng.random()
        if asked and roll < repeat:
            out.append(rng.choice(asked)[0])
        elif asked and roll < repeat + paraphrase:
            out.append(rng.choice(asked)[1])
        else:
            try:
                pair = next(fresh)
            except StopIteration:
                pair = (f"Question number {i}: describe item {i}.", f"Describe item {i}, question {i}.")
            asked.append(pair)
            out.append(pair[0])
    return out


def run_once(label: str, prompts: list[str], env_extra: dict[str, str], base_port: int) -> Outcome:
    procs, urls, root = start_swarm(f"cache-{label}", base_port, {"TOLLWAY_SIM_LATENCY_MS": "20", **env_extra})
    try:
        httpx.post(urls["router"] + "/register", timeout=10, json={
            "name": "workload-sim", "model": MODEL, "context_window": 8192, "input_per_mtok": "2.5",
            "output_per_mtok": "10", "endpoint": urls["simulator"]}).raise_for_status()
        wait_until(lambda: any(m["id"] == MODEL for m in httpx.get(urls["gateway"] + "/v1/models").json()["data"]), 20)
        latencies = []
        with httpx.Client(timeout=30) as http:
            for prompt in prompts:
                started = time.perf_counter()
                resp = http.post(urls["gateway"] + "/v1/chat/completions", headers={"x-tollway-run": "workload"},
                                 json={"model": MODEL, "temperature": 0, "max_tokens": 32,
                                       "messages": [{"role": "user", "content": prompt}]})
                latencies.append((time.perf_counter() - started) * 1000)
                resp.raise_for_status()
            upstream = http.get(urls["simulator"] + "/requests").json()["total"]
        receipts = [json.loads(line, parse_float=Decimal)
                    for line in (root / "costs" / "workload.jsonl").read_text().splitlines()]
        kinds = [r.get("cache_kind") for r in receipts]
        cuts = statistics.quantiles(latencies, n=20)
        hit_ms = [float(r["latency_ms"]) for r in receipts if r.get("cache") == "hit"]
        miss_ms = [float(r["latency_ms"]) for r in receipts if r.get("cache") != "hit"]
        return Outcome(label, len(prompts), upstream, kinds.count("exact"), kinds.count("semantic"),
                       sum((r["cost_usd"] for r in receipts), Decimal(0)),
                       sum((r.get("saved_usd", Decimal(0)) for r in receipts), Decimal(0)),
                       statistics.median(latencies), cuts[18],
                       statistics.median(hit_ms) if hit_ms else None, statistics.median(miss_ms) if miss_ms else None)
    finally:
        procs.stop_all()


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=float, default=0.30, help="share of word-for-word repeats")
    p.add_argument("--paraphrase", type=float, default=0.20, help="share of paraphrased repeats")
    p.add_argument("--semantic", action="store_true", help="also run with semantic matching on")
    p.add_argument("--base-port", type=int, default=18300)
    args = p.parse_args()
    prompts = workload(args.requests, args.seed, args.repeat, args.paraphrase)
    runs = [("cache off", {"TOLLWAY_CACHE_ENABLED": "false"}), ("exact cache", {"TOLLWAY_CACHE_ENABLED": "true"})]
    if args.semantic:
        runs.append(("exact+semantic", {"TOLLWAY_CACHE_ENABLED": "true", "TOLLWAY_CACHE_SEMANTIC": "true"}))
    busy = [port for port in (args.base_port + d for d in (3, 20, 21, 90)) if not port_free(port)]
    if busy:
        print(f"ports in use: {busy}; pass another --base-port", file=sys.stderr)
        return 2
    outcomes = [run_once(label, prompts, env, args.base_port) for label, env in runs]
    print(f"\n{args.requests} requests (seed {args.seed}): {args.repeat:.0%} exact repeats, "
          f"{args.paraphrase:.0%} paraphrases, the rest new; simulator upstream at $2.50/$10 per Mtok\n")
    print("| run | upstream calls | avoided | exact hits | semantic hits | hit rate | spent $ | saved $ "
          "| client p50 ms | client p95 ms | gateway p50 ms, hits | gateway p50 ms, misses |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = outcomes[0].upstream_calls
    for o in outcomes:
        hits = o.exact_hits + o.semantic_hits
        print(f"| {o.label} | {o.upstream_calls} | {base - o.upstream_calls} | {o.exact_hits} | {o.semantic_hits} "
              f"| {hits / o.requests:.1%} | {o.spent} | {o.saved} | {o.p50_ms:.1f} | {o.p95_ms:.1f} "
              f"| {_ms(o.hit_gateway_p50_ms)} | {_ms(o.miss_gateway_p50_ms)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
