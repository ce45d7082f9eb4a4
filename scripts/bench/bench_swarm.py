"""A fresh swarm for a benchmark run: simulator, router, ledger and gateway as separate processes
on ports from `base_port` (router +3, gateway +20, ledger +21, simulator +90), artifacts and logs
in a new temporary directory."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from processes import Processes, answers, wait_until

REPO = Path(__file__).resolve().parents[2]
OFFSETS = {"router": 3, "gateway": 20, "ledger": 21, "simulator": 90}


def start_swarm(label: str, base_port: int, env_extra: dict[str, str]) -> tuple[Processes, dict[str, str], Path]:
    """(the processes, each service's URL, the artifacts directory); stop with procs.stop_all()."""
    root = Path(tempfile.mkdtemp(prefix=f"tollway-{label.replace(' ', '-')}-"))
    procs = Processes(root)
    ports = {svc: base_port + offset for svc, offset in OFFSETS.items()}
    urls = {svc: f"http://127.0.0.1:{p}" for svc, p in ports.items()}
    env = {**os.environ, "TOLLWAY_ARTIFACTS_DIR": str(root), "TOLLWAY_ROUTER_URL": urls["router"],
           "TOLLWAY_LEDGER_URL": urls["ledger"], "TOLLWAY_ACCESS_LOG": "false", "TOLLWAY_LOG_LEVEL": "warning",
           **env_extra}
    try:
        for svc in ("simulator", "router", "ledger", "gateway"):
            proc = procs.start(svc, [sys.executable, "-m", "services.cli.main", "serve", svc, "--port",
                                     str(ports[svc])], cpu=None, env=env, cwd=REPO)
            if not wait_until(lambda svc=svc: answers(urls[svc] + "/health"), 60, proc):
                raise SystemExit(f"{svc} did not start:\n{procs.tail(svc)}")
    except BaseException:
        procs.stop_all()
        raise
    return procs, urls, root
