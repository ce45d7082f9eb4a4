"""A service's busiest routes served without FastAPI's routing, dependency and exception layers:
an exact (method, path) lookup in front of the app, which keeps every other route, the docs and
the lifespan. Errors still go through the one mapping in `services.common.errors`.

Measured under wrk: those layers took about a third of the gateway's CPU per request. Used as the
outermost wrapper (gateway) or as a middleware (`app.add_middleware(HotPath, routes=...)`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import response_for
from services.common.metrics.http import HOT_ROUTE

Endpoint = Callable[[Request], Awaitable[Response]]


class HotPath:
    def __init__(self, app: Any, routes: Mapping[tuple[str, str], Endpoint]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        endpoint = self.routes.get((scope["method"], scope["path"])) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        scope.setdefault("app", self.app)  # outermost: the FastAPI app; as a middleware: already set
        scope[HOT_ROUTE] = scope["path"]  # the route template, for the request metrics (exact paths)
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as exc:
            response = response_for(request, exc)
        await response(scope, receive, send)
