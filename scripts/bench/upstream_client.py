"""Upstream HTTP client micro-benchmark: the gateway's own HTTP/1.1 client (`forwarding/http1`)
against aiohttp's, side by side in one run, on the same Node mock the gateway benchmark uses.
One request at a time (the latency the gateway adds at concurrency 1), plain and streamed: wall
time per request (p50, p99) and CPU time per request of this process, which is what the client
costs the gateway. Rows alternate between the clients so drift on a shared machine hits both.

Usage: python scripts/bench/upstream_client.py [--requests N] [--rounds R] [--port P]
Needs node (scripts/bench/mock_upstream.js); runs the mock itself.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import uvloop  # noqa: E402

from services.gateway.adapters.base import UpstreamRequest  # noqa: E402
from services.gateway.forwarding.upstream import UpstreamClient  # noqa: E402

PLAIN = b'{"model":"bench-model","messages":[{"role":"user","content":"hi"}]}'
STREAM = b'{"model":"bench-model","stream":true,"messages":[{"role":"user","content":"hi"}]}'
HEADERS = {"content-type": "application/json", "authorization": "Bearer bench"}

OneCall = Callable[[bytes], Awaitable[int]]


async def time_calls(call: OneCall, body: bytes, n: int) -> tuple[list[float], float]:
    """Wall milliseconds of each call, and CPU microseconds per call."""
    walls: list[float] = []
    cpu0 = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        size = await call(body)
        walls.append((time.perf_counter() - t0) * 1000)
        assert size > 0
    return walls, (time.process_time() - cpu0) / n * 1e6


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


async def main(args: argparse.Namespace) -> None:
    url = f"http://127.0.0.1:{args.port}/v1/chat/completions"
    ours = UpstreamClient(5.0)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=30),
                                    skip_auto_headers=("User-Agent",))

    async def tollway(body: bytes) -> int:
        resp = await ours.open(UpstreamRequest(url, HEADERS, body))
        size = 0
        while chunk := await resp.readany():
            size += len(chunk)
        return size

    async def with_aiohttp(body: bytes) -> int:
        async with session.post(url, data=body, headers=HEADERS) as resp:
            size = 0
            while chunk := await resp.content.readany():
                size += len(chunk)
            return size

    clients: dict[str, OneCall] = {"aiohttp 3 (baseline)": with_aiohttp, "tollway http1": tollway}
    results: dict[tuple[str, str], list[tuple[list[float], float]]] = {}
    for kind, body, n in (("plain", PLAIN, args.requests), ("stream", STREAM, max(args.requests // 10, 50))):
        for call in clients.values():  # warm both
            await time_calls(call, body, 50 if kind == "plain" else 5)
        for _ in range(args.rounds):
            for name, call in clients.items():
                results.setdefault((kind, name), []).append(await time_calls(call, body, n))
    await session.close()
    await ours.close()

    print(f"\nUpstream client, one request at a time to the Node mock ({args.rounds} rounds, alternating), "
          f"python {sys.version.split()[0]}, aiohttp {aiohttp.__version__}\n")
    print("| kind | client | requests | wall p50 ms | wall p99 ms | CPU µs/request | CPU ratio |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for kind in ("plain", "stream"):
        base_cpu = statistics.median(c for _, c in results[(kind, "aiohttp 3 (baseline)")])
        for name in clients:
            runs = results[(kind, name)]
            walls = [w for ws, _ in runs for w in ws]
            cpu = statistics.median(c for _, c in runs)
            print(f"| {kind} | {name} | {len(walls)} | {pct(walls, 50):.3f} | {pct(walls, 99):.3f} | "
                  f"{cpu:.1f} | {cpu / base_cpu:.2f} |")
    print("\nStreams: the mock's role chunk, 5 content chunks 2 ms apart, finish, [DONE]; "
          "wall time is dominated by those waits, CPU is the client's own.")


def run() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=3000, help="plain requests per client per round (default 3000)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--port", type=int, default=19390)
    args = p.parse_args()
    mock = subprocess.Popen(["node", str(REPO / "scripts/bench/mock_upstream.js"), str(args.port), "5", "2"])
    try:
        time.sleep(0.5)
        uvloop.run(main(args))
    finally:
        mock.terminate()
        mock.wait()


if __name__ == "__main__":
    run()
