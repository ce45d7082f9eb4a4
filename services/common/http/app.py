"""Building a service's FastAPI app the same way everywhere: error handlers, middleware, /health."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import InvalidRequest, install_error_handlers
from services.common.http.admin import AdminGuard, AdminRule
from services.common.http.hot_path import Endpoint, HotPath
from services.common.http.middleware import BodyLimit, RequestContext
from services.common.http.responses import JSONResponse
from services.common.metrics.exposition import prometheus_response
from services.common.metrics.service import ServiceMetrics
from services.common.settings import Settings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_app(service: str, settings: Settings, *, port: int, lifespan: Lifespan | None = None,
              health: Callable[[], dict[str, Any]] | None = None, version: str = "0.1.0",
              middleware: bool = True, hot_routes: Mapping[tuple[str, str], Endpoint] | None = None,
              admin_rule: AdminRule | None = None, metrics: ServiceMetrics | None = None,
              metrics_route: bool = True, metrics_windows: Endpoint | None = None) -> FastAPI:
    """`middleware=False` leaves the request-id, body-limit and admin layers to the caller, who
    wraps the app with `with_middleware` (the gateway puts its hot path inside them, in front of
    FastAPI). `hot_routes` are served by `HotPath` inside those layers, ahead of FastAPI's routing.
    `admin_rule` says which endpoints need the admin key. The service's Prometheus metrics are
    `app.state.metrics` (`metrics`, else new ones); `metrics_route` adds `GET /metrics` (their
    exposition), which hands a request with `?window=` to `metrics_windows` (without one: a 400
    naming `window`)."""
    app = FastAPI(title=f"Tollway {service}", version=version, lifespan=lifespan,
                  default_response_class=JSONResponse)
    app.state.metrics = metrics or ServiceMetrics(service, version)
    install_error_handlers(app)
    if hot_routes:
        app.add_middleware(HotPath, routes=hot_routes)  # added first: innermost of the three
    if middleware:
        if admin_rule is not None:
            app.add_middleware(AdminGuard, service=service, admin_key=settings.admin_key.get_secret_value(),
                               rule=admin_rule)
        app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
        app.add_middleware(RequestContext, access_log_enabled=settings.access_log, metrics=app.state.metrics.http)
    started = time.time()

    @app.get("/health", tags=["ops"])
    async def _health() -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok", "service": service, "port": port,
                                "uptime_s": round(time.time() - started, 3)}
        if health is not None:
            body.update(health())
        return body

    if metrics_route:
        # not in the OpenAPI document (its answer is Prometheus text); docs/observability.md describes it
        @app.get("/metrics", tags=["ops"], include_in_schema=False)
        async def _metrics(request: Request) -> Response:
            if "window" not in request.query_params:
                return await prometheus_response(request, settings)
            if metrics_windows is None:
                raise InvalidRequest(f"the {service} has no ?window= report: GET /metrics without it is its"
                                     " Prometheus metrics", field="window")
            return await metrics_windows(request)

    return app


def with_middleware(app: Any, settings: Settings, *, service: str = "",
                    admin_rule: AdminRule | None = None, metrics: ServiceMetrics | None = None) -> RequestContext:
    """Wrap any ASGI app in the same request-id, body-limit and admin layers build_app adds (and
    count its requests in `metrics`, the FastAPI app's `app.state.metrics`)."""
    if admin_rule is not None:
        app = AdminGuard(app, service=service, admin_key=settings.admin_key.get_secret_value(), rule=admin_rule)
    return RequestContext(BodyLimit(app, max_bytes=settings.max_body_bytes), access_log_enabled=settings.access_log,
                          metrics=None if metrics is None else metrics.http)


def contract_body(name: str) -> dict[str, Any]:
    """OpenAPI `openapi_extra` documenting a raw-Request endpoint's body with its contract."""
    from services.common.contracts import schema

    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema(name)}}}}
