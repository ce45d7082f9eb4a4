"""Replace a small state file whole: written beside it under a name of this process's own, then
renamed over it. A reader sees the old bytes or the new, never a mix, and two processes sharing a
state directory (two gateways on one host) do not take each other's temporary file."""

from __future__ import annotations

import os
from pathlib import Path


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically; raises OSError as writing would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
