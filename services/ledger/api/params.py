"""Shared route inputs: safe identifiers in paths, and contract bodies shown in the OpenAPI docs."""

from __future__ import annotations

from typing import Any

from services.common import contracts
from services.common.errors import InvalidRequest
from services.common.ids import is_safe_id


def safe_id(value: str, field: str) -> str:
    if not is_safe_id(value):
        raise InvalidRequest(f"{field} must match [A-Za-z0-9._-]{{1,128}} without '..'",
                             field=field)
    return value


def body_doc(contract: str) -> dict[str, Any]:
    """`openapi_extra` documenting a body the route reads itself (exact, via read_json)."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": contracts.schema(contract)}}}}
