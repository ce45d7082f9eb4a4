"""End-to-end A/B of the gateway's HTTP client to providers: the whole gateway on its own HTTP/1.1
client (`TOLLWAY_UPSTREAM_CLIENT=http1`) against the whole gateway on aiohttp's (`aiohttp`), in one
run, beside the direct call and the floor (a bare uvicorn + Starlette + aiohttp pass-through,
floor.py). The project keeps infrastructure it wrote itself only while a benchmark shows it earns
its keep: the hand-written client stays if it serves at least 15 % more req/s at c=64.

The two gateways share one router and one ledger; the gateways, router, ledger and floor are
pinned to one core, the Node mock, wrk and the stream client to the other (as scripts/bench.sh).
Every row is measured in `--rounds` rounds in which the targets take turns, so a machine that
slows for a while slows all of them; plain rows at c=1/16/64 (wrk), streams at c=1/16 (time to
first token). Prints one table for each, every figure also as a ratio to the floor's, then the
verdict line "http1 vs aiohttp at c=64: +X % req/s".

Usage: python scripts/bench/upstream_ab.py [--seconds 20] [--rounds 4] [--json FILE]  (--help for more)
Needs wrk, node and taskset.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import run
from processes import Processes, port_free
from report import DIRECT, Row, StreamRow, cpu_us, stream_table, table, write_json

HTTP1 = "gateway (http1)"
AIOHTTP = "gateway (aiohttp)"
KEEP_AT_PCT = 15.0  # the hand-written client stays if it serves at least this much more at c=64
VERDICT_CONC = 64


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/bench/upstream_ab.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20, help="measured seconds per row, split among the rounds "
                   "(default 20)")
    p.add_argument("--rounds", type=int, default=4, help="rounds per row, the targets taking turns (default 4)")
    p.add_argument("--warmup", type=float, default=2, help="warm-up before a target's first round (default 2)")
    p.add_argument("--concurrency", default="1,16,64", help="plain rows' connections (default 1,16,64)")
    p.add_argument("--stream-concurrency", default="1,16", help="streaming rows' concurrent streams (default 1,16)")
    p.add_argument("--no-stream", action="store_true", help="skip the streaming rows")
    p.add_argument("--stream-chunks", type=int, default=5, help="content chunks per streamed answer (default 5)")
    p.add_argument("--stream-delay-ms", type=float, default=2, help="the mock's delay before each chunk (default 2)")
    p.add_argument("--base-port", type=int, default=17100,
                   help="router +3, gateways +20 and +22, ledger +21, floor +50, mock +90 (default 17100)")
    p.add_argument("--swarm-cpu", default="0", help="core for the gateways, router, ledger and floor (default 0)")
    p.add_argument("--load-cpu", default="1", help="core for the mock, wrk and the stream client (default 1)")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, receipts)")
    args = p.parse_args(argv)
    args.stream_rounds, args.only_stream = args.rounds, False  # as run.py's measurements read them
    return args


def uses_aiohttp(pid: int) -> bool:
    """Whether the process has aiohttp's compiled parser loaded (the gateway imports aiohttp only
    when its upstream client is aiohttp's)."""
    try:
        return "aiohttp" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def start(args: argparse.Namespace, procs: Processes, root: Path, cpus: tuple[str | None, str | None],
          ports: dict[str, int]) -> list[run.Target]:
    swarm_cpu, load_cpu = cpus
    mock_url = run.start_mock(procs, ports["mock"], load_cpu, args.stream_chunks, args.stream_delay_ms)
    floor = run.start_floor(procs, ports["floor"], swarm_cpu, mock_url)
    urls, http1_pid = run.start_swarm(procs, {k: ports[k] for k in ("router", "ledger", "gateway")}, swarm_cpu, root,
                                      TOLLWAY_UPSTREAM_CLIENT="http1")
    aio_url = f"http://127.0.0.1:{ports['gateway_aiohttp']}"
    aio_env = run.swarm_env(root / "aiohttp", urls, TOLLWAY_UPSTREAM_CLIENT="aiohttp")  # its own receipts and state
    aio_pid = run.start_service(procs, "gateway-aiohttp", "gateway", ports["gateway_aiohttp"], swarm_cpu, aio_env)
    run.register_and_wait(urls, mock_url, [urls["gateway"], aio_url])
    targets = [run.Target(DIRECT, mock_url + "/v1/chat/completions"), floor,
               run.Target(HTTP1, urls["gateway"] + "/v1/chat/completions", run="bench", pid=http1_pid),
               run.Target(AIOHTTP, aio_url + "/v1/chat/completions", run="bench", pid=aio_pid)]
    for target in targets:
        run.check(args, target)
    if uses_aiohttp(http1_pid) or not uses_aiohttp(aio_pid):
        raise run.SetupFailed("the gateways do not run the upstream clients asked of them (aiohttp loaded: "
                              f"http1 gateway {uses_aiohttp(http1_pid)}, aiohttp gateway {uses_aiohttp(aio_pid)})")
    return targets


