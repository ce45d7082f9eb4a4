"""Instructions per request: the gateway's CPU work counted by valgrind (callgrind), not timed.

    python scripts/bench/instructions.py [--requests 600] [--concurrency 16] [--baseline DIR]

Wall-clock benchmarks (scripts/bench.sh) need a quiet machine; an instruction count does not: the
same binary given the same requests executes nearly the same instructions whatever else the
machine is doing. This runs the gateway under `valgrind --tool=callgrind` with counting switched
off, warms it up, then counts only while `--requests` chat requests go through it (plain, then
under a run budget), and prints instructions per request for this checkout and, with
`--baseline DIR` (another checkout: `git worktree add /tmp/tollway-base <commit>`), for that one,
side by side with their ratio. The router, ledger and the Node mock upstream run natively.

What it does not see: time spent waiting (the loop idle, the kernel's network stack in other
processes), and how instructions turn into time on a busy core (cache misses, GC pause spread).
It is a check on the work per request, beside scripts/bench.sh's req/s, not instead of it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from processes import Processes, answers, wait_until
from run import BODY, REPO, SWARM, SetupFailed, add_budget, register_and_wait, start_mock, swarm_env

BUDGET_RUN = "bench-budget"
SCENARIOS = (("gateway", "bench"), ("gateway + budget", BUDGET_RUN))


@dataclass(frozen=True)
class Count:
    scenario: str
    checkout: str
    requests: int
    instructions: int

    @property
    def per_request(self) -> float:
        return self.instructions / self.requests


def free_ports(n: int) -> list[int]:
    import socket

    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def callgrind(pid: int, *args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(pid)], check=True, capture_output=True, timeout=600)


def total_instructions(out_file: Path) -> int:
    """The `totals:` line of a callgrind dump: instructions executed (Ir) since the counters were zeroed
    (its `summary:` line stays 0 when counting was switched on by callgrind_control)."""
    match = re.search(r"^totals:\s+(\d+)", out_file.read_text(), re.MULTILINE)
    if match is None:
        raise SetupFailed(f"no instruction total in {out_file}")
    return int(match.group(1))


async def send(url: str, run: str, n: int, concurrency: int) -> None:
    """`n` chat requests, `concurrency` at a time; each must succeed."""
    headers = {"content-type": "application/json", "x-tollway-run": run}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=600, limits=limits) as client:
        left = iter(range(n))

        async def worker() -> None:
            for _ in left:
                resp = await client.post(url, content=BODY, headers=headers)
                if resp.status_code != 200:
                    raise SetupFailed(f"a request got {resp.status_code}: {resp.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def measure(repo: Path, label: str, args: argparse.Namespace, procs: Processes, root: Path,
            mock_url: str) -> list[Count]:
    """One swarm from `repo`, its gateway under callgrind; a count per scenario."""
    router, ledger, gateway = free_ports(3)
    ports = {"router": router, "ledger": ledger, "gateway": gateway}
    urls = {svc: f"http://127.0.0.1:{port}" for svc, port in ports.items()}
    state = root / (label or "head")
    extra = {"PYTHONPATH": str(repo)} if repo != REPO else {}
    env = swarm_env(state, urls, TOLLWAY_SHIP_INTERVAL_S="0.2", **extra)
    for svc in SWARM:
        argv = [sys.executable, "-m", "services.cli.main", "serve", svc, "--port", str(ports[svc])]
        if svc == "gateway":
            out = state / "callgrind.out"
            argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", *argv]
        state.mkdir(parents=True, exist_ok=True)
        proc = procs.start(svc + label, argv, cpu=None, env=env, cwd=repo)
        up = 600 if svc == "gateway" else 60
        if not wait_until(lambda svc=svc: answers(urls[svc] + "/health", 5), up, proc, interval_s=1):
            raise SetupFailed(f"{svc}{label} did not come up:\n{procs.tail(svc + label)}")
        if svc == "gateway":
            pid = proc.pid
    register_and_wait(urls, mock_url)
    add_budget(urls)
    counts = []
    chat = urls["gateway"] + "/v1/chat/completions"
    for scenario, run in SCENARIOS:
        asyncio.run(send(chat, run, args.warmup, args.concurrency))
        time.sleep(1)
        callgrind(pid, "--zero")
        callgrind(pid, "--instr=on")
        asyncio.run(send(chat, run, args.requests, args.concurrency))
        time.sleep(args.settle)  # the receipts shipped, the leases' bookkeeping done
        callgrind(pid, "--instr=off")
        dumps_before = set(state.glob("callgrind.out*"))
        callgrind(pid, "--dump=" + scenario.replace(" ", ""))
        dumped = sorted(set(state.glob("callgrind.out*")) - dumps_before)
        if not dumped:
            raise SetupFailed(f"callgrind wrote no dump for {scenario}{label}")
        counts.append(Count(scenario, label or "this checkout", args.requests, total_instructions(dumped[-1])))
        print(f"  {scenario}{label}: {counts[-1].per_request:,.0f} instructions per request", file=sys.stderr,
              flush=True)
    return counts


def table(head: list[Count], base: list[Count] | None) -> str:
    lines = ["| scenario | instructions/request (this checkout) |"
             + (" instructions/request (baseline) | this / baseline |" if base else "")]
    lines.append("|---|---:|" + ("---:|---:|" if base else ""))
    for i, count in enumerate(head):
        row = f"| {count.scenario} | {count.per_request:,.0f} |"
        if base:
            row += f" {base[i].per_request:,.0f} | {count.per_request / base[i].per_request:.3f} |"
        lines.append(row)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=600, help="requests counted per scenario (default 600)")
    p.add_argument("--warmup", type=int, default=200, help="requests before counting, per scenario (default 200)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    p.add_argument("--settle", type=float, default=3, help="seconds after the last request, still counted (default 3)")
    p.add_argument("--baseline", type=Path, metavar="DIR", help="another checkout of Tollway, counted the same way")
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep the callgrind dumps here (for callgrind_annotate) instead of a temporary directory")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tollway-instr-") as tmp:
        root = args.keep.resolve() if args.keep else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        procs = Processes(root)
        try:
            mock_url = start_mock(procs, free_ports(1)[0], None, 5, 2)
            head = measure(REPO, "", args, procs, root, mock_url)
            base = measure(args.baseline.resolve(), "@base", args, procs, root, mock_url) if args.baseline else None
        except SetupFailed as exc:
            print(f"instructions: {exc}", file=sys.stderr)
            return 1
        finally:
            procs.stop_all(grace_s=30)
    print(f"\n{args.requests} requests per scenario, {args.concurrency} in flight, after {args.warmup} to warm up\n")
    print(table(head, base))
    return 0


if __name__ == "__main__":
    sys.exit(main())
