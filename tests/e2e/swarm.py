"""Start the real services as separate processes on free ports, as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SERVICES = ("router", "ledger", "simulator", "gateway")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Swarm:
    root: Path
    ports: dict[str, int] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    admin_key: str = ""  # set: every service guards its management endpoints with it

    @property
    def admin(self) -> dict[str, str]:
        """Headers that carry the admin key (empty when the swarm has none)."""
        return {"x-admin-key": self.admin_key} if self.admin_key else {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def costs(self) -> Path:
        return self.root / "costs"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "TOLLWAY_ARTIFACTS_DIR": str(self.root),
                "TOLLWAY_ROUTER_URL": self.url("router"),
                "TOLLWAY_LEDGER_URL": self.url("ledger"),
                "TOLLWAY_SHIP_INTERVAL_S": "0.1",
                "TOLLWAY_UPSTREAM_READ_TIMEOUT_S": "5",
                "TOLLWAY_UPSTREAM_CONNECT_TIMEOUT_S": "2",
                "TOLLWAY_LEDGER_TIMEOUT_S": "2",
                "TOLLWAY_SNAPSHOT_WAIT_S": "5",
            }
        )
        env["TOLLWAY_ADMIN_KEY"] = self.admin_key
        env.update(self.extra_env)
        return env

    def start(self, service: str, timeout: float = 30.0, *, name: str | None = None,
              env: dict[str, str] | None = None) -> None:
        """Start `service`; `name` runs another instance of it (a replica) with `env` on top."""
        name = name or service
        self.ports.setdefault(name, free_port())
        with open(self.root / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli.main", "serve", service, "--port", str(self.ports[name])],
                env={**self.env(), **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[2],
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.procs[name].poll() is not None:
                raise RuntimeError(f"{name} exited: {(self.root / f'{name}.log').read_text()[-2000:]}")
            try:
                if httpx.get(self.url(name) + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not become healthy")

    def stop(self, service: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(service, None)
        if proc is None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def start_all(self) -> None:
        for service in SERVICES:
            self.ports.setdefault(service, free_port())
        for service in SERVICES:
            self.start(service)

    def stop_all(self) -> None:
        for service in [*(n for n in self.procs if n not in SERVICES), *reversed(SERVICES)]:
            self.stop(service)

    def log(self, service: str) -> str:
        return (self.root / f"{service}.log").read_text(errors="replace")

    def wait_for_model(self, model: str, timeout: float = 5.0) -> float:
        """Seconds until the gateway lists `model` (its registry snapshot caught up)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            models = httpx.get(self.url("gateway") + "/v1/models").json()["data"]
            if any(m["id"] == model for m in models):
                return time.monotonic() - started
            time.sleep(0.02)
        raise AssertionError(f"gateway never listed {model}")

    def wait_for_budget(self, run_id: str, timeout: float = 5.0) -> None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            health = httpx.get(self.url("gateway") + "/health").json()
            if health["budgets"]["runs"] and self._gateway_knows_budget(run_id):
                return
            time.sleep(0.02)
        raise AssertionError(f"gateway never learned the budget of {run_id}")

    def _gateway_knows_budget(self, run_id: str) -> bool:
        snap = httpx.get(self.url("ledger") + "/budgets/snapshot", headers=self.admin).json()
        health = httpx.get(self.url("gateway") + "/health").json()
        return run_id in snap["run_ids"] and health["budgets"]["version"] >= snap["version"]
