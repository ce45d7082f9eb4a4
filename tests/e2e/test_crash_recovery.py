"""Crash recovery under load: the swarm started by scripts/start_services.sh, steady plain and streamed
traffic on a budgeted run, and the gateway, then the ledger, then the router killed with SIGKILL and
restarted while the load goes on. Afterwards every answer a client saw succeed has exactly one receipt
on disk and one in the ledger, nothing is counted twice, and the ledger's spend equals the receipts'
sum to the microdollar without passing the budget.

A killed service is brought back with start_services.sh when it can; the script refuses while any
service it starts is still running (it checks router, ledger, simulator, gateway in that order and stops
at the first live one), so a killed gateway or ledger is started the way the script starts it, with its
pid file, and stop_services.sh stops everything at the end.

The swarm runs on its own fixed ports (the default ports + 20000, below the ephemeral range that the
other e2e tests draw their ports from) and in the test's own artifacts directory.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
# default ports (simulator 8100, router 6103, gateway 6120, ledger 6121) moved up by these offsets;
# the first range whose four ports are all free is used
OFFSETS = (20000, 20100, 20200, 20300)
DEFAULT_PORTS = {"simulator": 8100, "router": 6103, "gateway": 6120, "ledger": 6121}
MODEL = "crash-model"
RUN = "crash-run"
BUDGET = Decimal("5")
CLIENTS = 8
WARM_S = 3.0  # load before the first kill
OUTAGE_S = 1.0  # a killed service stays down at least this long under load
STEADY_S = 3.0  # load after a service is back, before the next kill


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_ports() -> dict[str, int]:
    for offset in OFFSETS:
        ports = {svc: port + offset for svc, port in DEFAULT_PORTS.items()}
        if all(_port_free(p) for p in ports.values()):
            return ports
    pytest.fail(f"no free port range at the default ports + {OFFSETS}")


def _state(pid: int) -> str:
    """The process's state letter (Z: a zombie, dead but not yet reaped), or '' when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[0]


def _dead(pid: int) -> bool:
    return _state(pid) in ("", "Z")


