"""Gateway overhead benchmark: the same Node mock upstream called directly, through the floor (a
bare uvicorn + Starlette + aiohttp pass-through, floor.py), through the Tollway swarm (router,
ledger, gateway on their own ports) and, where installed, through LiteLLM's proxy, in one run:
plain requests measured with wrk, streams (time to first token and total time) with a small
aiohttp client; printed as two markdown tables. With `--baseline DIR` a second swarm, from another
checkout of Tollway, runs beside the first in the same rounds ("gateway@base"), and a verdict
compares the two gateways' ratios to the floor.

The gateway, the floor and the proxies are pinned to one core; the mock, wrk, the stream client and
the gateway's router and ledger to the other, the router and ledger at a lower scheduling priority
(`--side-nice`, 10). The ratios to the floor, which has its core to itself, then say what the
gateway costs; the ledger's own cost per receipt is scripts/bench/ledger_receipts.py's figure.
`--colocate --side-nice 0` puts the router and ledger on the gateway's core at its priority, as
before 2026-12: the ledger's ingest then takes cycles and cache from the gateway.
Every process this script starts is stopped at the end, also on Ctrl-C. Usage: scripts/bench.sh --help
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import litellm_proxy
import wrkrun
from processes import Processes, answers, cpu_seconds, port_free, wait_until
from report import DIRECT, FLOOR, Row, StreamRow, baseline_verdict, stream_table, table, write_json
from stream_client import merge, run_stream_client, stream_body
from wrkrun import run_wrk

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
MODEL = "bench-model"
BODY = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16},
                  separators=(",", ":"))
PROVIDER = {"name": "bench", "model": MODEL, "context_window": 8192, "input_per_mtok": "1",
            "output_per_mtok": "2"}
BUDGET_RUN = "bench-budget"
BASE = "@base"  # the scenarios of the --baseline swarm: "gateway@base", "gateway + budget@base"
SWARM = ("router", "ledger", "gateway")


class SetupFailed(Exception):
    """A part of the benchmark could not be started; its rows are skipped with this message."""


@dataclass(frozen=True)
class Target:
    scenario: str
    url: str
    run: str = ""
    auth: str = ""
    pid: int | None = None  # the process serving it, whose CPU is measured (None: not measured)


EXAMPLES = """examples:
  scripts/bench.sh                                   # plain rows at 1,16,64, stream rows at 1,16; 10 s each
  scripts/bench.sh --seconds 5 --concurrency 1,64 --no-litellm --no-floor
  scripts/bench.sh --only-stream --seconds 5         # the streaming rows only (no wrk needed)
  LITELLM_BIN=/path/to/venv scripts/bench.sh
  git worktree add /tmp/tollway-base <commit>        # then: this gateway against that one, same rounds
  scripts/bench.sh --baseline /tmp/tollway-base --no-stream --no-litellm --seconds 60 --rounds 6

