"""The router app: wires the registry store, the clock and the routes (uvicorn factory
`services.router.app:create_app`, run by `tollway serve router`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from services.common.clock import Clock, SystemClock
from services.common.http.admin import writes_are_management
from services.common.http.app import build_app
from services.common.http.longpoll import VersionSignal
from services.common.settings import Settings
from services.router.api import providers, register, selection, snapshot, stats
from services.router.context import RouterContext
from services.router.store.base import RegistryStore
from services.router.store.factory import make_store


def management(method: str, path: str) -> bool:
    """Every change to the registry needs the admin key; reads and POST /select do not."""
    return writes_are_management(method, path) and path != "/select"


def create_app(settings: Settings | None = None, *, store: RegistryStore | None = None,
               clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = RouterContext(settings=settings, store=store or make_store(settings), clock=clock or SystemClock())
    serving = False

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal serving
        ctx.store.open()
        ctx.signal = VersionSignal(ctx.store.version())
        serving = True
        try:
            yield
        finally:
            serving = False
            ctx.store.close()

    def health() -> dict[str, Any]:
        if not serving:
            return {}
        return {"registry": {"version": ctx.signal.version, "providers": len(ctx.store.list())}}

    app = build_app("router", settings, port=settings.router_port, lifespan=lifespan, health=health,
                    admin_rule=management)
    app.state.router_context = ctx
    for module in (register, providers, selection, snapshot, stats):
        app.include_router(module.router)
    return app
