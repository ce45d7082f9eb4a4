"""The gateway app: wires the client API to the pipeline and runs the background followers
(registry, budgets) and the receipt shipper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from services.common.clock import Clock, SystemClock
from services.common.gc_pauses import GcPauses
from services.common.http.admin import service_headers
from services.common.http.app import build_app, contract_body, with_middleware
from services.common.http.hot_path import HotPath
from services.common.http.openapi import document
from services.common.loop_lag import LoopLag
from services.common.settings import Settings
from services.gateway.api import admin_cache, admin_limits, ledger_proxy
from services.gateway.api.breakers import list_breakers
from services.gateway.api.completions import completions
from services.gateway.api.embeddings import embeddings
from services.gateway.api.messages import count_tokens, messages
from services.gateway.api.openai_routes import chat_completions, list_models, retrieve_model
from services.gateway.api.own_limits import own_limits
from services.gateway.api.route import route
from services.gateway.auth.directory import KeyDirectory
from services.gateway.budgets.leases import LeaseBook
from services.gateway.budgets.ledger_client import LedgerBudgetClient
from services.gateway.caching import make_gateway_cache
from services.gateway.failover import Addresses
from services.gateway.forwarding.http1.httpx_transport import Http1Transport
from services.gateway.forwarding.upstream import make_upstream
from services.gateway.limits.backend import make_limiter
from services.gateway.limits.gate import RateGate, parse_specs
from services.gateway.metrics import install as install_metrics
from services.gateway.openapi import GATEWAY
from services.gateway.pipeline import Pipeline
from services.gateway.receipts.shipper import ReceiptShipper
from services.gateway.receipts.writer import ReceiptWriter
from services.gateway.registry_view import RegistryView, budgeted
from services.gateway.snapshots.follower import SnapshotFollower

T = TypeVar("T")


def management(method: str, path: str) -> bool:
    """The gateway's own management endpoints all live under /admin."""
    return path.startswith("/admin/")


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Any:
    """The gateway as an ASGI app: the hot path in front of a FastAPI app (docs, health, the rest)."""
    settings = settings or Settings()
    clock = clock or SystemClock()
    state_dir = settings.service_dir("gateway")
    state_dir.mkdir(parents=True, exist_ok=True)

    # every address of each (TOLLWAY_ROUTER_URL / TOLLWAY_LEDGER_URL, comma-separated), shared by
    # every channel to it: one that fails is skipped by all for its back-off (failover.py)
    router = Addresses.of("router", settings.router_url)
    ledger = Addresses.of("ledger", settings.ledger_url)

    def follow(name: str, addresses: Addresses, path: str, parse: Callable[[dict[str, Any]], T],
               empty: T) -> SnapshotFollower[T]:
        """A long-polled snapshot of another service, cached on disk for a restart while it is down."""
        return SnapshotFollower(name, addresses, path, parse, empty, cache_file=state_dir / f"{name}.json",
                                wait_s=settings.snapshot_wait_s)

    registry = follow("registry", router, "/registry/snapshot", RegistryView.from_snapshot, RegistryView())
    budgets = follow("budgets", ledger, "/budgets/snapshot", budgeted, budgeted({}))
    keys = follow("keys", ledger, "/keys/snapshot", KeyDirectory.from_snapshot, KeyDirectory())
    followers: list[SnapshotFollower[Any]] = [registry, budgets, keys]
    shipper = ReceiptShipper(
        settings.costs_dir,
        state_dir / "shipped.json",
        ledger,
        batch_size=settings.ship_batch_size,
        interval_s=settings.ship_interval_s,
        rejected_file=state_dir / "rejected.jsonl",
        max_bytes=settings.max_body_bytes,
    )
    writer = ReceiptWriter(settings.costs_dir, on_write=shipper.mark)
    ledger_budgets = LedgerBudgetClient(ledger, settings.ledger_timeout_s, headers=service_headers(settings))
    leases = LeaseBook(
        ledger_budgets, ttl_s=settings.lease_ttl_s, idle_s=settings.lease_idle_s,
        chunk_requests=settings.lease_requests, receipts_booked=lambda: shipper.caught_up,
    )
    budgets.on_change = lambda old, new: leases.revoke(old.changed(new))  # a cap changed: no riding old leases
    upstream = make_upstream(settings)
    gate = RateGate(
        make_limiter(settings, clock), parse_specs(settings.rate_limits or "[]", where="TOLLWAY_RATE_LIMITS"), clock
    )
    cache = make_gateway_cache(settings, clock) if settings.cache_enabled else None
    pipeline = Pipeline(settings, clock, registry, budgets, keys, leases, gate, cache, upstream, writer,
                        shipper=shipper)
    ledger_reads = ledger_proxy.LedgerProxy(ledger, settings.ledger_timeout_s)
    loop_lag = LoopLag()
    gc_pauses = GcPauses()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # the control plane (snapshots, receipts, outcomes) on the hot path's own HTTP/1.1 client
        control = httpx.AsyncClient(timeout=httpx.Timeout(settings.ledger_timeout_s), headers=service_headers(settings),
                                    transport=Http1Transport())
        await upstream.start()
        await ledger_budgets.start()
        await ledger_reads.start()
        leases.start()
        for follower in followers:
            follower.start(control)
        shipper.start(control)
        pipeline.routing.start(control)
        loop_lag.start()
        gc_pauses.install()
        # at most 2 s for a first snapshot, all three at once: a router or ledger that is down
        # delays the start by 2 s, not 2 s each (the disk cache stands in meanwhile)
        await asyncio.gather(*(follower.wait_first(2.0) for follower in followers))
        try:
            yield
        finally:
            await loop_lag.stop()
            gc_pauses.remove()
            for follower in followers:
                await follower.stop()
            await leases.close()
            await ledger_budgets.close()
            await ledger_reads.close()
            await shipper.stop(control)
            await pipeline.routing.stop(control)
            await upstream.close()
            await gate.limiter.close()
            if cache is not None:
                await cache.close()
            writer.close()
            await control.aclose()

    def dependencies() -> dict[str, Any]:
        """The router and the ledger, each reachable only while every channel to it works (the
        snapshot long-polls notice at once; outcome reports and receipt shipping when they send)."""
        router_dep = {"url": router.current, "urls": router.urls,
                      "reachable": registry.connected and pipeline.routing.reporter.connected,
                      "registry_snapshot": registry.connected, "outcome_reports": pipeline.routing.reporter.connected}
        ledger_dep = {"url": ledger.current, "urls": ledger.urls,
                      "reachable": budgets.connected and keys.connected and shipper.connected,
                      "budgets_snapshot": budgets.connected, "keys_snapshot": keys.connected,
                      "receipt_shipping": shipper.connected}
        return {"router": router_dep, "ledger": ledger_dep}

    def health() -> dict[str, Any]:
        deps = dependencies()
        down = [name for name, dep in deps.items() if not dep["reachable"]]
        return {
            # "degraded" names each dependency it cannot reach; the flags below say which channel
            "status": "degraded" if down else "ok",
            "degraded": down,
            "dependencies": deps,
            "registry": {
                "version": registry.version,
                "providers": len(registry.value.providers),
                "connected": registry.connected,
            },
            "budgets": {
                "version": budgets.version,
                "runs": sum(1 for b in budgets.value if b.startswith("run:")),
                "budgets": len(budgets.value),
                "connected": budgets.connected,
                "leases": leases.active,
                "leases_draining": leases.draining,  # given back, kept alive until their receipts are booked
                "lease_grows": leases.grows,
                "reservations_in_flight": leases.in_flight,
            },
            # admitted requests whose receipt is not written yet: 0 whenever nothing is in flight
            "settlements_open": pipeline.open_settlements,
            "keys": {"version": keys.version, "keys": len(keys.value), "connected": keys.connected},
            "routing": {**pipeline.routing.health(), "router_connected": deps["router"]["reachable"]},
            "rate_limits": {"backend": settings.rate_limit_backend, **asdict(gate.limiter.counters)},
            "breakers": pipeline.forwarder.breakers.summary(),
            "event_loop_lag": loop_lag.summary(),
            "gc_pauses": gc_pauses.summary(),
            # keep-alive at work: connections made to providers vs requests sent (streams included)
            "upstream": {"connections_opened": upstream.pool.opened, "idle": upstream.pool.idle,
                         "resent_on_fresh_connection": upstream.pool.resent},
            "receipts": {
                "shipped": shipper.shipped,
                "zero_cost_successes": pipeline.zero_cost_successes,
                "backlog_files": shipper.backlog_files,
                "ledger_connected": deps["ledger"]["reachable"],
            },
        }

    app = build_app("gateway", settings, port=settings.gateway_port, lifespan=lifespan, health=health, middleware=False,
                    metrics_windows=ledger_proxy.metrics_window)  # /metrics?window=: the ledger's card
    app.state.pipeline = pipeline
    app.state.shipper = shipper
    pipeline.observe_receipt = install_metrics(app.state.metrics, pipeline, shipper, leases, gate).observe
    app.state.ledger_proxy = ledger_reads
    chat_doc = contract_body("chat_request")
    app.post(
        "/v1/chat/completions",
        tags=["openai"],
        openapi_extra=chat_doc,
        summary="OpenAI chat completions (plain or SSE stream)",
    )(chat_completions)
    app.post("/chat/completions", tags=["openai"], include_in_schema=False)(chat_completions)
    app.get("/v1/models", tags=["openai"], summary="Models served by registered providers")(list_models)
    app.get("/v1/models/{model:path}", tags=["openai"], summary="One model or alias (404 model_not_found)")(
        retrieve_model)
    app.post("/v1/completions", tags=["openai"],
             summary="OpenAI legacy completions, served by chat models (plain or SSE stream)")(completions)
    app.post("/v1/messages/count_tokens", tags=["anthropic"],
             summary="Anthropic token count: an Anthropic-format provider's, else the estimate")(count_tokens)
    app.get("/admin/breakers", tags=["ops"], summary="Circuit breakers of this gateway process")(list_breakers)
    app.post("/v1/messages", tags=["anthropic"], openapi_extra=contract_body("messages_request"),
             summary="Anthropic Messages (plain or SSE stream), routed to any provider")(messages)
    app.post("/v1/embeddings", tags=["openai"], openapi_extra=contract_body("embeddings_request"),
             summary="OpenAI embeddings, routed to providers with the embeddings feature")(embeddings)
    app.post(
        "/route",
        tags=["tollway"],
        openapi_extra=contract_body("routing_request"),
        summary="Route one request; answer, decision and receipt in one body",
    )(route)
    app.get("/admin/cache", tags=["admin"], summary="Response cache statistics")(admin_cache.stats)
    app.delete("/admin/cache", tags=["admin"], summary="Drop cached answers: by key, tenant, model or all")(
        admin_cache.invalidate)
    app.get("/admin/limits", tags=["admin"], summary="Rate limits in force and the limiter's counters")(
        admin_limits.limits)
    app.get("/admin/limits/usage", tags=["admin"], summary="Where one caller stands in every limit")(
        admin_limits.usage)
    app.get("/admin/limits/violations", tags=["admin"],
            summary="Refusals per limit on a UTC day, and the newest refusals: who, which limit, asked vs left")(
        admin_limits.violations)
    app.get("/admin/limits/active", tags=["admin"], summary="Buckets near their limit now (?near=0.8)")(
        admin_limits.active)
    app.post("/admin/limits/reset", tags=["admin"],
             summary="A limit starts afresh for one key, user, team, org, IP, provider or globally")(
        admin_limits.reset)
    app.get("/v1/limits", tags=["tollway"], summary="The calling key's own rate limits and where it stands")(
        own_limits)
    # a run's receipts and budgets on the gateway's port (forwarded with the caller's credentials)
    app.get("/receipts/{run_id}", tags=["ledger"], summary="A run's receipts, from the ledger")(
        ledger_proxy.run_receipts)
    app.get("/receipts/by-id/{request_id}", tags=["ledger"], summary="One receipt by its request id, from the"
            " ledger")(ledger_proxy.receipt_by_id)
    app.post("/budget", tags=["ledger"], openapi_extra=contract_body("budget"),
             summary="Set a run's budget at the ledger (admin key)")(
        ledger_proxy.set_budget)
    app.get("/budget/{run_id}", tags=["ledger"], summary="A run's budget, from the ledger")(ledger_proxy.run_budget)
    app.delete("/budget/{run_id}", tags=["ledger"], summary="Drop a run's budget at the ledger (admin key)")(
        ledger_proxy.run_budget)
    for read in ledger_proxy.ANALYTICS_READS:  # the ledger's analytics, as the caller may read them there
        app.get(f"/analytics/{read}", tags=["ledger"], summary=f"The ledger's /analytics/{read}")(
            ledger_proxy.analytics_read)
    document(app, GATEWAY)
    hot = HotPath(
        app,
        {
            ("POST", "/v1/chat/completions"): chat_completions,
            ("POST", "/chat/completions"): chat_completions,
            ("POST", "/route"): route,
            ("GET", "/v1/models"): list_models,
        },
    )
    return with_middleware(hot, settings, service="gateway", admin_rule=management, metrics=app.state.metrics)
