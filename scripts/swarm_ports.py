#!/usr/bin/env python3
"""Who holds a TCP port, whether a process is a Tollway service, whether one answers: for
start_services.sh, stop_services.sh and start_replicas.sh. Linux only (reads /proc); no
dependencies, so it runs before any install.

  swarm_ports.py holder PORT        "pid N (command line)" of the process listening on PORT, or
                                    "a process this user cannot see" (another user's); nothing
                                    and exit 1 when the port is free
  swarm_ports.py pid PORT           the listening process's pid only (exit 1: none, or not visible)
  swarm_ports.py is-service PID SVC exit 0 when PID runs `serve SVC` (tollway or services.cli.main)
  swarm_ports.py honcho PID         the pid of the `honcho` process PID runs under (exit 1: none)
  swarm_ports.py healthy PORT       exit 0 when http://127.0.0.1:PORT/health answers 200 within 1 s
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

LISTEN = "0A"  # the TCP state code for LISTEN in /proc/net/tcp{,6}


def listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def pid_of(port: int) -> int | None:
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    if not wanted:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    return int(entry.name)
        except OSError:  # another user's process, or it just exited
            continue
    return None


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def port_taken(port: int) -> bool:
    """Listening per /proc, or (where /proc says nothing) not bindable on 127.0.0.1."""
    if listening_inodes(port):
        return True
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def is_service(pid: int, service: str) -> bool:
    words = cmdline(pid).split()
    return any(words[i:i + 2] == ["serve", service] for i in range(len(words))) and (
        any(w.endswith("tollway") for w in words) or "services.cli.main" in words)


def honcho_of(pid: int) -> int | None:
    """The outermost `honcho` among PID's ancestors: honcho runs each Procfile line in a forked
    copy of itself, and only the first honcho stops them all."""
    found = None
    for _ in range(16):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the parent
        if pid <= 1:
            break
        if any(Path(w).name == "honcho" for w in cmdline(pid).split()[:2]):
            found = pid
    return found


def healthy(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
            return bool(resp.status == 200)
    except Exception:
        return False


def main(argv: list[str]) -> int:
    command, *args = argv
    if command in ("holder", "pid"):
        port = int(args[0])
        if not port_taken(port):
            return 1
        pid = pid_of(port)
        if command == "pid":
            if pid is None:
                return 1
            print(pid)
        else:
            print(f"pid {pid} ({cmdline(pid)[:160]})" if pid else "a process this user cannot see")
        return 0
    if command == "is-service":
        return 0 if is_service(int(args[0]), args[1]) else 1
    if command == "healthy":
        return 0 if healthy(int(args[0])) else 1
    if command == "honcho":
        found = honcho_of(int(args[0]))
        if found is None:
            return 1
        print(found)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