Stream rows: the mock sends a role chunk at once, then --stream-chunks content chunks
--stream-delay-ms apart (the first one too), a finish chunk, the usage chunk when asked, [DONE].
TTFT is the time to the first `data:` chunk carrying content; "TTFT p50 overhead" is the row's
TTFT p50 minus the direct one at the same concurrency.
"""


def _counts(text: str) -> list[int]:
    return [int(c) for c in text.split(",") if c.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/bench.sh", description=__doc__.split("\n\n")[0], epilog=EXAMPLES,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10, help="length of each measurement (default 10)")
    p.add_argument("--warmup", type=float, default=2, help="warm-up before each measurement (default 2)")
    p.add_argument("--concurrency", default="1,16,64",
                   help="comma-separated connection counts of the plain (wrk) rows (default 1,16,64)")
    p.add_argument("--rounds", type=int, default=1,
                   help="rounds per plain row, the targets taking turns; --seconds is split among them (default 1)")
    p.add_argument("--stream-concurrency", default="1,16",
                   help="comma-separated concurrent streams of the streaming rows (default 1,16)")
    only = p.add_mutually_exclusive_group()
    only.add_argument("--only-stream", action="store_true", help="run the streaming rows only")
    only.add_argument("--no-stream", action="store_true", help="skip the streaming rows")
    p.add_argument("--stream-rounds", type=int, default=4,
                   help="rounds per streaming row, the targets taking turns; --seconds is split among them "
                        "(default 4)")
    p.add_argument("--stream-chunks", type=int, default=5, help="content chunks per streamed answer (default 5)")
    p.add_argument("--stream-delay-ms", type=float, default=2,
                   help="the mock's delay before each content chunk, in ms (default 2)")
    p.add_argument("--base-port", type=int, default=16100,
                   help="router +3, gateway +20, ledger +21, mock +90, litellm +40, floor +50; the --baseline "
                        "swarm's router +4, gateway +22, ledger +23 (default 16100)")
    p.add_argument("--no-gateway", action="store_true", help="measure the direct calls only")
    p.add_argument("--no-floor", action="store_true",
                   help="skip the floor (a bare uvicorn + Starlette + aiohttp pass-through on the swarm's core)")
    p.add_argument("--no-budget", action="store_true", help="skip the budgeted gateway scenario")
    p.add_argument("--no-litellm", action="store_true", help="skip LiteLLM even if installed")
    p.add_argument("--baseline", type=Path, metavar="DIR",
                   help="another checkout of Tollway (e.g. `git worktree add DIR <commit>`): its swarm, run with "
                        "this Python and PYTHONPATH=DIR on the same core, takes turns with this one in every round "
                        f"as gateway{BASE} (and gateway + budget{BASE}); a verdict compares their ratios to the floor")
    p.add_argument("--baseline-database-url", metavar="URL",
                   help="the @base swarm (this checkout unless --baseline DIR) keeps the ledger's and router's "
                        "records in this PostgreSQL (TOLLWAY_DATABASE_URL; e.g. ?search_path=<a schema of its own>): "
                        "the gateway with its ledger on PostgreSQL beside this swarm's on SQLite")
    p.add_argument("--swarm-cpu", default="0", help="core for the swarm and proxies (default 0)")
    p.add_argument("--load-cpu", default="1", help="core for the mock, wrk and the stream client (default 1)")
    p.add_argument("--side-nice", type=int, default=10, metavar="N",
                   help="the router's and ledger's scheduling priority (nice; default 10): the receipts' ingest, "
                        "which a deployment runs on other machines, yields its core to what is measured (0: as "
                        "the gateway)")
    p.add_argument("--colocate", action="store_true",
                   help="the router and ledger on the gateway's core (default: on the load core, so that the gateway, "
                        "like the floor, has its core to itself)")
    p.add_argument("--json", type=Path, help="also write the results to this file")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, receipts)")
    return p.parse_args(argv)


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _test_request(target: Target, body: str | bytes) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if target.run:
        headers["x-tollway-run"] = target.run
    if target.auth:
        headers["authorization"] = f"Bearer {target.auth}"
    return httpx.post(target.url, content=body, headers=headers, timeout=30)


def _post_ok(target: Target) -> None:
    resp = _test_request(target, BODY)
    if resp.status_code != 200:
        raise SetupFailed(f"{target.scenario}: a test request got {resp.status_code}: {resp.text[:300]}")


def _stream_ok(target: Target) -> None:
    resp = _test_request(target, stream_body(BODY))
    if resp.status_code != 200 or "data: [DONE]" not in resp.text:
        raise SetupFailed(f"{target.scenario}: a test stream got {resp.status_code}: {resp.text[-300:]}")


def start_mock(procs: Processes, port: int, cpu: str | None, chunks: int, delay_ms: float) -> str:
    proc = procs.start("mock", ["node", str(HERE / "mock_upstream.js"), str(port), str(chunks), f"{delay_ms:g}"],
                       cpu=cpu)
    url = f"http://127.0.0.1:{port}"
    if not wait_until(lambda: answers(url + "/health"), 10, proc):
        raise SetupFailed(f"the Node mock did not start:\n{procs.tail('mock')}")
    return url


def start_floor(procs: Processes, port: int, cpu: str | None, mock_url: str) -> Target:
    proc = procs.start("floor", [sys.executable, str(HERE / "floor.py"), str(port), mock_url], cpu=cpu)
    url = f"http://127.0.0.1:{port}"
    if not wait_until(lambda: answers(url + "/health"), 20, proc):
        raise SetupFailed(f"the floor did not come up on :{port}; last log lines:\n{procs.tail('floor')}")
    return Target(FLOOR, url + "/v1/chat/completions", pid=proc.pid)


def swarm_env(root: Path, urls: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of the swarm's services: state under `root`, each other's addresses, quiet logs."""
    return {**os.environ, "TOLLWAY_ARTIFACTS_DIR": str(root / "artifacts"), "TOLLWAY_ROUTER_URL": urls["router"],
            "TOLLWAY_LEDGER_URL": urls["ledger"], "TOLLWAY_ACCESS_LOG": "false", "TOLLWAY_LOG_LEVEL": "warning",
            **extra}


