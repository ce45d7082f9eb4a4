"""POST /outcomes micro-benchmark: a real router process (pinned to one core) takes batches of
outcomes shaped as the gateway's reporter sends them (provider, latency_ms rounded to the
microsecond, success, `at` as the receipt's timestamp `2026-11-23T10:30:15.250Z`), posted one
after the other over one kept-alive connection from the other core, as a gateway's flush does.
Prints, per batch size, outcomes per second and the router's CPU (user + system, from
/proc/<pid>/stat, background stats publishing included) per outcome and per request.

    python scripts/bench/outcomes.py [--seconds 4] [--rounds 2] [--batches 1500,100,1]
    python scripts/bench/outcomes.py --baseline /tmp/router-base    # two routers side by side

`--baseline DIR` starts a second router from another copy of Tollway (e.g.
`git archive <commit> | tar -x -C DIR`) and measures the two in turn, round after round, so
a slow moment of the machine falls on both. Every router is checked at the end: it must have
received every outcome posted. Every process started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from processes import Processes, answers, cpu_seconds, pin_load, side_by_side, side_by_side_args, wait_until

REPO = Path(__file__).resolve().parents[2]
PROVIDERS = ("bench-a", "bench-b", "bench-c")


@dataclass
class Router:
    label: str
    url: str
    pid: int
    posted: int = 0


@dataclass
class Tally:
    requests: int = 0
    outcomes: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0

    def add(self, requests: int, outcomes: int, wall_s: float, cpu_s: float) -> None:
        self.requests += requests
        self.outcomes += outcomes
        self.wall_s += wall_s
        self.cpu_s += cpu_s


def iso_ms(at: datetime) -> str:
    return at.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def bodies(size: int, rng: random.Random, count: int = 16) -> list[bytes]:
    """`count` different batches of `size` outcomes from the last second, about 2 % failed."""
    now = datetime.now(UTC)
    out = []
    for _ in range(count):
        batch = [{"provider": rng.choice(PROVIDERS), "latency_ms": round(rng.lognormvariate(5.5, 0.6), 3),
                  "success": rng.random() > 0.02, "at": iso_ms(now - timedelta(seconds=rng.random()))}
                 for _ in range(size)]
        out.append(orjson.dumps({"outcomes": batch}))
    return out


def start_router(procs: Processes, label: str, repo: Path, port: int, cpu: str | None, root: Path) -> Router:
    artifacts = root / label
    env = {**os.environ, "TOLLWAY_ARTIFACTS_DIR": str(artifacts), "TOLLWAY_ACCESS_LOG": "false",
           "TOLLWAY_LOG_LEVEL": "warning", "TOLLWAY_HEALTH_CHECK_INTERVAL_S": "0", "PYTHONPATH": str(repo)}
    env.pop("TOLLWAY_ADMIN_KEY", None)
    proc = procs.start(label, [sys.executable, "-m", "services.cli.main", "serve", "router", "--port", str(port)],
                       cpu=cpu, env=env, cwd=repo)
    url = f"http://127.0.0.1:{port}"
    if not wait_until(lambda: answers(url + "/health"), 30, proc):
        raise SystemExit(f"the {label} router did not come up on :{port}:\n{procs.tail(label)}")
    for name in PROVIDERS:
        resp = httpx.post(url + "/register", json={"name": name, "model": "bench-model", "context_window": 8192,
                                                   "endpoint": "http://127.0.0.1:9", "input_per_mtok": "1",
                                                   "output_per_mtok": "2"}, timeout=10)
        resp.raise_for_status()
    return Router(label, url, proc.pid)


def post_for(client: httpx.Client, router: Router, pool: list[bytes], size: int, seconds: float) -> tuple[int, float,
                                                                                                            float]:
    """Post batches from `pool` for `seconds`: (requests, wall seconds, router CPU seconds)."""
    headers = {"content-type": "application/json"}
    requests = 0
    cpu0, t0 = cpu_seconds(router.pid), time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        resp = client.post(router.url + "/outcomes", content=pool[requests % len(pool)], headers=headers)
        if resp.status_code != 202:
            raise SystemExit(f"{router.label}: POST /outcomes answered {resp.status_code}: {resp.text[:300]}")
        requests += 1
    wall = time.perf_counter() - t0
    time.sleep(0.05)  # let a publish round that started meanwhile finish on the router's account
    router.posted += requests * size
    return requests, wall, cpu_seconds(router.pid) - cpu0


def check(router: Router) -> str:
    received = httpx.get(router.url + "/outcomes/stats", timeout=10).json()["received"]
    if received != router.posted:
        raise SystemExit(f"{router.label}: posted {router.posted} outcomes, the router received {received}")
    return f"{router.label}: all {received:,} outcomes received"


def table(sizes: list[int], routers: list[Router], tallies: dict[tuple[str, int], Tally]) -> str:
    lines = ["| batch | router | requests/s | outcomes/s | router CPU | CPU us/outcome | CPU us/request |",
             "|---:|---|---:|---:|---:|---:|---:|"]
    for size in sizes:
        for r in routers:
            t = tallies[(r.label, size)]
            lines.append(f"| {size} | {r.label} | {t.requests / t.wall_s:,.0f} | {t.outcomes / t.wall_s:,.0f} | "
                         f"{t.cpu_s / t.wall_s:.0%} | {t.cpu_s / t.outcomes * 1e6:,.1f} | "
                         f"{t.cpu_s / t.requests * 1e6:,.0f} |")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=4.0, help="posting time per row and round (default 4)")
    side_by_side_args(p, "router", 19700, 2)
    p.add_argument("--batches", default="1500,100,1", help="outcomes per request, one row each (default 1500,100,1)")
    args = p.parse_args()
    sizes = [int(s) for s in args.batches.split(",")]
    pinned = pin_load(args.load_cpu)
    targets = side_by_side(REPO, args.baseline, args.base_port)
    rng = random.Random(7)
    pools = {size: bodies(size, rng) for size in sizes}
    root = Path(tempfile.mkdtemp(prefix="tollway-outcomes-bench-"))
    procs = Processes(root)
    try:
        routers = [start_router(procs, label, repo, args.base_port + i, args.router_cpu if pinned else None, root)
                   for i, (label, repo) in enumerate(targets)]
        tallies = {(r.label, size): Tally() for r in routers for size in sizes}
        with httpx.Client(timeout=30) as client:
            for r in routers:  # warm up: first requests compile the validator, open the connection
                post_for(client, r, pools[sizes[0]], sizes[0], 0.5)
            for round_no in range(args.rounds):
                for size in sizes:
                    for r in (routers if round_no % 2 == 0 else routers[::-1]):
                        requests, wall, cpu = post_for(client, r, pools[size], size, args.seconds)
                        tallies[(r.label, size)].add(requests, requests * size, wall, cpu)
        print(f"routers on core {args.router_cpu}, client on core {args.load_cpu}" if pinned else "NOT pinned")
        print(f"{args.rounds} rounds x {args.seconds:g} s per row; {len(PROVIDERS)} providers; "
              f"labels: {', '.join(f'{label} = {repo}' for label, repo in targets)}\n")
        print(table(sizes, routers, tallies))
        print()
        for r in routers:
            print(check(r))
    finally:
        procs.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
