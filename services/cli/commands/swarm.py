"""`tollway up`, `down`, `status`: the swarm of scripts/start_services.sh and stop_services.sh.

`up` and `down` run those scripts (they stay the one implementation: whole-or-nothing start, the
port holder named, honcho swarms stopped); `status` reads their pid files and asks each service's
/health, naming a port's holder with scripts/swarm_ports.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import typer

from services.cli.client import UsageError
from services.cli.exits import Exit
from services.cli.session import JsonFlag, session

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "scripts"
ORDER = ("router", "ledger", "simulator", "gateway")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Run")(up)
    app.command(rich_help_panel="Run")(down)
    app.command(rich_help_panel="Run")(status)


def _script(name: str) -> Path:
    path = SCRIPTS / name
    if not path.exists():
        raise UsageError(f"{path} is missing: `tollway up`/`down` run the repository's scripts; install Tollway"
                         " from its checkout (pip install -e .)")
    return path


def _env() -> dict[str, str]:
    """The scripts find this very `tollway` first on PATH (the same interpreter and install)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def _run(script: str, quiet: bool) -> int:
    proc = subprocess.run([str(_script(script))], env=_env(), cwd=REPO, text=True,
                          stdout=subprocess.PIPE if quiet else None, stderr=subprocess.PIPE if quiet else None)
    if quiet and proc.returncode != 0:
        typer.echo(proc.stderr.rstrip() or proc.stdout.rstrip(), err=True)
    return proc.returncode


def up(ctx: typer.Context, json_out: JsonFlag = False) -> int:
    """Start the router, ledger, simulator and gateway in the background (scripts/start_services.sh).

    Services already running are kept; a taken port starts nothing and names its holder.
    TOLLWAY_NO_SIMULATOR=1 leaves the simulator out; TOLLWAY_*_PORT move them."""
    s = session(ctx, json_out)
    if not s.json:
        s.say("starting the swarm (each service waits for /health) ...")
    code = _run("start_services.sh", quiet=s.json)
    if code != 0:
        return Exit.FAILED
    if s.json:
        s.line({"services": _states(s.endpoints.urls)})
    return Exit.OK


def down(ctx: typer.Context, json_out: JsonFlag = False) -> int:
    """Stop the swarm, gateway first so it ships its last receipts (scripts/stop_services.sh)."""
    s = session(ctx, json_out)
    code = _run("stop_services.sh", quiet=s.json)
    if s.json:
        s.line({"stopped": code == 0, "services": _states(s.endpoints.urls)})
    return Exit.OK if code == 0 else Exit.FAILED


def _ports_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("swarm_ports", _script("swarm_ports.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _artifacts() -> Path:
    """Where the scripts keep pid files: TOLLWAY_ARTIFACTS_DIR, relative to the repository."""
    raw = Path(os.environ.get("TOLLWAY_ARTIFACTS_DIR", "artifacts"))
    return raw if raw.is_absolute() else REPO / raw


def _pid(service: str) -> int | None:
    try:
        return int((_artifacts() / "run" / f"{service}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _services() -> tuple[str, ...]:
    return tuple(s for s in ORDER if s != "simulator" or os.environ.get("TOLLWAY_NO_SIMULATOR", "0") != "1")


def _states(urls: dict[str, str]) -> list[dict[str, Any]]:
    ports = _ports_module()
    out = []
    for service in _services():
        url = urls[service]
        port = httpx.URL(url).port or 80
        try:
            healthy = httpx.get(url + "/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            healthy = False
        pid = _pid(service)
        ours = pid is not None and ports.is_service(pid, service)
        holder = ports.pid_of(port) if httpx.URL(url).host in ("127.0.0.1", "localhost") else None
        out.append({"service": service, "url": url, "healthy": healthy, "pid": pid if ours else holder,
                    "started_by": "tollway up" if ours else ("another process" if holder else None),
                    "log": str(_artifacts() / "logs" / f"{service}.log") if ours else None})
    return out


def status(ctx: typer.Context, json_out: JsonFlag = False) -> int:
    """Show each service: address, /health, pid and log. Exit 3 when one does not answer."""
    s = session(ctx, json_out)
    states = _states(s.endpoints.urls)
    s.emit({"services": states}, lambda: s.table(None, ["service", "url", "health", "pid", "started by", "log"], [
        [st["service"], st["url"], "ok" if st["healthy"] else "NOT ANSWERING", st["pid"],
         st["started_by"], st["log"]] for st in states]))
    down_ = [st["service"] for st in states if not st["healthy"]]
    if down_ and not s.json:
        s.say(f"not answering: {', '.join(down_)}. Start the swarm with `tollway up`.")
    return Exit.DOWN if down_ else Exit.OK
