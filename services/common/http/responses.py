"""JSON responses that write Decimal money exactly (see services.common.jsonio)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from services.common import jsonio


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return jsonio.dumps(content)
