"""The `tollway` console script run as a user runs it (a subprocess with TOLLWAY_* pointing at a
swarm), and its --json output read with money as Decimal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import httpx

from tests.e2e.swarm import Swarm

ROOT = Path(__file__).resolve().parents[2]
TOLLWAY = str(Path(sys.executable).parent / "tollway")


def cli_env(swarm: Swarm, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOLLWAY_")}
    env.update({f"TOLLWAY_{name.upper()}_URL": swarm.url(name) for name in ("router", "gateway", "ledger")},
               TOLLWAY_ADMIN_KEY=swarm.admin_key, TOLLWAY_ARTIFACTS_DIR=str(swarm.root), COLUMNS="160")
    env.update(extra)
    return env


def tollway(swarm: Swarm, *args: str, code: int = 0, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([TOLLWAY, *args], env=env or cli_env(swarm), capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def as_json(done: subprocess.CompletedProcess[str]):
    return json.loads(done.stdout, parse_float=Decimal)


def api(swarm: Swarm, service: str, path: str, **params):
    resp = httpx.get(swarm.url(service) + path, params=params, headers=swarm.admin, timeout=10)
    assert resp.status_code == 200, resp.text
    return json.loads(resp.content, parse_float=Decimal)
