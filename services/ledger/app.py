"""The ledger app: wires the store, the clock and the routes (uvicorn factory `create_app`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.common.clock import Clock, SystemClock
from services.common.db import is_postgres
from services.common.db_watch import ChangeListener
from services.common.http.admin import writes_are_management
from services.common.http.app import build_app
from services.common.http.longpoll import VersionSignal
from services.common.http.openapi import document
from services.common.settings import Settings
from services.ledger.alerts.runner import AlertRunner
from services.ledger.analytics.backfill import Backfiller
from services.ledger.analytics.retention import Pruner, Retention
from services.ledger.api import (
    alerts,
    analytics,
    budgets,
    dashboard,
    events,
    experiments,
    holds,
    insights,
    keys,
    leases,
    limits,
    metrics,
    receipts,
    snapshot,
)
from services.ledger.api.openapi import LEDGER
from services.ledger.context import LedgerContext
from services.ledger.events.bus import EventBus
from services.ledger.events.relay import PgEventRelay
from services.ledger.metrics import LedgerMetrics
from services.ledger.metrics import install as install_metrics
from services.ledger.store.base import LedgerStore
from services.ledger.store.factory import make_store


def management(method: str, path: str) -> bool:
    """Every write (budgets, holds, leases, receipts, keys, limits, alerts) and the internal reads
    (virtual keys, limits, the budget snapshot gateways follow, alerts and their channels) need the
    admin key; the other reads are tenant-scoped."""
    return writes_are_management(method, path) or path.startswith(("/keys", "/limits", "/budgets/snapshot",
                                                                   "/alerts"))


async def replica_changed(ctx: LedgerContext) -> None:
    """Another ledger moved a version (or this one did): long-polls behind it are answered."""
    budgets, keys = await ctx.store.versions()  # type: ignore[attr-defined]
    if budgets > ctx.signal.version:
        ctx.signal.bump(to=budgets)
    if keys > ctx.keys_signal.version:
        ctx.keys_signal.bump(to=keys)


def create_app(settings: Settings | None = None, *, store: LedgerStore | None = None,
               clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    ctx = LedgerContext(settings=settings, store=store or make_store(settings),
                        clock=clock or SystemClock(), events=EventBus(settings.events_ring), metrics=LedgerMetrics())
    runner = AlertRunner(ctx)  # alert rules, channels and deliveries (services/ledger/alerts/)
    ctx.on_threshold = runner.budget_events
    install_metrics(ctx.metrics, ctx)
    url = settings.database_url
    # replicas on one PostgreSQL: another ledger's budget or key change wakes this one's long-polls
    replicas = ChangeListener(url, "tollway_ledger", lambda: replica_changed(ctx), service="ledger") \
        if is_postgres(url) and hasattr(ctx.store, "versions") else None
    # and each one's events reach the others' GET /events readers
    relay = PgEventRelay(url, ctx.events) if is_postgres(url) else None
    if relay is not None:
        ctx.metrics.service.counter("tollway_ledger_events_not_relayed", "Events too large for a NOTIFY, or"
                                    " dropped while the relay was behind", lambda: relay.not_relayed)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await ctx.store.open()
        max_wait_s = settings.longpoll_max_wait_s
        ctx.signal = VersionSignal(await ctx.store.version(), max_wait_s)
        ctx.keys_signal = VersionSignal((await ctx.store.keys_snapshot(ctx.now_us()))[0], max_wait_s)
        if replicas is not None:
            replicas.start()
        if relay is not None:
            relay.start()
        if settings.alerts_enabled:
            runner.start()
        pruner = Pruner(ctx.store, Retention.of(settings), ctx.now_us, settings.retention_interval_s)
        backfiller = Backfiller(ctx.store, settings.series_backfill_batch)
        backfiller.start(then=pruner.start)  # old receipts reach the series before retention prunes them
        try:
            yield
        finally:
            await backfiller.stop()
            await pruner.stop()
            await runner.stop()
            if replicas is not None:
                await replicas.stop()
            if relay is not None:
                await relay.stop()
            await ctx.store.close()

    # the routes gateways call per request, lease or batch skip FastAPI's routing layers
    hot = {("POST", "/holds"): holds.post_hold, ("POST", "/leases"): leases.grow_lease,
           ("POST", "/receipts"): receipts.post_receipts}
    app = build_app("ledger", settings, port=settings.ledger_port, lifespan=lifespan,
                    health=lambda: {"receipts": ctx.store.receipt_count}, hot_routes=hot,
                    admin_rule=management, metrics=ctx.metrics.service,
                    metrics_route=False)  # GET /metrics is the card's JSON too: api/metrics.py
    app.state.ledger = ctx
    app.state.alerts = runner
    for module in (alerts, receipts, budgets, snapshot, holds, leases, keys, limits, metrics, experiments,
                   events, analytics, insights, dashboard):
        app.include_router(module.router)
    document(app, LEDGER)
    return app
