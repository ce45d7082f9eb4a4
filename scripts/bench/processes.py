"""The processes a benchmark starts: pinned to a core, logged to files, and all stopped at the end
(each by its own id and process group, also after Ctrl-C)."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

TICK_S = 1 / os.sysconf("SC_CLK_TCK")


class Processes:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def log(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, name: str, argv: list[str], *, cpu: str | None, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        if cpu is not None:
            argv = ["taskset", "-c", cpu, *argv]
        with open(self.log(name), "ab") as log:
            # a session of its own: Ctrl-C in the terminal reaches us, and we stop it in order
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                    start_new_session=True)
        self.procs[name] = proc
        return proc

    def tail(self, name: str, lines: int = 20) -> str:
        try:
            return "\n".join(self.log(name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop_all(self, grace_s: float = 5.0) -> None:
        for proc in reversed(self.procs.values()):
            _signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(proc, signal.SIGKILL)
                proc.wait(5)
        self.procs.clear()


def _signal(proc: subprocess.Popen[bytes], sig: int) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)  # the group this process leads (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(check: Callable[[], bool], timeout_s: float, proc: subprocess.Popen[bytes] | None = None,
               interval_s: float = 0.1) -> bool:
    """Poll `check` until it holds; False on timeout or when `proc` exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            if check():
                return True
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            pass
        time.sleep(interval_s)
    return False


def answers(url: str, timeout_s: float = 1.0) -> bool:
    return httpx.get(url, timeout=timeout_s).status_code == 200


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime, stime: fields 14 and 15 of stat


def pin_load(load_cpu: str) -> bool:
    """Pin this process (the load) to `load_cpu` when taskset and two cores are there: whether the
    services can be pinned to another core."""
    pinned = shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    if pinned:
        os.sched_setaffinity(0, {int(load_cpu)})
    return pinned


def side_by_side(repo: Path, baseline: Path | None, base_port: int) -> list[tuple[str, Path]]:
    """(label, checkout) of what a micro-benchmark runs: this checkout, and `baseline` when given,
    on base_port and base_port + 1 (both free, or it stops)."""
    targets = [("current", repo)] + ([("baseline", baseline.resolve())] if baseline else [])
    for i in range(len(targets)):
        if not port_free(base_port + i):
            raise SystemExit(f"port {base_port + i} is taken; pick another --base-port")
    return targets


def side_by_side_args(p: argparse.ArgumentParser, service: str, base_port: int, rounds: int) -> None:
    """The options of a micro-benchmark of one service beside a --baseline copy of it: --rounds,
    --baseline, --base-port, --<service>-cpu, --load-cpu."""
    p.add_argument("--rounds", type=int, default=rounds,
                   help=f"rounds; the {service}s take turns in each (default {rounds})")
    p.add_argument("--baseline", type=Path, help=f"another copy of Tollway to run a second {service} from")
    p.add_argument("--base-port", type=int, default=base_port,
                   help=f"this {service}'s port; the baseline's is +1 (default {base_port})")
    p.add_argument(f"--{service}-cpu", default="0", help=f"core for the {service}s (default 0)")
    p.add_argument("--load-cpu", default="1", help="core for this client (default 1)")
