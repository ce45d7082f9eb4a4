"""Appends receipts to `artifacts/costs/<run_id>.jsonl`, one JSON line per request.

Each receipt is one `write(2)` on a descriptor opened with O_APPEND, done before the client gets
its answer: once it returns, the line is in the OS and survives a SIGKILL of the gateway.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from services.common import jsonio
from services.common.ids import is_safe_id
from services.gateway.receipts.build import Receipt

MAX_OPEN_FILES = 256


class ReceiptWriter:
    def __init__(self, costs_dir: Path, on_write: Callable[[str], None] | None = None) -> None:
        self.costs_dir = costs_dir
        costs_dir.mkdir(parents=True, exist_ok=True)
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._on_write = on_write

    def path_for(self, run_id: str) -> Path:
        if not is_safe_id(run_id):  # validated at the edge already; this guards the file system
            raise ValueError(f"unsafe run id {run_id!r}")
        return self.costs_dir / f"{run_id}.jsonl"

    def _fd(self, run_id: str) -> int:
        fd = self._fds.get(run_id)
        if fd is not None:
            self._fds.move_to_end(run_id)
            return fd
        fd = os.open(self.path_for(run_id), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._fds[run_id] = fd
        if len(self._fds) > MAX_OPEN_FILES:
            _, old = self._fds.popitem(last=False)
            os.close(old)
        return fd

    def write(self, receipt: Receipt) -> None:
        line = jsonio.dumps_line(receipt)
        run_id = receipt["run_id"]
        fd = self._fd(run_id)
        written = os.write(fd, line)
        while written < len(line):  # regular files write whole; this is belt and braces
            written += os.write(fd, line[written:])
        if self._on_write is not None:
            self._on_write(run_id)

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
