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


def require_safe_id(value: str, field: str) -> str:
    """`value` if it is a safe id, else a 400 naming `field`."""
    from services.common.errors import InvalidRequest

    if not is_safe_id(value):
        raise InvalidRequest(f"{field} must match [A-Za-z0-9._-]{{1,128}} without '..'", field=field)
    return value