def start_service(procs: Processes, name: str, svc: str, port: int, cpu: str | None, env: dict[str, str],
                  repo: Path = REPO, nice: int = 0) -> int:
    """One Tollway service (from the checkout `repo`) on `port`, as process `name`, at scheduling
    priority `nice`, up and answering /health; its pid."""
    argv = [sys.executable, "-m", "services.cli.main", "serve", svc, "--port", str(port)]
    proc = procs.start(name, ["nice", "-n", str(nice), *argv] if nice else argv, cpu=cpu, env=env, cwd=repo)
    if not wait_until(lambda: answers(f"http://127.0.0.1:{port}/health"), 30, proc):
        raise SetupFailed(f"the {name} did not come up on :{port}; last log lines:\n{procs.tail(name)}")
    return proc.pid


def start_swarm(procs: Processes, ports: dict[str, int], cpu: str | None, root: Path, repo: Path = REPO,
                label: str = "", side_cpu: str | None = None, side_nice: int = 0,
                **extra_env: str) -> tuple[dict[str, str], int]:
    """Router, ledger and gateway from the checkout `repo` (another than this one: on PYTHONPATH, as
    scripts/bench/outcomes.py runs its baseline), processes named `svc + label`; their addresses
    and the gateway's pid. The gateway on `cpu`, the router and ledger on `side_cpu` (default `cpu`)
    at scheduling priority `side_nice`."""
    urls = {svc: f"http://127.0.0.1:{port}" for svc, port in ports.items()}
    if repo != REPO:
        extra_env = {"PYTHONPATH": str(repo), **extra_env}
    env = swarm_env(root, urls, **{f"TOLLWAY_{svc.upper()}_PORT": str(port) for svc, port in ports.items()},
                    **extra_env)
    side = cpu if side_cpu is None else side_cpu
    pids = {svc: start_service(procs, svc + label, svc, ports[svc], cpu if svc == "gateway" else side, env, repo,
                               0 if svc == "gateway" else side_nice) for svc in SWARM}
    return urls, pids["gateway"]


def register_and_wait(urls: dict[str, str], mock_url: str, gateways: list[str] | None = None) -> None:
    """The mock registered at the router, and listed by every gateway (default: the swarm's)."""
    resp = httpx.post(urls["router"] + "/register", json={**PROVIDER, "endpoint": mock_url}, timeout=10)
    if resp.status_code not in (200, 201):
        raise SetupFailed(f"POST /register answered {resp.status_code}: {resp.text[:300]}")
    for gateway in gateways or [urls["gateway"]]:

        def listed(gateway: str = gateway) -> bool:
            data = httpx.get(gateway + "/v1/models", timeout=2).json()["data"]
            return any(m.get("id") == MODEL for m in data)

        if not wait_until(listed, 20):
            raise SetupFailed(f"the gateway at {gateway} never listed {MODEL} in GET /v1/models")


