"""The router app: wires the registry store, the routing configuration, the outcome book, the
clock and the routes (uvicorn factory `services.router.app:create_app`, run by `tollway serve router`).
On PostgreSQL it also listens for other router replicas' changes (services/common/db_watch.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import structlog
from fastapi import FastAPI

from services.common.clock import Clock, SystemClock
from services.common.db_watch import ChangeListener
from services.common.http.admin import writes_are_management
from services.common.http.app import build_app
from services.common.http.longpoll import VersionSignal
from services.common.http.openapi import document
from services.common.settings import Settings
from services.common.tasks import BackgroundLoop
from services.router.api import catalog, outcomes, providers, register, routing_config, selection, snapshot, stats
from services.router.api.openapi import ROUTER
from services.router.context import RouterContext
from services.router.health.checker import HealthChecker
from services.router.metrics import install as install_metrics
from services.router.outcomes.book import OutcomeBook
from services.router.routing.config_file import read_routing_file
from services.router.store.base import RegistryStore
from services.router.store.factory import RouterStores, make_stores

log = structlog.get_logger("tollway.router")


def management(method: str, path: str) -> bool:
    """Every change to the registry or the routing configuration, and outcome reports, need the
    admin key; reads and POST /select do not."""
    return writes_are_management(method, path) and path != "/select"


def make_context(settings: Settings, stores: RouterStores, clock: Clock) -> RouterContext:
    book = OutcomeBook(stores.outcomes, clock,
                       window_s=settings.latency_window_s, max_samples=settings.outcome_max_samples,
                       min_samples=settings.latency_min_samples, success_floor=settings.success_rate_floor)
    return RouterContext(settings=settings, store=stores.registry, clock=clock,
                         routing=stores.routing, outcomes=book)


async def publish_stats(ctx: RouterContext) -> None:
    """New observed stats move the snapshot at most once per interval (a failed round is retried at
    the next)."""
    if await ctx.outcomes.publish():
        await ctx.changed()


def create_app(settings: Settings | None = None, *, store: RegistryStore | None = None,
               clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    stores = make_stores(settings, store)
    ctx = make_context(settings, stores, clock or SystemClock())
    ctx.health = health_checks = HealthChecker(settings, ctx.store, ctx.clock, ctx.changed, os.environ,
                                               providers=lambda: ctx.providers)
    # replicas on one PostgreSQL: another router's change wakes this one's long-polls
    replicas = ChangeListener(stores.url, "tollway_router", ctx.changed, service="router") if stores.url else None
    serving = False

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        nonlocal serving
        await ctx.store.open()  # PostgreSQL unreachable: DatabaseUnavailable (its URL masked), start fails
        await ctx.routing.open()
        await ctx.outcomes.open()
        if settings.routing_config is not None:
            version = await ctx.routing.put_many(read_routing_file(settings.routing_config))
            log.info("routing_config_loaded", path=str(settings.routing_config), routing_version=version)
        await ctx.changed()
        ctx.signal = VersionSignal(ctx.snapshot_version(), settings.longpoll_max_wait_s)
        if replicas is not None:
            replicas.start()
        publisher = BackgroundLoop("publish-stats", partial(publish_stats, ctx), settings.stats_publish_interval_s,
                                   failed_event="stats_publish_failed", logger=log, wait_first=True)
        publisher.start()
        probes = httpx.AsyncClient(follow_redirects=False)
        health_checks.start(probes)
        serving = True
        try:
            yield
        finally:
            serving = False
            if replicas is not None:
                await replicas.stop()
            await publisher.stop()
            await health_checks.stop()
            await probes.aclose()
            await ctx.outcomes.close()
            await ctx.routing.close()
            await ctx.store.close()

    def health() -> dict[str, Any]:
        if not serving:
            return {}
        return {"registry": {"version": ctx.signal.version, "providers": len(ctx.providers)},
                "routing": {"version": ctx.config.version},
                "outcomes": {"epoch": ctx.outcomes.epoch, "received": ctx.outcomes.received,
                             "providers": len(ctx.outcomes.observed.providers)},
                "health_checks": health_checks.summary()}

    app = build_app("router", settings, port=settings.router_port, lifespan=lifespan, health=health,
                    admin_rule=management, hot_routes=outcomes.HOT_ROUTES)
    app.state.router_context = ctx
    install_metrics(app.state.metrics, ctx)
    catalog.install(app, settings.price_catalog)  # an unreadable operator file stops the router here
    for module in (register, providers, selection, snapshot, stats, routing_config, outcomes, catalog):
        app.include_router(module.router)
    document(app, ROUTER)
    return app