@dataclass
class ScriptSwarm:
    """The swarm as scripts/start_services.sh and scripts/stop_services.sh run it."""

    artifacts: Path
    ports: dict[str, int]
    admin_key: str
    restarts: list[str] = field(default_factory=list)  # how each killed service came back

    @property
    def admin(self) -> dict[str, str]:
        return {"x-admin-key": self.admin_key}

    def url(self, svc: str) -> str:
        return f"http://127.0.0.1:{self.ports[svc]}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            # the venv's `tollway` first on PATH, so the scripts run it (and not a system python3)
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
            # and the services of this checkout, whatever copy of Tollway the venv has installed
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
            "TOLLWAY_ARTIFACTS_DIR": str(self.artifacts),
            "TOLLWAY_ADMIN_KEY": self.admin_key,
            "TOLLWAY_ROUTER_URL": self.url("router"),
            "TOLLWAY_LEDGER_URL": self.url("ledger"),
            "TOLLWAY_SHIP_INTERVAL_S": "0.1",
            "TOLLWAY_LEDGER_TIMEOUT_S": "2",
            "TOLLWAY_SNAPSHOT_WAIT_S": "5",
            "TOLLWAY_UPSTREAM_CONNECT_TIMEOUT_S": "2",
            "TOLLWAY_UPSTREAM_READ_TIMEOUT_S": "5",
        })
        env.pop("TOLLWAY_NO_SIMULATOR", None)
        env.update({f"TOLLWAY_{svc.upper()}_PORT": str(port) for svc, port in self.ports.items()})
        return env

    def script(self, name: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(SCRIPTS / name)], env=self.env(), cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def pidfile(self, svc: str) -> Path:
        return self.artifacts / "run" / f"{svc}.pid"

    def healthy(self, svc: str) -> bool:
        try:
            return httpx.get(self.url(svc) + "/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        done = self.script("start_services.sh", timeout=100)
        assert done.returncode == 0, f"start_services.sh failed ({done.returncode}): {done.stderr}{done.stdout}"
        for svc in self.ports:
            assert self.healthy(svc), f"{svc} not healthy after start_services.sh"

    def stop(self) -> subprocess.CompletedProcess[str]:
        return self.script("stop_services.sh", timeout=60)

    def kill9(self, svc: str) -> int:
        pid = int(self.pidfile(svc).read_text())
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: _dead(pid), 10, f"{svc} (pid {pid}) dying of SIGKILL")
        wait_until(lambda: not self.healthy(svc), 5, f"{svc}'s port closing")
        # start_services.sh takes a pid that `kill -0` reaches for a running service, and so does a
        # zombie: wait (bounded) for whoever adopted the script's children to reap it
        try:
            wait_until(lambda: _state(pid) == "", 10, f"{svc} (pid {pid}) reaped")
        except AssertionError as exc:
            print(f"{exc}; going on with a zombie")
        return pid

    def restart(self, svc: str) -> str:
        """Bring `svc` back with start_services.sh, which should start only what is missing; when it
        does not (it refuses while other services run), start it as the script does. Says how."""
        done = self.script("start_services.sh", timeout=60)
        if done.returncode == 0 and self.healthy(svc):
            how = "start_services.sh"
        elif self.healthy(svc):  # the script started it, then refused at a service still running
            how = f"start_services.sh (exit {done.returncode}: {done.stderr.strip()!r})"
        else:
            self._start_directly(svc)
            how = f"directly; start_services.sh exit {done.returncode}: {done.stderr.strip()!r}"
        self.restarts.append(f"{svc}: {how}")
        print(f"restarted {svc} {how}")
        return how

    def _start_directly(self, svc: str) -> None:
        """start_services.sh's own line for one service: nohup'd, log appended, pid file written (so
        stop_services.sh stops it), and reparented away from the test once the shell exits."""
        log = self.artifacts / "logs" / f"{svc}.log"
        subprocess.run(["bash", "-c", 'nohup tollway serve "$1" --port "$2" >>"$3" 2>&1 </dev/null & echo $! >"$4"',
                        "start", svc, str(self.ports[svc]), str(log), str(self.pidfile(svc))],
                       env=self.env(), cwd=ROOT, check=True, timeout=10)
        pid = int(self.pidfile(svc).read_text())

        def up() -> bool:
            if _dead(pid):
                raise AssertionError(f"{svc} exited during start: {log.read_text(errors='replace')[-2000:]}")
            return self.healthy(svc)

        wait_until(up, 30, f"{svc} answering /health after a direct start")


@dataclass
class Outcome:
    rid: str  # the client's X-Request-ID
    stream: bool
    ok: bool  # 200 and, for a stream, its [DONE] with no error event
    status: int | None
    header_rid: str | None  # the response's x-request-id
    ended: float
    error: str = ""


