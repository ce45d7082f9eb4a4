"""The router's health checker: every `interval_s` it probes each active provider (concurrently,
each within `timeout_s`), feeds the results and the gateways' outcome reports to the tracker, and
writes a changed status into the registry, which moves the snapshot the gateways follow.

A probe carries the provider's key only when its `api_key_env` is a name the operator allowed
(TOLLWAY_API_KEY_ENV_ALLOW, services/common/registry/key_env.py); a registry written before that
rule may hold another name: its provider is probed without a key, and a warning says why."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from functools import partial
from typing import Any

import httpx
import structlog

from services.common.clock import Clock, utc_iso
from services.common.outcome_window import Outcome
from services.common.registry.key_env import KeyEnvRule, ProviderKeys
from services.common.registry.provider import Health, Provider
from services.common.settings import Settings
from services.common.tasks import BackgroundLoop
from services.router.health.probe import probe
from services.router.health.tracker import HealthTracker, Thresholds
from services.router.store.base import RegistryStore

log = structlog.get_logger("tollway.router.health")

MAX_CONCURRENT_PROBES = 32


class HealthChecker:
    def __init__(self, settings: Settings, store: RegistryStore, clock: Clock,
                 on_change: Callable[[], Awaitable[Any]], environ: Mapping[str, str],
                 providers: Callable[[], list[Provider]] | None = None) -> None:
        self.interval_s = settings.health_check_interval_s
        self.timeout_s = settings.health_check_timeout_s
        self.store = store
        self.clock = clock
        self.on_change = on_change
        self.providers = providers or (lambda: [])  # the active providers as the router last read them
        # where provider keys are looked up (the router's environment), under allowed names only
        self.environ = ProviderKeys(KeyEnvRule.from_settings(settings), environ)
        self._refused: set[tuple[str, str]] = set()  # (provider, api_key_env) already warned about
        self.tracker = HealthTracker(Thresholds(settings.health_unhealthy_after, settings.health_healthy_after,
                                                settings.health_passive_failures if self.enabled else 0))
        self.rounds = 0
        self._loop: BackgroundLoop | None = None

    @property
    def enabled(self) -> bool:
        return self.interval_s > 0

    async def _current(self, name: str, endpoint: str | None = None) -> Provider | None:
        """The stored provider a result is about; None when it is gone, inactive, or (for a probe)
        no longer at the address probed."""
        provider = await self.store.get(name)
        if provider is None or not provider.active or (endpoint is not None and provider.endpoint != endpoint):
            return None
        return provider

    async def _store(self, provider: Provider, health: Health | None) -> None:
        """A changed status goes into the registry (and moves the snapshot)."""
        if health is None:
            return
        name = provider.name
        await self.store.upsert(replace(provider, health=health))
        await self.on_change()
        log.info("provider_health_changed", provider=name, status=health.status, reason=health.reason)

    def _warn_refused(self, providers: list[Provider]) -> None:
        for p in providers:
            env = p.api_key_env
            if env and (p.name, env) not in self._refused and (refusal := self.environ.rule.refusal(env)):
                self._refused.add((p.name, env))
                log.warning("provider_key_env_refused", provider=p.name, reason=refusal + "; probed without a key")

    async def check_all(self, client: httpx.AsyncClient) -> None:
        providers = await self.store.list()
        self._warn_refused(providers)
        gate = asyncio.Semaphore(MAX_CONCURRENT_PROBES)

        async def one(p: Provider) -> tuple[Provider, str | None]:
            async with gate:
                return p, await probe(client, p, self.environ, self.timeout_s)

        for probed, failure in await asyncio.gather(*(one(p) for p in providers)):
            current = await self._current(probed.name, probed.endpoint)
            if current is not None:
                now = utc_iso(self.clock.now())
                await self._store(current, self.tracker.probe(current.name, current.health, failure is None,
                                                        failure or "", now))
        self.rounds += 1

    async def observe_outcomes(self, outcomes: Iterable[Outcome]) -> None:
        """Passive health: the gateways' reports of real requests (POST /outcomes)."""
        if not self.tracker.thresholds.passive_failures:
            return
        now = utc_iso(self.clock.now())
        for o in outcomes:
            current = await self._current(o.provider)
            if current is not None:
                await self._store(current, self.tracker.outcome(o.provider, current.health, o.success, now))

    def start(self, client: httpx.AsyncClient) -> None:
        if self.enabled:
            self._loop = BackgroundLoop("health-checks", partial(self.check_all, client), self.interval_s,
                                        failed_event="health_round_failed", logger=log)  # one bad round: the next
            self._loop.start()

    async def stop(self) -> None:
        if self._loop is not None:
            await self._loop.stop()

    def summary(self) -> dict[str, Any]:
        statuses = [p.health.status for p in self.providers()]
        return {"interval_s": self.interval_s, "rounds": self.rounds,
                **{s: statuses.count(s) for s in ("healthy", "unhealthy", "unknown")}}
