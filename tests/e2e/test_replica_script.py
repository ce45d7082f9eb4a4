"""scripts/start_replicas.sh N starts N routers, ledgers and gateways on one PostgreSQL (a schema of
the test's own) and Redis, each gateway following every replica with its own first; requests flow
through every gateway; scripts/stop_replicas.sh stops exactly the processes it started."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import register, wait_until
from tests.e2e.swarm import Swarm
from tests.pg import pg_schema_sync

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


def free_base(n: int) -> int:
    """A base port whose whole plan (routers B+101.., ledgers B+201.., gateways B+301.., simulator B+400) is free."""
    while True:
        base = random.randrange(20_000, 50_000, 1000)
        ports = [base + off + i for off in (100, 200, 300) for i in range(1, n + 1)] + [base + 400]
        try:
            for port in ports:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0


def script_env(tmp_path: Path, **more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    return {**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
            "TOLLWAY_ARTIFACTS_DIR": str(tmp_path), **more}


def test_n_replicas_start_serve_and_stop_exactly_what_they_started(tmp_path):
    base = free_base(2)
    bystander = subprocess.Popen(["sleep", "300"])  # not the trial's: must survive its stop
    try:
        with pg_schema_sync() as url:
            env = script_env(tmp_path, TOLLWAY_DATABASE_URL=url, TOLLWAY_REPLICAS_BASE_PORT=str(base),
                             TOLLWAY_CACHE_REDIS_PREFIX=f"t-{base}-{os.getpid()}:cache:")
            up = subprocess.run(["scripts/start_replicas.sh", "2"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=240)
            pids = {p.stem: int(p.read_text()) for p in (tmp_path / "replicas" / "run").glob("*.pid")}
            try:
                assert up.returncode == 0, up.stderr + up.stdout
                assert sorted(pids) == ["gateway-1", "gateway-2", "ledger-1", "ledger-2", "router-1", "router-2",
                                        "simulator"]
                swarm = Swarm(tmp_path, ports={"router": base + 101, "ledger": base + 202, "simulator": base + 400,
                                               "gateway": base + 301, "gateway-2": base + 302})
                with httpx.Client(timeout=30) as http:
                    register(http, swarm, {"name": "trial-sim", "model": "trial-model", "context_window": 4096,
                                           "input_per_mtok": "1", "output_per_mtok": "2",
                                           "endpoint": swarm.url("simulator")})
                    health = http.get(swarm.url("gateway-2") + "/health").json()["dependencies"]
                    assert health["router"]["urls"] == [f"http://127.0.0.1:{base + 102}",
                                                        f"http://127.0.0.1:{base + 101}"]
                    assert health["ledger"]["urls"] == [f"http://127.0.0.1:{base + 202}",
                                                        f"http://127.0.0.1:{base + 201}"]
                    for gw in ("gateway", "gateway-2"):
                        wait_until(lambda gw=gw: any(m["id"] == "trial-model" for m in
                                                     http.get(swarm.url(gw) + "/v1/models").json()["data"]),
                                   what=f"{gw} to list the model")
                        answer = http.post(swarm.url(gw) + "/v1/chat/completions", headers={"X-Tollway-Run": "trial"},
                                           json={"model": "trial-model", "max_tokens": 5,
                                                 "messages": [{"role": "user", "content": "hi"}]})
                        assert answer.status_code == 200, answer.text
                    wait_until(lambda: http.get(swarm.url("ledger") + "/receipts/trial").json()["count"] == 2,
                               what="both gateways' receipts in the shared ledger")
            finally:
                down = subprocess.run(["scripts/stop_replicas.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                                      timeout=120)
        assert down.returncode == 0, down.stderr
        assert all(f"stopped {name} (pid {pid})" in down.stdout for name, pid in pids.items()), down.stdout
        assert not any(alive(pid) for pid in pids.values())
        assert not list((tmp_path / "replicas" / "run").glob("*.pid"))
        assert bystander.poll() is None
    finally:
        bystander.send_signal(signal.SIGTERM)
        bystander.wait(5)


def test_without_a_database_url_or_with_a_bad_count_nothing_starts(tmp_path):
    no_db = subprocess.run(["scripts/start_replicas.sh", "2"], cwd=ROOT, env=script_env(tmp_path),
                           capture_output=True, text=True, timeout=30)
    assert no_db.returncode != 0 and "TOLLWAY_DATABASE_URL" in no_db.stderr
    bad = subprocess.run(["scripts/start_replicas.sh", "twelve"], cwd=ROOT,
                         env=script_env(tmp_path, TOLLWAY_DATABASE_URL="postgresql://x@127.0.0.1/none"),
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "usage" in bad.stderr
    assert not list((tmp_path / "replicas" / "run").glob("*.pid"))
