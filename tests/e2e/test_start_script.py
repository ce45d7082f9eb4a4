"""scripts/start_services.sh starts whole or not at all, and scripts/stop_services.sh stops what
it finds: a taken port starts nothing and names the port and the process holding it; a port taken
part-way stops what this start started; a second start after one service died starts only that
one; and a swarm started by `honcho start` (the Procfile) is stopped whole. Every swarm here runs
on free ports (the scripts' TOLLWAY_*_PORT variables), never the default ones."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import wait_until
from tests.e2e.swarm import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("router", "ledger", "simulator", "gateway")


def swarm_env(tmp_path: Path) -> tuple[dict[str, str], dict[str, int]]:
    """The scripts' environment: free ports, artifacts under tmp_path, this venv's `tollway` first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    ports = {svc: free_port() for svc in SERVICES}
    env.update({f"TOLLWAY_{svc.upper()}_PORT": str(p) for svc, p in ports.items()},
               TOLLWAY_ARTIFACTS_DIR=str(tmp_path), PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}")
    return env, ports


def script(name: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([f"scripts/{name}_services.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


def pids(tmp_path: Path) -> dict[str, int]:
    return {f.stem: int(f.read_text()) for f in (tmp_path / "run").glob("*.pid")}


def alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_taken_port_starts_nothing_and_names_its_holder(tmp_path):
    env, ports = swarm_env(tmp_path)
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", ports["gateway"]))
        holder.listen()
        done = script("start", env)
    assert done.returncode == 1
    assert f"port {ports['gateway']} (for gateway) is taken by pid {os.getpid()}" in done.stderr
    assert "nothing started" in done.stderr
    assert not list((tmp_path / "run").glob("*.pid"))


def test_a_port_taken_part_way_stops_what_this_start_started_and_names_the_holder(tmp_path):
    """The gateway's port is free when the script checks, and taken (by this test) once the first
    services are launched: the gateway is not started and the three already up are stopped."""
    env, ports = swarm_env(tmp_path)
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    launched = tmp_path / "run" / "router.pid"  # written as the first wave starts, after the check

    def take_the_gateways_port() -> None:
        deadline = time.monotonic() + 120
        while not launched.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        holder.bind(("127.0.0.1", ports["gateway"]))
        holder.listen()

    taker = threading.Thread(target=take_the_gateways_port, daemon=True)
    taker.start()
    try:
        done = script("start", env)
        taker.join(5)
    finally:
        holder.close()
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"cannot start gateway: port {ports['gateway']} is taken by pid {os.getpid()}" in done.stderr
    stopped = dict(re.findall(r"stopped (\w+) \(pid (\d+)\), started by this run", done.stderr))
    assert set(stopped) == {"router", "ledger", "simulator"}, done.stderr
    assert not any(alive(int(pid)) for pid in stopped.values())
    assert not list((tmp_path / "run").glob("*.pid"))
    assert not any(healthy(ports[svc]) for svc in stopped)


def test_a_second_start_after_one_service_died_starts_only_that_one(tmp_path):
    env, ports = swarm_env(tmp_path)
    try:
        first = script("start", env)
        assert first.returncode == 0, first.stderr
        before = pids(tmp_path)
        assert set(before) == set(SERVICES)
        os.kill(before["ledger"], signal.SIGKILL)
        wait_until(lambda: not alive(before["ledger"]), what="the ledger gone")
        again = script("start", env)
        assert again.returncode == 0, again.stderr
        after = pids(tmp_path)
        assert after["ledger"] != before["ledger"] and alive(after["ledger"])
        assert {svc: after[svc] for svc in ("router", "simulator", "gateway")} == {
            svc: before[svc] for svc in ("router", "simulator", "gateway")}
        for svc in ("router", "simulator", "gateway"):
            assert f"{svc} is already running (pid {before[svc]}, :{ports[svc]}): kept" in again.stdout
        assert "ledger is already running" not in again.stdout
        assert healthy(ports["ledger"])
    finally:
        stopped = script("stop", env)
    assert stopped.returncode == 0, stopped.stderr
    assert not any(alive(pid) for pid in after.values())
    assert not list((tmp_path / "run").glob("*.pid"))


def test_stop_services_stops_a_swarm_started_by_honcho(tmp_path):
    env, ports = swarm_env(tmp_path)
    env.update(TOLLWAY_ROUTER_URL=f"http://127.0.0.1:{ports['router']}",
               TOLLWAY_LEDGER_URL=f"http://127.0.0.1:{ports['ledger']}")
    log = (tmp_path / "honcho.log").open("w")
    honcho = subprocess.Popen([str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile"], cwd=ROOT,
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: all(healthy(p) for p in ports.values()), 90, "the honcho swarm answering /health")
        stopped = script("stop", env)
        assert stopped.returncode == 0, stopped.stderr
        assert f"stopped the swarm of 'honcho start' (pid {honcho.pid})" in stopped.stdout, stopped.stdout
        honcho.wait(30)
        assert not any(healthy(p) for p in ports.values())
        assert "not started by start_services.sh" not in stopped.stdout
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
        log.close()
