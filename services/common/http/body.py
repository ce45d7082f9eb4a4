"""Reading a request body: parse once, validate against its contract, refuse clearly."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from services.common import contracts, jsonio
from services.common.errors import InvalidRequest


async def read_object(request: Request, *, exact: bool = False) -> dict[str, Any]:
    """The body as a dict, not validated yet: for a caller that validates it its own way.

    `exact=True` parses non-integer numbers as Decimal: use it for bodies that carry money.
    """
    raw = await request.body()
    if not raw.strip():
        raise InvalidRequest("request body is empty; a JSON object is required")
    data = jsonio.loads_exact(raw) if exact else jsonio.loads(raw)
    if not isinstance(data, dict):
        raise InvalidRequest("request body must be a JSON object")
    return data


async def read_json(request: Request, contract: str, *, exact: bool = False) -> dict[str, Any]:
    """The body as a dict, valid against `contracts/<contract>.schema.json` (see `read_object`)."""
    data = await read_object(request, exact=exact)
    contracts.validate(contract, data)
    return data