def upstream_counters(targets: list[run.Target]) -> str:
    """Each gateway's keep-alive at work: connections opened to the mock, resent requests."""
    out = []
    for t in targets:
        if t.scenario in (HTTP1, AIOHTTP):
            try:
                up = httpx.get(t.url.rsplit("/v1/", 1)[0] + "/health", timeout=5).json().get("upstream", {})
            except (httpx.HTTPError, ValueError) as exc:
                out.append(f"{t.scenario}: /health unreadable ({exc})")
                continue
            out.append(f"{t.scenario}: {up.get('connections_opened')} connections opened to the mock, "
                       f"{up.get('resent_on_fresh_connection')} requests resent")
    return "; ".join(out)


def verdict(rows: list[Row]) -> list[str]:
    at = {r.scenario: r for r in rows if r.concurrency == VERDICT_CONC}
    if HTTP1 not in at or AIOHTTP not in at or not at[AIOHTTP].result.rps:
        return [f"no verdict: no c={VERDICT_CONC} rows for both gateways"]
    ours, theirs = at[HTTP1], at[AIOHTTP]
    gain = (ours.result.rps / theirs.result.rps - 1) * 100
    lines = [f"http1 vs aiohttp at c={VERDICT_CONC}: {gain:+.1f} % req/s"]
    paired = sorted((a.rps / b.rps - 1) * 100 for a, b in zip(ours.rounds, theirs.rounds, strict=True) if b.rps)
    if paired:  # the two ran one after the other in each round: a slow spell of the machine hits both
        lines.append(f"round by round (http1 vs aiohttp, same round): median {statistics.median(paired):+.1f} %, "
                     f"from {paired[0]:+.1f} % to {paired[-1]:+.1f} % over {len(paired)} rounds")
    ours_cpu, theirs_cpu = cpu_us(ours), cpu_us(theirs)
    if ours_cpu and theirs_cpu:
        lines.append(f"gateway CPU per request at c={VERDICT_CONC}: http1 {ours_cpu:.0f} µs, aiohttp "
                     f"{theirs_cpu:.0f} µs ({(theirs_cpu / ours_cpu - 1) * 100:+.1f} % for aiohttp)")
    lines.append(f"rule: the hand-written client stays if it is at least {KEEP_AT_PCT:g} % faster at "
                 f"c={VERDICT_CONC}: " + ("it is (keep it)" if gain >= KEEP_AT_PCT else
                                          "it is not (the gateway goes to aiohttp)"))
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "node"):
        if shutil.which(tool) is None:
            run.note(f"upstream_ab: `{tool}` is required and was not found on PATH")
            return 2
    pinned = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    cpus = (args.swarm_cpu, args.load_cpu) if pinned else (None, None)
    b = args.base_port
    ports = {"router": b + 3, "gateway": b + 20, "ledger": b + 21, "gateway_aiohttp": b + 22, "floor": b + 50,
             "mock": b + 90}
    busy = [f"{name} :{port}" for name, port in ports.items() if not port_free(port)]
    if busy:
        run.note(f"upstream_ab: ports already in use: {', '.join(busy)} (stop what holds them or pass --base-port)")
        return 2
    root = Path(tempfile.mkdtemp(prefix="tollway-upstream-ab-"))
    procs = Processes(root)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, run.interrupt)
    try:
        run.note(f"upstream_ab: logs in {root}; " + (f"gateways, router, ledger, floor on core {cpus[0]}; mock, wrk, "
                                                    f"stream client on core {cpus[1]}" if pinned else "NOT pinned"))
        targets = start(args, procs, root, cpus, ports)
        run.note(f"upstream_ab: {len(targets)} targets, {args.rounds} rounds of {args.seconds / args.rounds:g} s "
                 "per row, taking turns")
        rows = run.measure(args, targets, cpus[1])
        stream_rows: list[StreamRow] = [] if args.no_stream else run.measure_streams(args, targets, cpus[1])
        counters = upstream_counters(targets)
    except run.SetupFailed as exc:
        run.note(f"upstream_ab: {exc}")
        return 1
    except KeyboardInterrupt:
        run.note("upstream_ab: interrupted; stopping everything it started")
        return 130
    finally:
        procs.stop_all()
        if args.keep:
            run.note(f"upstream_ab: kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nTollway upstream client A/B — {time.strftime('%Y-%m-%d %H:%M')}, {args.rounds} rounds taking turns, "
          f"{args.seconds:g} s per row, {run.versions()}, "
          + ("gateways/router/ledger/floor on core 0, mock+wrk+stream client on core 1" if pinned else "unpinned")
          + "\n")
    print(table(rows))
    print("\nreq/s: everything under test shares one core, so it is req/s per core of the swarm; CPU µs/request "
          "is the serving process's own (gateway or floor), and req/s per core is what one core of it alone "
          "would serve. Overheads are vs the direct call; \"vs floor\" divides the row's req/s, or overhead, by "
          "the floor's. p50/p99: the median of the rounds'.")
    if stream_rows:
        print("\n" + stream_table(stream_rows))
        print(f"\nStreams: {args.stream_chunks} content chunks {args.stream_delay_ms:g} ms apart; TTFT = time to the "
              "first chunk with content; the rounds' streams pooled.")
    print("\n" + counters)
    print("\n" + "\n".join(verdict(rows)))
    if args.json:
        write_json(args.json, rows, stream_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