def add_budget(urls: dict[str, str]) -> None:
    resp = httpx.post(urls["ledger"] + "/budget", json={"run_id": BUDGET_RUN, "budget_usd": "1000000"}, timeout=10)
    if resp.status_code not in (200, 201):
        raise SetupFailed(f"POST /budget answered {resp.status_code}: {resp.text[:300]}")

    def gateway_knows() -> bool:
        snap = httpx.get(urls["ledger"] + "/budgets/snapshot", timeout=2).json()
        health = httpx.get(urls["gateway"] + "/health", timeout=2).json()
        return BUDGET_RUN in snap["run_ids"] and health["budgets"]["version"] >= snap["version"]

    if not wait_until(gateway_knows, 10):
        note("  (could not confirm the gateway learned the budget; waiting 2 s instead)")
        time.sleep(2)


def start_litellm(procs: Processes, binary: str, port: int, cpu: str | None, root: Path, mock_url: str) -> str:
    config = litellm_proxy.write_config(root, mock_url, MODEL)
    env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False"}
    proc = procs.start("litellm", litellm_proxy.argv(binary, config, port), cpu=cpu, env=env, cwd=root)
    url = f"http://127.0.0.1:{port}"
    if not wait_until(lambda: answers(url + "/health/liveliness", 2), 120, proc, interval_s=0.5):
        raise SetupFailed(f"LiteLLM did not come up on :{port}; last log lines:\n{procs.tail('litellm')}")
    return url


def check(args: argparse.Namespace, target: Target) -> None:
    """A test request of each kind the run will measure."""
    if not args.only_stream:
        _post_ok(target)
    if not args.no_stream:
        _stream_ok(target)


def gateway_targets(args: argparse.Namespace, procs: Processes, root: Path, cpus: tuple[str | None, str | None],
                    ports: dict[str, int], mock_url: str, repo: Path = REPO, label: str = "") -> list[Target]:
    """A swarm from `repo` on `ports[svc + label]`: its gateway and, unless --no-budget, its gateway
    under a budget, as scenarios named "gateway" and "gateway + budget" followed by `label`."""
    database = {"TOLLWAY_DATABASE_URL": args.baseline_database_url} if label == BASE and args.baseline_database_url \
        else {}
    swarm_cpu, load_cpu = cpus
    urls, pid = start_swarm(procs, {svc: ports[svc + label] for svc in SWARM}, swarm_cpu, root, repo, label,
                            side_cpu=swarm_cpu if args.colocate else load_cpu, side_nice=args.side_nice, **database)
    register_and_wait(urls, mock_url)
    gateway = Target("gateway" + label, urls["gateway"] + "/v1/chat/completions", run="bench", pid=pid)
    check(args, gateway)
    if args.no_budget:
        return [gateway]
    add_budget(urls)
    budgeted = Target("gateway + budget" + label, gateway.url, run=BUDGET_RUN, pid=pid)
    check(args, budgeted)
    return [gateway, budgeted]


def turns(targets: list[Target], round_no: int) -> list[Target]:
    """The order in which the targets take turns in a round: as listed, but each baseline scenario
    beside its twin (gateway, gateway@base), the twin first in odd rounds, so that neither always
    runs in the other's wake (the receipts and lease work a run leaves to its swarm)."""
    names = {t.scenario for t in targets}
    order: list[Target] = []
    for t in targets:
        if t.scenario.endswith(BASE) and t.scenario.removesuffix(BASE) in names:
            continue  # it runs beside its twin
        twin = [b for b in targets if b.scenario == t.scenario + BASE]
        order += [t, *twin] if round_no % 2 == 0 else [*twin, t]
    return order


