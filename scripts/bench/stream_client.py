"""The benchmark's streaming load: `"stream": true` chat requests from `concurrency` workers for a
number of seconds, each timed to its first token (the first `data:` chunk whose delta carries
content) and to its end (`[DONE]`). wrk cannot see the first token, hence this small aiohttp client.

`run_stream_client` runs it as a process of its own, pinned to a core like wrk, and reads the
figures it prints as one JSON line. Run directly:
    python scripts/bench/stream_client.py URL --concurrency 16 --seconds 10 [--run R] [--auth KEY]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve()


@dataclass(frozen=True)
class StreamResult:
    requests: int  # streams that ended with [DONE]
    seconds: float
    ttft_p50_ms: float
    ttft_p99_ms: float
    total_p50_ms: float
    total_p99_ms: float
    errors: int  # non-200 answers, error events, streams without [DONE], connection errors
    first_error: str = ""
    ttfts_ms: tuple[float, ...] = ()  # every stream's, for pooling rounds (merge)
    totals_ms: tuple[float, ...] = ()

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(sorted_ms: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list; nan when it is empty."""
    if not sorted_ms:
        return float("nan")
    rank = max(1, min(len(sorted_ms), -(-len(sorted_ms) * pct // 100)))
    return sorted_ms[int(rank) - 1]


def carries_content(line: bytes) -> bool:
    """Whether an SSE `data:` line is a chunk whose delta has non-empty content."""
    if not line.startswith(b"data:") or b'"content"' not in line:
        return False
    try:
        chunk = json.loads(line[5:])
    except ValueError:
        return False
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    return any(isinstance(c, dict) and (c.get("delta") or {}).get("content") for c in choices or [])


async def _load(url: str, body: bytes, headers: dict[str, str], concurrency: int, seconds: float) -> StreamResult:
    import aiohttp

    ttfts: list[float] = []
    totals: list[float] = []
    errors = 0
    first_error = ""

    def failed(why: str) -> None:
        nonlocal errors, first_error
        errors += 1
        first_error = first_error or why[:300]

    async def one(session: aiohttp.ClientSession) -> None:
        started = time.perf_counter()
        ttft = None
        async with session.post(url, data=body, headers=headers) as resp:
            if resp.status != 200:
                failed(f"HTTP {resp.status}: {(await resp.read())[:200]!r}")
                return
            async for line in resp.content:
                if ttft is None and carries_content(line):
                    ttft = time.perf_counter() - started
                elif line.startswith(b"data: [DONE]"):
                    total = time.perf_counter() - started
                    if ttft is None:
                        failed("a stream ended without any content")
                    else:
                        ttfts.append(ttft * 1000)
                        totals.append(total * 1000)
                    await resp.read()  # to its end, so the connection goes back to the pool
                    return
                elif line.startswith(b'data: {"error"'):
                    failed(f"error event: {line[:200]!r}")
                    return
        failed("a stream ended without [DONE]")

    async def worker(session: aiohttp.ClientSession, end: float) -> None:
        while time.perf_counter() < end:
            try:
                await one(session)
            except (aiohttp.ClientError, TimeoutError) as exc:
                failed(repr(exc))
                await asyncio.sleep(0.01)

    connector = aiohttp.TCPConnector(limit=concurrency, ttl_dns_cache=None)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        end = started + seconds
        await asyncio.gather(*(worker(session, end) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ttfts.sort()
    totals.sort()
    return _result(ttfts, totals, elapsed, errors, first_error)


def _result(ttfts: list[float], totals: list[float], seconds: float, errors: int, first_error: str) -> StreamResult:
    ttfts, totals = sorted(ttfts), sorted(totals)
    return StreamResult(len(ttfts), seconds, percentile(ttfts, 50), percentile(ttfts, 99), percentile(totals, 50),
                        percentile(totals, 99), errors, first_error, tuple(ttfts), tuple(totals))


def merge(results: list[StreamResult]) -> StreamResult:
    """Rounds of one target pooled: their streams' times together, their seconds and errors summed."""
    return _result([t for r in results for t in r.ttfts_ms], [t for r in results for t in r.totals_ms],
                   sum(r.seconds for r in results), sum(r.errors for r in results),
                   next((r.first_error for r in results if r.first_error), ""))


def stream_body(body: str) -> bytes:
    """The benchmark's chat body with `"stream": true`."""
    return json.dumps({**json.loads(body), "stream": True}, separators=(",", ":")).encode()


def run_stream_client(url: str, concurrency: int, seconds: float, *, cpu: str | None, body: str, run: str = "",
                      auth: str = "") -> StreamResult:
    """One run of this client in a process of its own (pinned to `cpu` when given)."""
    argv = [sys.executable, str(HERE), url, "--concurrency", str(concurrency), "--seconds", f"{seconds:g}",
            "--run", run, "--auth", auth, "--samples"]
    if cpu is not None:
        argv = ["taskset", "-c", cpu, *argv]
    env = {**os.environ, "BENCH_BODY": body}
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False, timeout=seconds + 120)
    if out.returncode != 0:
        raise RuntimeError(f"stream client failed ({out.returncode}): {out.stderr.strip()[-800:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    data["ttfts_ms"], data["totals_ms"] = tuple(data.get("ttfts_ms", ())), tuple(data.get("totals_ms", ()))
    return StreamResult(**data)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("url")
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--run", default="", help="X-Tollway-Run header")
    p.add_argument("--auth", default="", help="bearer key")
    p.add_argument("--samples", action="store_true", help="print every stream's times too (for pooling rounds)")
    args = p.parse_args(argv)
    body = os.environ.get("BENCH_BODY") or json.dumps(
        {"model": "bench-model", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16})
    headers = {"content-type": "application/json"}
    if args.run:
        headers["x-tollway-run"] = args.run
    if args.auth:
        headers["authorization"] = f"Bearer {args.auth}"
    try:
        import uvloop  # the client's own overhead, lower: it shares its core with the mock
    except ImportError:
        result = asyncio.run(_load(args.url, stream_body(body), headers, args.concurrency, args.seconds))
    else:
        result = uvloop.run(_load(args.url, stream_body(body), headers, args.concurrency, args.seconds))
    out = asdict(result)
    if not args.samples:
        del out["ttfts_ms"], out["totals_ms"]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
