"""`tollway up`, `status` and `down` start, report and stop the same swarm as the scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.swarm import free_port

ROOT = Path(__file__).resolve().parents[2]
TOLLWAY = str(Path(sys.executable).parent / "tollway")


def test_up_status_down(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    ports = {name: free_port() for name in ("router", "ledger", "gateway")}
    env.update({f"TOLLWAY_{n.upper()}_PORT": str(p) for n, p in ports.items()}, TOLLWAY_NO_SIMULATOR="1",
               TOLLWAY_ARTIFACTS_DIR=str(tmp_path), COLUMNS="200")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([TOLLWAY, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    try:
        up = run("up")
        assert up.returncode == 0, up.stderr
        assert "Tollway is up" in up.stdout
        status = run("status", "--json")
        assert status.returncode == 0, status.stderr
        states = {s["service"]: s for s in json.loads(status.stdout)["services"]}
        assert set(states) == {"router", "ledger", "gateway"}
        for name, state in states.items():
            assert state["healthy"] and state["started_by"] == "tollway up"
            assert state["url"] == f"http://127.0.0.1:{ports[name]}"
            assert state["pid"] == int((tmp_path / "run" / f"{name}.pid").read_text())
        again = run("up")
        assert again.returncode == 0 and "gateway is already running" in again.stdout
    finally:
        down = run("down")
    assert down.returncode == 0, down.stderr
    assert "stopped gateway" in down.stdout and "stopped router" in down.stdout
    stopped = run("status")
    assert stopped.returncode == 3
    assert "not answering: router, ledger, gateway" in stopped.stdout
    assert "Traceback" not in stopped.stderr
