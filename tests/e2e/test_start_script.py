"""scripts/start_services.sh starts whole or not at all: a taken port starts nothing and names
the port and the process holding it (the restart-what-died and honcho paths: docs/testing.md)."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

from tests.e2e.swarm import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_a_taken_port_starts_nothing_and_names_its_holder(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    ports = {name: free_port() for name in ("ROUTER", "LEDGER", "SIMULATOR", "GATEWAY")}
    env.update({f"TOLLWAY_{n}_PORT": str(p) for n, p in ports.items()}, TOLLWAY_ARTIFACTS_DIR=str(tmp_path))
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", ports["GATEWAY"]))
        holder.listen()
        done = subprocess.run(["scripts/start_services.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=60)
    assert done.returncode == 1
    assert f"port {ports['GATEWAY']} (for gateway) is taken by pid {os.getpid()}" in done.stderr
    assert "nothing started" in done.stderr
    assert not list((tmp_path / "run").glob("*.pid"))
