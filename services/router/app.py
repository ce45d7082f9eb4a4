"""The router app: wires the registry store, the routing configuration, the outcome book, the
clock and the routes (uvicorn factory `services.router.app:create_app`, run by `tollway serve router`)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from services.common.clock import Clock, SystemClock
from services.common.http.admin import writes_are_management
from services.common.http.app import build_app
from services.common.http.longpoll import VersionSignal
from services.common.http.openapi import document
from services.common.settings import Settings
from services.common.tasks import cancel_and_wait
from services.router.api import catalog, outcomes, providers, register, routing_config, selection, snapshot, stats
from services.router.api.openapi import ROUTER
from services.router.context import RouterContext
from services.router.health.checker import HealthChecker
from services.router.outcomes.book import OutcomeBook
from services.router.routing.config_file import read_routing_file
from services.router.store.base import RegistryStore
from services.router.store.factory import make_store
from services.router.store.outcomes_sqlite import SqliteOutcomeLog
from services.router.store.routing_sqlite import SqliteRoutingStore

log = structlog.get_logger("tollway.router")


def management(method: str, path: str) -> bool:
    """Every change to the registry or the routing configuration, and outcome reports, need the
    admin key; reads and POST /select do not."""
    return writes_are_management(method, path) and path != "/select"


def make_context(settings: Settings, store: RegistryStore | None, clock: Clock) -> RouterContext:
    router_dir = settings.service_dir("router")
    book = OutcomeBook(SqliteOutcomeLog(router_dir / "outcomes.db"), clock,
                       window_s=settings.latency_window_s, max_samples=settings.outcome_max_samples,
                       min_samples=settings.latency_min_samples, success_floor=settings.success_rate_floor)
    return RouterContext(settings=settings, store=store or make_store(settings), clock=clock,
                         routing=SqliteRoutingStore(router_dir / "routing.db"), outcomes=book)


async def publish_stats(ctx: RouterContext) -> None:
    """New observed stats move the snapshot at most once per interval."""
    while True:
        await asyncio.sleep(ctx.settings.stats_publish_interval_s)
        try:
            if ctx.outcomes.publish():
                ctx.changed()
        except Exception as exc:  # a failed round is retried at the next interval
            log.warning("stats_publish_failed", error=repr(exc))


def create_app(settings: Settings | None = None, *, store: RegistryStore | None = None,
               clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = make_context(settings, store, clock or SystemClock())
    ctx.health = health_checks = HealthChecker(settings, ctx.store, ctx.clock, ctx.changed, os.environ)
    serving = False

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal serving
        ctx.store.open()
        ctx.routing.open()
        ctx.outcomes.open()
        if settings.routing_config is not None:
            version = ctx.routing.put_many(read_routing_file(settings.routing_config))
            log.info("routing_config_loaded", path=str(settings.routing_config), routing_version=version)
        ctx.reload_config()
        ctx.signal = VersionSignal(ctx.snapshot_version())
        publisher = asyncio.create_task(publish_stats(ctx), name="publish-stats")
        probes = httpx.AsyncClient(follow_redirects=False)
        health_checks.start(probes)
        serving = True
        try:
            yield
        finally:
            serving = False
            await cancel_and_wait(publisher)
            await health_checks.stop()
            await probes.aclose()
            ctx.outcomes.close()
            ctx.routing.close()
            ctx.store.close()

    def health() -> dict[str, Any]:
        if not serving:
            return {}
        return {"registry": {"version": ctx.signal.version, "providers": len(ctx.store.list())},
                "routing": {"version": ctx.config.version},
                "outcomes": {"epoch": ctx.outcomes.epoch, "received": ctx.outcomes.received,
                             "providers": len(ctx.outcomes.observed.providers)},
                "health_checks": health_checks.summary()}

    app = build_app("router", settings, port=settings.router_port, lifespan=lifespan, health=health,
                    admin_rule=management, hot_routes=outcomes.HOT_ROUTES)
    app.state.router_context = ctx
    catalog.install(app, settings.price_catalog)  # an unreadable operator file stops the router here
    for module in (register, providers, selection, snapshot, stats, routing_config, outcomes, catalog):
        app.include_router(module.router)
    document(app, ROUTER)
    return app