def targets_for(args: argparse.Namespace, procs: Processes, root: Path, cpus: tuple[str | None, str | None],
                ports: dict[str, int]) -> list[Target]:
    swarm_cpu, load_cpu = cpus
    mock_url = start_mock(procs, ports["mock"], load_cpu, args.stream_chunks, args.stream_delay_ms)
    targets = [Target(DIRECT, mock_url + "/v1/chat/completions")]
    if args.no_floor:
        note("floor: skipped (--no-floor)")
    else:
        try:
            floor = start_floor(procs, ports["floor"], swarm_cpu, mock_url)
            check(args, floor)
            targets.append(floor)
        except (SetupFailed, httpx.HTTPError) as exc:
            note(f"floor: FAILED, its rows are skipped: {exc}")
    swarms = [] if args.no_gateway else [(REPO, "", root)]
    if args.no_gateway:
        note("gateway: skipped (--no-gateway)")
    elif args.baseline or args.baseline_database_url:  # its own receipts and state
        swarms.append(((args.baseline or REPO).resolve(), BASE, root / "baseline"))
    for repo, label, state in swarms:
        try:
            targets += gateway_targets(args, procs, state, cpus, ports, mock_url, repo, label)
        except (SetupFailed, httpx.HTTPError) as exc:
            note(f"gateway{label} ({repo}): FAILED, its rows are skipped: {exc}")
    binary = None if args.no_litellm else litellm_proxy.find_litellm()
    if binary is None:
        note("litellm: skipped (" + ("--no-litellm" if args.no_litellm else
                                     "no `litellm` on PATH and LITELLM_BIN not set") + ")")
    else:
        try:
            url = start_litellm(procs, binary, ports["litellm"], swarm_cpu, root, mock_url)
            proxy = Target("litellm proxy", url + "/v1/chat/completions", auth=litellm_proxy.MASTER_KEY)
            check(args, proxy)
            targets.append(proxy)
        except (SetupFailed, httpx.HTTPError) as exc:
            note(f"litellm: FAILED, its rows are skipped: {exc}")
    return turns(targets, 0)


RoundCpu = dict[str, list[float]]  # by scenario, the CPU its process used in each round


def _runs(args: argparse.Namespace, counts: str, targets: list[Target], load_cpu: str | None,
          runner: Callable[..., Any], rounds: int = 1) -> Iterator[tuple[int, dict[str, list[Any]], RoundCpu]]:
    """Each concurrency in `rounds` rounds in which the targets take turns with `runner` (wrk or
    the stream client), `--seconds` split among the rounds, a warm-up before a target's first run;
    the results of each target's rounds, and the CPU its process used in each, by scenario."""
    for conns in _counts(counts):
        results: dict[str, list[Any]] = {t.scenario: [] for t in targets}
        cpu: RoundCpu = {t.scenario: [] for t in targets}
        for round_no in range(rounds):
            for t in turns(targets, round_no):
                options = {"cpu": load_cpu, "body": BODY, "run": t.run, "auth": t.auth}
                if round_no == 0 and args.warmup > 0:
                    runner(t.url, conns, args.warmup, **options)
                before = cpu_seconds(t.pid) if t.pid else 0.0
                results[t.scenario].append(runner(t.url, conns, args.seconds / rounds, **options))
                cpu[t.scenario].append(cpu_seconds(t.pid) - before if t.pid else 0.0)
        yield conns, results, cpu


def measure(args: argparse.Namespace, targets: list[Target], load_cpu: str | None) -> list[Row]:
    """Each plain row in `--rounds` rounds, the targets taking turns, a target's rounds pooled."""
    rows: list[Row] = []
    for conns, results, cpu in _runs(args, args.concurrency, targets, load_cpu, run_wrk,
                                     rounds=max(1, args.rounds)):
        note(f"  c={conns}: measured; load average {load_average()}")
        for t in targets:
            result = wrkrun.merge(results[t.scenario])
            note(f"  {t.scenario:<18} c={conns:<3} {result.rps:>9,.0f} req/s  p50 {result.p50_ms:.2f} ms  "
                 f"p99 {result.p99_ms:.2f} ms  errors {result.errors}"
                 + (f"  rounds {' '.join(f'{r.rps:,.0f}' for r in results[t.scenario])}" if args.rounds > 1 else ""))
            rows.append(Row(t.scenario, conns, result, sum(cpu[t.scenario]) if t.pid else None,
                            tuple(results[t.scenario]), tuple(cpu[t.scenario]) if t.pid else ()))
    return rows


