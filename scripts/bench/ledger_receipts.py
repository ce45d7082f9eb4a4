"""POST /receipts micro-benchmark: a real ledger process (SQLite, pinned to one core) books batches of
receipts shaped as the gateway ships them (one run with a budget, one provider, a lease each, money
as exact decimals, every field the gateway writes), posted one after the other over one kept-alive
connection from the other core, as the gateway's shipper does. Prints, per batch size, the ledger's
CPU (user + system, from /proc/<pid>/stat) per receipt and per request.

    python scripts/bench/ledger_receipts.py [--receipts 6000] [--rounds 3] [--batches 400,100,10]
    python scripts/bench/ledger_receipts.py --baseline /tmp/ledger-base    # two ledgers side by side

`--baseline DIR` starts a second ledger from another copy of Tollway (e.g. `git worktree add
--detach DIR <commit>`) and measures the two in turn, round after round, so a slow moment of the
machine falls on both. Every batch must be booked whole (`accepted` = its size). Every process
started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from processes import Processes, answers, cpu_seconds, pin_load, side_by_side, side_by_side_args, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from services.common import jsonio  # noqa: E402  (exact decimals in the bodies)

REPO = Path(__file__).resolve().parents[2]
RUN = "bench-run"
_ids = itertools.count(1)


@dataclass
class Ledger:
    label: str
    url: str
    pid: int


@dataclass
class Tally:
    requests: int = 0
    receipts: int = 0
    cpu_s: float = 0.0

    def add(self, requests: int, receipts: int, cpu_s: float) -> None:
        self.requests += requests
        self.receipts += receipts
        self.cpu_s += cpu_s


def receipt(now: datetime) -> dict[str, Any]:
    """One receipt as services/gateway/receipts/build.py writes it for a plain chat call."""
    n = next(_ids)
    latency = 12.5 + n % 13
    return {"request_id": f"bench-{n:012d}", "run_id": RUN, "agent": "bench", "provider": "sim-a",
            "timestamp": (now - timedelta(milliseconds=n % 1000)).replace(tzinfo=None).isoformat(
                timespec="milliseconds") + "Z",
            "model": "sim-small", "input_tokens": 100, "output_tokens": 50,
            "input_cost_usd": Decimal("0.000015"), "output_cost_usd": Decimal("0.000030"),
            "cost_usd": Decimal("0.000045"), "input_cost_micros": 15, "output_cost_micros": 30, "cost_micros": 45,
            "prices": {"input_per_mtok": Decimal("0.15"), "output_per_mtok": Decimal("0.60")},
            "latency_ms": latency, "status": "success", "http_status": 200, "fallback": False,
            "attempts": [{"provider": "sim-a", "status": "success", "http_status": 200, "latency_ms": latency}],
            "strategy": "cost", "reason": "cheapest eligible", "stream": False, "usage_estimated": False,
            "hold_usd": Decimal("0.000100"), "prompt_hash": "ab" * 16, "max_tokens": 256,
            "lease_ids": [f"lease-{n % 4}"]}


def bodies(size: int, total: int) -> list[bytes]:
    now = datetime.now(UTC)
    return [jsonio.dumps({"receipts": [receipt(now) for _ in range(size)]}) for _ in range(max(1, total // size))]


def start_ledger(procs: Processes, label: str, repo: Path, port: int, cpu: str | None, root: Path) -> Ledger:
    env = {**os.environ, "TOLLWAY_ARTIFACTS_DIR": str(root / label), "TOLLWAY_ACCESS_LOG": "false",
           "TOLLWAY_LOG_LEVEL": "warning", "PYTHONPATH": str(repo)}
    for name in ("TOLLWAY_ADMIN_KEY", "TOLLWAY_DATABASE_URL"):
        env.pop(name, None)
    proc = procs.start(label, [sys.executable, "-m", "services.cli.main", "serve", "ledger", "--port", str(port)],
                       cpu=cpu, env=env, cwd=repo)
    url = f"http://127.0.0.1:{port}"
    if not wait_until(lambda: answers(url + "/health"), 30, proc):
        raise SystemExit(f"the {label} ledger did not come up on :{port}:\n{procs.tail(label)}")
    httpx.post(url + "/budget", json={"run_id": RUN, "budget_usd": "1000000"}, timeout=10).raise_for_status()
    return Ledger(label, url, proc.pid)


def post_all(client: httpx.Client, ledger: Ledger, pool: list[bytes], size: int) -> tuple[int, float]:
    """Post every body of `pool`: (requests, ledger CPU seconds)."""
    headers = {"content-type": "application/json"}
    cpu0 = cpu_seconds(ledger.pid)
    for body in pool:
        resp = client.post(ledger.url + "/receipts", content=body, headers=headers)
        if resp.status_code != 200 or resp.json().get("accepted") != size:
            raise SystemExit(f"{ledger.label}: POST /receipts answered {resp.status_code}: {resp.text[:300]}")
    time.sleep(0.05)
    return len(pool), cpu_seconds(ledger.pid) - cpu0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--receipts", type=int, default=6000, help="receipts per row and round (default 6000)")
    side_by_side_args(p, "ledger", 19720, 3)
    p.add_argument("--batches", default="400,100,10", help="receipts per request, one row each (default 400,100,10)")
    args = p.parse_args()
    sizes = [int(s) for s in args.batches.split(",")]
    pinned = pin_load(args.load_cpu)
    targets = side_by_side(REPO, args.baseline, args.base_port)
    root = Path(tempfile.mkdtemp(prefix="tollway-receipts-bench-"))
    procs = Processes(root)
    try:
        ledgers = [start_ledger(procs, label, repo, args.base_port + i, args.ledger_cpu if pinned else None, root)
                   for i, (label, repo) in enumerate(targets)]
        tallies = {(led.label, size): Tally() for led in ledgers for size in sizes}
        with httpx.Client(timeout=60) as client:
            for led in ledgers:  # warm up: the first requests compile the validator, open the connection
                post_all(client, led, bodies(sizes[0], sizes[0] * 3), sizes[0])
            for round_no in range(args.rounds):
                for size in sizes:
                    for led in (ledgers if round_no % 2 == 0 else ledgers[::-1]):
                        requests, cpu = post_all(client, led, bodies(size, args.receipts), size)
                        tallies[(led.label, size)].add(requests, requests * size, cpu)
        print(f"ledgers on core {args.ledger_cpu}, client on core {args.load_cpu}" if pinned else "NOT pinned")
        print(f"{args.rounds} rounds x {args.receipts} receipts per row; "
              f"labels: {', '.join(f'{label} = {repo}' for label, repo in targets)}\n")
        print("| batch | ledger | CPU us/receipt | CPU us/request |\n|---:|---|---:|---:|")
        for size in sizes:
            for led in ledgers:
                t = tallies[(led.label, size)]
                print(f"| {size} | {led.label} | {t.cpu_s / t.receipts * 1e6:,.1f}"
                      f" | {t.cpu_s / t.requests * 1e6:,.0f} |")
    finally:
        procs.stop_all()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