class Load:
    """`CLIENTS` threads sending plain and streamed chat completions on RUN until stopped."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._tag = secrets.token_hex(4)
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(CLIENTS)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> bool:
        """Stops the clients; True when every one has ended."""
        self._stop.set()
        for t in self._threads:
            t.join(20)
        return not any(t.is_alive() for t in self._threads)

    def successes_since(self, since: float) -> int:
        return sum(1 for o in list(self.outcomes) if o.ok and o.ended > since)

    def _client(self, n: int) -> None:
        with httpx.Client(timeout=httpx.Timeout(10, connect=2)) as http:
            i = 0
            while not self._stop.is_set():
                rid = f"crash-{self._tag}-{n}-{i}"
                outcome = self._one(http, rid, stream=(n + i) % 2 == 1, agent=f"client-{n}")
                self.outcomes.append(outcome)
                if not outcome.ok:
                    time.sleep(0.05)  # an outage: do not spin
                i += 1

    def _one(self, http: httpx.Client, rid: str, *, stream: bool, agent: str) -> Outcome:
        body = {"model": MODEL, "max_tokens": 8, "stream": stream,
                "messages": [{"role": "user", "content": f"crash recovery {rid}"}]}
        headers = {"X-Request-ID": rid, "X-Tollway-Run": RUN, "X-Tollway-Agent": agent}
        status = header_rid = None
        try:
            with http.stream("POST", self.gateway + "/v1/chat/completions", json=body, headers=headers) as resp:
                status, header_rid = resp.status_code, resp.headers.get("x-request-id")
                if status != 200:
                    resp.read()
                    return Outcome(rid, stream, False, status, header_rid, time.monotonic(), resp.text[:200])
                if not stream:
                    resp.read()
                    ok = bool(resp.json().get("choices"))
                    return Outcome(rid, stream, ok, status, header_rid, time.monotonic())
                done = errored = False
                for line in resp.iter_lines():
                    if line.strip() == "data: [DONE]":
                        done = True
                    elif line.startswith("data:") and '"error"' in line:
                        errored = True
                return Outcome(rid, stream, done and not errored, status, header_rid, time.monotonic(),
                               "" if done else "stream ended without [DONE]")
        except (httpx.HTTPError, ValueError) as exc:
            return Outcome(rid, stream, False, status, header_rid, time.monotonic(), repr(exc)[:200])


def _disk_receipts(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """The run's receipts, and its torn or unreadable lines."""
    if not path.exists():
        return [], []
    data = path.read_bytes()
    torn: list[str] = []
    if data and not data.endswith(b"\n"):
        torn.append(f"file does not end with a newline: {data[-200:]!r}")
    receipts = []
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            receipt = json.loads(line, parse_float=Decimal)
        except ValueError:
            torn.append(repr(line[:200]))
            continue
        if isinstance(receipt, dict):
            receipts.append(receipt)
        else:
            torn.append(repr(line[:200]))
    return receipts, torn


