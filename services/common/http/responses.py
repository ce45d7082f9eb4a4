"""JSON responses that write Decimal money exactly (see services.common.jsonio)."""

from __future__ import annotations

from typing import Any

from starlette import responses

from services.common import jsonio


class JSONResponse(responses.JSONResponse):
    """Starlette's JSONResponse (so FastAPI documents a JSON body, not a string) written by orjson."""

    def render(self, content: Any) -> bytes:
        return jsonio.dumps(content)