def measure_streams(args: argparse.Namespace, targets: list[Target], load_cpu: str | None) -> list[StreamRow]:
    """Each concurrency in `--stream-rounds` rounds, the targets taking turns within each round, the
    streams of a target's rounds pooled: a machine that slows down for a while slows every target,
    not whichever happened to run then (time to first token is a difference of a millisecond)."""
    rows: list[StreamRow] = []
    for conns, results, cpu in _runs(args, args.stream_concurrency, targets, load_cpu, run_stream_client,
                                     rounds=max(1, args.stream_rounds)):
        for t in targets:
            result = merge(results[t.scenario])
            note(f"  {t.scenario + ' stream':<25} c={conns:<3} {result.rps:>7,.0f} streams/s  "
                 f"TTFT p50 {result.ttft_p50_ms:.2f} ms p99 {result.ttft_p99_ms:.2f} ms  "
                 f"total p50 {result.total_p50_ms:.2f} ms  errors {result.errors}"
                 + (f" (first: {result.first_error})" if result.first_error else ""))
            rows.append(StreamRow(t.scenario, conns, result, sum(cpu[t.scenario]) if t.pid else None))
    return rows


def budget_summary(ports: dict[str, int], label: str = "") -> str:
    """Proof that the budgeted rows reserved against a budget: spend at the ledger, lease grows."""
    time.sleep(1.0)  # the last receipts ship
    try:
        status = httpx.get(f"http://127.0.0.1:{ports['ledger' + label]}/budget/{BUDGET_RUN}", timeout=5).json()
        health = httpx.get(f"http://127.0.0.1:{ports['gateway' + label]}/health", timeout=5).json()
    except (httpx.HTTPError, ValueError) as exc:
        return f"budget{label}: could not read the ledger or gateway: {exc}"
    budgets = health.get("budgets", {})
    lag = health.get("event_loop_lag", {})
    upstream = health.get("upstream", {})
    full = health.get("gc_pauses", {}).get("gen2", {})
    return (f"budget {BUDGET_RUN}{label}: spent ${status.get('spent_usd')} held ${status.get('held_usd')} "
            f"of ${status.get('budget_usd')}; {budgets.get('lease_grows')} lease grows at the ledger\n"
            f"gateway{label}: event loop late by at worst {lag.get('worst_since_start_ms')} ms during the run; "
            f"{full.get('collections')} full garbage collections, the longest {full.get('longest_ms')} ms; "
            f"{upstream.get('connections_opened')} connections opened to the mock")