def _usd(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _ledger_get(http: httpx.Client, url: str, **params: Any) -> Any:
    resp = http.get(url, params=params)
    assert resp.status_code == 200, f"GET {url}: {resp.status_code} {resp.text[:300]}"
    return json.loads(resp.text, parse_float=Decimal)


def _ledger_receipts(http: httpx.Client, ledger: str) -> tuple[int, Decimal, list[dict[str, Any]]]:
    """Every receipt of RUN in the ledger (paged), with the book's count and total; checks the shape."""
    url, got = f"{ledger}/receipts/{RUN}", []
    while True:
        page = _ledger_get(http, url, limit=1000, offset=len(got))
        assert isinstance(page, dict) and {"run_id", "count", "total_cost_usd", "receipts"} <= page.keys(), page
        assert page["run_id"] == RUN and isinstance(page["count"], int) and isinstance(page["receipts"], list), page
        got.extend(page["receipts"])
        if not page["receipts"] or len(got) >= page["count"]:
            return page["count"], _usd(page["total_cost_usd"]), got


def _ids(receipt: dict[str, Any]) -> set[str]:
    """The ids a receipt answers to: its request_id and, when it has one, its client_request_id."""
    return {v for v in (receipt.get("request_id"), receipt.get("client_request_id")) if isinstance(v, str)}


def _index(receipts: list[dict[str, Any]]) -> dict[str, set[int]]:
    index: dict[str, set[int]] = {}
    for i, r in enumerate(receipts):
        for rid in _ids(r):
            index.setdefault(rid, set()).add(i)
    return index


def _matches(index: dict[str, set[int]], o: Outcome) -> set[int]:
    """The receipts of one request, whether they carry the client's id or the id the gateway answered with."""
    found: set[int] = set()
    for rid in {o.rid, o.header_rid} - {None}:
        found |= index.get(rid, set())  # type: ignore[arg-type]
    return found


def _repeated(receipts: list[dict[str, Any]], key: str) -> dict[str, int]:
    counts = Counter(r[key] for r in receipts if isinstance(r.get(key), str))
    return {k: n for k, n in counts.items() if n > 1}


@pytest.mark.timeout(400)  # three kills and restarts: about 70 s quiet, past 120 s on a loaded machine
def test_killed_gateway_ledger_and_router_lose_and_double_count_nothing_under_load(tmp_path):
    began = time.monotonic()
    swarm = ScriptSwarm(tmp_path / "artifacts", _free_ports(), admin_key="adm-" + secrets.token_hex(8))
    load: Load | None = None
    http = httpx.Client(timeout=10, headers=swarm.admin)
    try:
        swarm.start()
        resp = http.post(swarm.url("router") + "/register", json={
            "name": "crash-sim", "model": MODEL, "context_window": 4096,
            "input_per_mtok": "7.5", "output_per_mtok": "22.5",
            "endpoint": swarm.url("simulator") + "/sim/latency_ms=5,tokens=8,tps=800"})
        assert resp.status_code in (200, 201), resp.text
        resp = http.post(swarm.url("ledger") + "/budget", json={"run_id": RUN, "budget_usd": str(BUDGET)})
        assert resp.status_code in (200, 201), resp.text

        def gateway_ready() -> bool:
            models = http.get(swarm.url("gateway") + "/v1/models").json()["data"]
            snap = http.get(swarm.url("ledger") + "/budgets/snapshot").json()
            version = http.get(swarm.url("gateway") + "/health").json()["budgets"]["version"]
            return any(m["id"] == MODEL for m in models) and RUN in snap["run_ids"] and version >= snap["version"]

        wait_until(gateway_ready, 10, "the gateway learning the model and the run's budget")

        load = Load(swarm.url("gateway"))
        load.start()
        wait_until(lambda: load.successes_since(0) >= 20, 15, "20 successes before the first kill")
        time.sleep(WARM_S)
        for svc in ("gateway", "ledger", "router"):
            killed = time.monotonic()
            pid = swarm.kill9(svc)
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - killed)))
            swarm.restart(svc)
            back = time.monotonic()
            recovered = wait_until(lambda since=back: load.successes_since(since) >= 10, 20,
                                   f"10 successes after the {svc} came back")
            print(f"{svc} (pid {pid}) killed with SIGKILL: down {back - killed:.1f}s, "
                  f"10 successes {recovered:.1f}s after its restart")
            time.sleep(STEADY_S)
        assert load.stop(), "a load client did not stop"
        load_ended = time.monotonic()

        costs = swarm.artifacts / "costs" / f"{RUN}.jsonl"

        def ledger_has_everything() -> bool:
            disk, _ = _disk_receipts(costs)
            count = _ledger_get(http, f"{swarm.url('ledger')}/receipts/{RUN}", limit=1)["count"]
            backlog = http.get(swarm.url("gateway") + "/health").json()["receipts"]["backlog_files"]
            return count == len(disk) and backlog == 0

        try:
            wait_until(ledger_has_everything, 30, "the ledger receiving every receipt on disk")
        except AssertionError as exc:
            print(exc)  # the checks below say what is missing
        settled_s = time.monotonic() - load_ended

        outcomes = load.outcomes
        successes = [o for o in outcomes if o.ok]
        disk, torn = _disk_receipts(costs)
        ledger_count, ledger_total, booked = _ledger_receipts(http, swarm.url("ledger"))
        budget = _ledger_get(http, f"{swarm.url('ledger')}/budget/{RUN}")
        spent, budget_usd = _usd(budget["spent_usd"]), _usd(budget["budget_usd"])
        disk_sum = sum((_usd(r["cost_usd"]) for r in disk), Decimal(0))
        rejected = swarm.artifacts / "gateway" / "rejected.jsonl"
        figures = (f"sent={len(outcomes)} (streams {sum(o.stream for o in outcomes)}) successes={len(successes)} "
                   f"(streams {sum(o.stream for o in successes)}) disk_receipts={len(disk)} "
                   f"ledger_receipts={len(booked)} (count {ledger_count}) spent={spent} disk_sum={disk_sum} "
                   f"ledger_total={ledger_total} budget={budget_usd} settled_in={settled_s:.1f}s "
                   f"restarts={swarm.restarts}")
        print(figures)
        failures = Counter(o.error.split("(")[0][:60] or f"status {o.status}" for o in outcomes if not o.ok)
        print(f"failed requests by cause: {dict(failures)}")

        assert len(successes) >= 100, f"too little load got through: {figures}"
        # a service down is a 503 or a refused connection, never the gateway's own 500
        internal = [o.error[:200] for o in outcomes if not o.ok and "internal_error" in o.error]
        assert not internal, f"{len(internal)} requests got a 500 while a service was down: {internal[:3]}"
        assert not torn, f"torn lines in {costs.name}: {torn[:5]}; {figures}"
        assert not (rejected.exists() and rejected.read_bytes().strip()), \
            f"receipts set aside by the shipper: {rejected.read_text()[:1000]}; {figures}"
        for r in booked:
            assert isinstance(r, dict) and r.get("run_id") == RUN and isinstance(r.get("request_id"), str) \
                and "cost_usd" in r, f"a ledger receipt of the wrong shape: {r}; {figures}"
        assert all(r.get("run_id") == RUN for r in disk), figures

        on_disk, in_ledger = _index(disk), _index(booked)
        not_once_disk = {o.rid: len(_matches(on_disk, o)) for o in successes if len(_matches(on_disk, o)) != 1}
        assert not not_once_disk, \
            f"{len(not_once_disk)} successes without exactly one receipt on disk (id: count) " \
            f"{dict(list(not_once_disk.items())[:10])}; {figures}"
        not_once_ledger = {o.rid: len(_matches(in_ledger, o)) for o in successes if len(_matches(in_ledger, o)) != 1}
        assert not not_once_ledger, \
            f"{len(not_once_ledger)} successes without exactly one receipt in the ledger (id: count) " \
            f"{dict(list(not_once_ledger.items())[:10])}; {figures}"
        not_success = [(o.rid, disk[i].get("status")) for o in successes for i in _matches(on_disk, o)
                       if disk[i].get("status") != "success"]
        assert not not_success, f"answers the client saw succeed, receipted otherwise: {not_success[:10]}; {figures}"

        for key in ("request_id", "client_request_id"):
            assert not _repeated(disk, key), f"{key}s twice on disk: {_repeated(disk, key)}; {figures}"
            assert not _repeated(booked, key), f"{key}s twice in the ledger: {_repeated(booked, key)}; {figures}"
        assert ledger_count == len(booked) == len(disk), f"ledger and disk disagree on the count: {figures}"
        assert {r["request_id"] for r in booked} == {r["request_id"] for r in disk}, \
            f"ledger and disk hold different receipts: {figures}"

        assert spent == disk_sum, f"ledger spent != sum of the receipts on disk: {figures}"
        assert ledger_total == disk_sum, f"ledger total_cost_usd != sum of the receipts on disk: {figures}"
        assert spent == spent.quantize(Decimal("0.000001")), f"spent is not in whole microdollars: {figures}"
        assert Decimal(0) < spent <= budget_usd, f"spent outside (0, budget]: {figures}"
    finally:
        if load is not None:
            load.stop()  # idempotent: stops what an assertion above left running
        http.close()
        stopped = swarm.stop()
        print(stopped.stdout + stopped.stderr)
        print(f"wall time {time.monotonic() - began:.1f}s; artifacts in {swarm.artifacts}")
