"""`tollway simulate`: where the providers come from (a registry snapshot file, or the running
router's GET /registry/snapshot), which workload, which strategies; prints the comparison."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import httpx

from services.cli.whatif.profiles import Profile
from services.cli.whatif.replay import BASELINES, World, replay
from services.cli.whatif.report import table
from services.cli.whatif.workload import from_receipts, synthetic
from services.common import jsonio
from services.common.registry.provider import Provider
from services.common.selection.config import RoutingConfig
from services.common.selection.observed import Observed
from services.common.selection.request import STRATEGIES

DEFAULT_STRATEGIES = ("cost", "latency", "balanced", "capability", "round_robin", "least_busy", "failover",
                      "region", "smart")


def add_arguments(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--providers", type=Path, help="a registry snapshot file (JSON; optional `profiles`)")
    src.add_argument("--router", help="the running router's URL, e.g. http://127.0.0.1:6103")
    p.add_argument("--workload", type=Path, help="a receipts file (LDJSON); default: a synthetic workload")
    p.add_argument("--requests", type=int, default=2000, help="synthetic workload size (default 2000)")
    p.add_argument("--seed", type=int, default=7, help="seed of the workload and every draw (default 7)")
    p.add_argument("--model", default=None, help="the model or alias every request asks for (default: any)")
    p.add_argument("--region", default=None, help="the callers' region (region strategy)")
    p.add_argument("--rate", type=float, default=5.0, help="requests per second arriving (default 5)")
    p.add_argument("--strategies", default=",".join(DEFAULT_STRATEGIES),
                   help=f"comma-separated, of: {', '.join(STRATEGIES)}")


def load_world(args: argparse.Namespace) -> World:
    if args.providers:
        data: dict[str, Any] = jsonio.loads_exact(args.providers.read_bytes())
    else:
        resp = httpx.get(args.router.rstrip("/") + "/registry/snapshot", timeout=10)
        resp.raise_for_status()
        data = jsonio.loads_exact(resp.content)
    providers = tuple(Provider.from_json(p) for p in data["providers"])
    declared = data.get("profiles") or {}
    return World(providers, {p.name: Profile.of(p, declared.get(p.name)) for p in providers},
                 RoutingConfig.from_json(data.get("routing")), Observed.from_json(data.get("observed")),
                 args.region)


def run(args: argparse.Namespace) -> int:
    strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise SystemExit(f"tollway simulate: unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}")
    world = load_world(args)
    if args.workload:
        jobs = from_receipts(args.workload, args.model)
        described = f"{len(jobs)} requests from {args.workload}"
    else:
        jobs = synthetic(args.requests, args.seed, args.model)
        described = f"{len(jobs)} synthetic requests (seed {args.seed})"
    source = args.providers or args.router
    print(f"workload: {described}, asking for {args.model or 'any model'}, {args.rate:g} requests/s")
    print(f"providers: {len(world.providers)} from {source}; up to 3 attempts per request, draws common to all")
    print()
    results = [replay(s, jobs, world, seed=args.seed, rate=args.rate) for s in (*BASELINES, *strategies)]
    print(table(results))
    print()
    print("premium / random: baselines (always the most expensive eligible provider / a uniform pick).")
    print("cost: exact, of served requests. latency: all attempts of a request. errors: every attempt failed"
          " (+Nu: no eligible provider).")
    return 0