def versions() -> str:
    def first_line(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "?"

    return (f"python {platform.python_version()}, node {first_line(['node', '--version'])}, "
            f"{first_line(['wrk', '--version']).split(' Copyright')[0]}, {os.cpu_count()} cores")


def machine_ticks() -> tuple[int, int]:
    """The machine's CPU time so far, all of it and the part stolen by the host (a virtual machine
    whose host runs other work: the run's figures are then slowed unevenly), in clock ticks."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields), fields[7]


def steal_pct(start: tuple[int, int], end: tuple[int, int]) -> str:
    total = end[0] - start[0]
    return f"{100 * (end[1] - start[1]) / total:.1f} %" if total > 0 else "unknown"


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes (other work on it skews the figures)."""
    return " / ".join(f"{load:.2f}" for load in os.getloadavg())


def placement(args: argparse.Namespace, cpus: tuple[str | None, str | None]) -> str:
    swarm_cpu, load_cpu = cpus
    side = "router and ledger " + ("beside it" if args.colocate else f"on core {load_cpu}") + (
        f" at nice {args.side_nice}" if args.side_nice else "")
    return (f"gateway, floor and proxies on core {swarm_cpu} ({side}), mock, wrk and stream client on core "
            f"{load_cpu}")


def interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("node",) if args.only_stream else ("wrk", "node"):
        if shutil.which(tool) is None:
            note(f"bench: `{tool}` is required and was not found on PATH")
            return 2
    pinned = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    cpus = (args.swarm_cpu, args.load_cpu) if pinned else (None, None)
    b = args.base_port
    ports = {"router": b + 3, "gateway": b + 20, "ledger": b + 21, "mock": b + 90, "litellm": b + 40, "floor": b + 50}
    if args.baseline and not (args.baseline / "services" / "cli" / "main.py").is_file():
        note(f"bench: --baseline {args.baseline} is no checkout of Tollway (no services/cli/main.py)")
        return 2
    if args.baseline or args.baseline_database_url:
        ports |= {"router" + BASE: b + 4, "gateway" + BASE: b + 22, "ledger" + BASE: b + 23}
    busy = [f"{name} :{port}" for name, port in ports.items() if not port_free(port)]
    if busy:
        note(f"bench: ports already in use: {', '.join(busy)} (stop what holds them or pass --base-port)")
        return 2
    root = Path(tempfile.mkdtemp(prefix="tollway-bench-"))
    procs = Processes(root)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)  # also when started in the background with SIGINT ignored
    try:
        note(f"bench: logs and receipts in {root}; "
             + (placement(args, cpus) if pinned
                else "NOT pinned (taskset missing or one core)"))
        targets = targets_for(args, procs, root, cpus, ports)
        note(f"bench: {len(targets)} scenario(s), {args.seconds:g} s each after {args.warmup:g} s warm-up")
        loads, ticks = [load_average()], machine_ticks()
        rows = [] if args.only_stream else measure(args, targets, cpus[1])
        stream_rows = [] if args.no_stream else measure_streams(args, targets, cpus[1])
        loads.append(load_average())
        stolen = steal_pct(ticks, machine_ticks())
        for label in ("", BASE):
            if any(t.scenario == "gateway + budget" + label for t in targets):
                note(budget_summary(ports, label))
    except SetupFailed as exc:
        note(f"bench: {exc}")
        return 1
    except KeyboardInterrupt:
        note("bench: interrupted; stopping everything it started")
        return 130
    finally:
        procs.stop_all()
        if args.keep:
            note(f"bench: kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"\nTollway gateway overhead — {time.strftime('%Y-%m-%d %H:%M')}, wrk -t1, {args.seconds:g} s per row, "
          f"{versions()}, " + (placement(args, cpus) if pinned else "unpinned")
          + f"; load average (1 / 5 / 15 min) {loads[0]} at the start, {loads[1]} at the end; CPU time stolen by "
          f"the host during the run {stolen}" + (f"; @base = {args.baseline.resolve()}" if args.baseline else "")
          + ("; @base's ledger and router on PostgreSQL" if args.baseline_database_url else "") + "\n")
    if rows:
        print(table(rows))
        print("\np50 overhead = p50 − direct p50 at the same concurrency; req/s vs direct = throughput ratio; "
              "vs floor = the row's req/s, or overhead, over the floor's (a bare uvicorn + Starlette + aiohttp "
              "pass-through on the same core, same run); CPU = the serving process's, per request, and the "
              "req/s one core of it would serve.")
    if (args.baseline or args.baseline_database_url) and rows:
        print("\n" + "\n".join(baseline_verdict(rows, BASE)))
    if stream_rows:
        print(("\n" if rows else "") + stream_table(stream_rows))
        print(f"\nStreams: {args.stream_chunks} content chunks {args.stream_delay_ms:g} ms apart; TTFT = time to the "
              "first chunk with content; TTFT p50 overhead = TTFT p50 − direct TTFT p50 at the same concurrency; "
              f"each row pools {max(1, args.stream_rounds)} rounds in which the targets took turns.")
    if args.json:
        write_json(args.json, rows, stream_rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
