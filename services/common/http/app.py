"""Building a service's FastAPI app the same way everywhere: error handlers, middleware, /health."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from services.common.errors import install_error_handlers
from services.common.http.admin import AdminGuard, AdminRule
from services.common.http.hot_path import Endpoint, HotPath
from services.common.http.middleware import BodyLimit, RequestContext
from services.common.http.responses import JSONResponse
from services.common.settings import Settings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_app(service: str, settings: Settings, *, port: int, lifespan: Lifespan | None = None,
              health: Callable[[], dict[str, Any]] | None = None, version: str = "0.1.0",
              middleware: bool = True, hot_routes: Mapping[tuple[str, str], Endpoint] | None = None,
              admin_rule: AdminRule | None = None) -> FastAPI:
    """`middleware=False` leaves the request-id, body-limit and admin layers to the caller, who
    wraps the app with `with_middleware` (the gateway puts its hot path inside them, in front of
    FastAPI). `hot_routes` are served by `HotPath` inside those layers, ahead of FastAPI's routing.
    `admin_rule` says which endpoints need the admin key."""
    app = FastAPI(title=f"Tollway {service}", version=version, lifespan=lifespan,
                  default_response_class=JSONResponse)
    install_error_handlers(app)
    if hot_routes:
        app.add_middleware(HotPath, routes=hot_routes)  # added first: innermost of the three
    if middleware:
        if admin_rule is not None:
            app.add_middleware(AdminGuard, service=service, admin_key=settings.admin_key.get_secret_value(),
                               rule=admin_rule)
        app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
        app.add_middleware(RequestContext, access_log_enabled=settings.access_log)
    started = time.time()

    @app.get("/health", tags=["ops"])
    async def _health() -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok", "service": service, "port": port,
                                "uptime_s": round(time.time() - started, 3)}
        if health is not None:
            body.update(health())
        return body

    return app


def with_middleware(app: Any, settings: Settings, *, service: str = "",
                    admin_rule: AdminRule | None = None) -> RequestContext:
    """Wrap any ASGI app in the same request-id, body-limit and admin layers build_app adds."""
    if admin_rule is not None:
        app = AdminGuard(app, service=service, admin_key=settings.admin_key.get_secret_value(), rule=admin_rule)
    return RequestContext(BodyLimit(app, max_bytes=settings.max_body_bytes), access_log_enabled=settings.access_log)


def contract_body(name: str) -> dict[str, Any]:
    """OpenAPI `openapi_extra` documenting a raw-Request endpoint's body with its contract."""
    from services.common.contracts import schema

    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema(name)}}}}
