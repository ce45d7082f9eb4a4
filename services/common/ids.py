"""Identifiers: request ids, and the safe-name rule for ids that become file names."""

from __future__ import annotations

import os
import re

SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def is_safe_id(value: str) -> bool:
    """A run id becomes a file name: [A-Za-z0-9._-]{1,128}, and never '.' or '..'-bearing."""
    return bool(SAFE_ID.match(value)) and ".." not in value and value not in (".",)


def new_request_id() -> str:
    return "req-" + os.urandom(12).hex()
