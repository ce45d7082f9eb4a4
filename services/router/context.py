"""What every router route needs: settings, the registry store, the routing configuration, the
outcome book, the clock, the version signal that wakes snapshot long-polls, and the providers
prepared for selection (one catalog per registry and stats version).

The snapshot's version is the sum of three counters that only go up: the registry's, the routing
configuration's and the stats epoch, so it moves whenever any of them does. The active providers
and the routing configuration are kept here as of their versions (a snapshot or a selection reads
no database); `changed()` reloads what moved, after a write here or when another router replica's
write is seen (services/common/db_watch.py).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from starlette.requests import Request

from services.common.clock import Clock
from services.common.http.longpoll import VersionSignal
from services.common.registry.provider import Provider
from services.common.selection.catalog import Catalog
from services.common.selection.config import RoutingConfig
from services.common.selection.context import RoutingContext, Turns
from services.common.selection.observed import Observed
from services.common.settings import Settings
from services.router.health.checker import HealthChecker
from services.router.outcomes.book import OutcomeBook
from services.router.store.base import RegistryStore, RoutingStore


@dataclass
class RouterContext:
    settings: Settings
    store: RegistryStore
    clock: Clock
    routing: RoutingStore
    outcomes: OutcomeBook
    signal: VersionSignal = field(default_factory=VersionSignal)
    config: RoutingConfig = field(default_factory=RoutingConfig)
    turns: Turns = field(default_factory=Turns)
    rng: random.Random = field(default_factory=random.Random)
    _prepared: tuple[int, Observed, Catalog, dict[str, str]] | None = field(default=None, repr=False)
    health: HealthChecker | None = None  # active probes and passive health from outcome reports
    registry_version: int = -1  # the version `providers` were read at (-1: not read yet)
    providers: list[Provider] = field(default_factory=list)  # the active ones, ordered by name
    _reloading: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def snapshot_version(self) -> int:
        return max(self.registry_version, 0) + self.config.version + self.outcomes.epoch

    async def reload_config(self) -> None:
        self.config = RoutingConfig.from_json(await self.routing.config())

    async def changed(self) -> int:
        """Call after a write (or when another replica wrote): reloads the providers and the routing
        configuration if their versions moved, and wakes the long-pollers if the snapshot's did."""
        async with self._reloading:  # one reload at a time: an older read never lands after a newer
            registry_version = await self.store.version()
            if registry_version != self.registry_version:
                # read after the version: a change in between is read again at the next call
                self.providers, self.registry_version = await self.store.list(), registry_version
            if await self.routing.version() != self.config.version:
                await self.reload_config()
            version = self.snapshot_version()
            if version != self.signal.version:
                self.signal.bump(version)
            return version

    def prepared(self) -> tuple[Catalog, dict[str, str]]:
        """The active providers prepared for selection and the unhealthy ones (name -> why), kept
        until the registry or the stats move."""
        version, observed = self.registry_version, self.outcomes.observed
        kept = self._prepared
        if kept is None or kept[0] != version or kept[1] is not observed:
            providers = self.providers
            unhealthy = {p.name: why for p in providers if (why := p.health.exclusion()) is not None}
            kept = self._prepared = (version, observed, Catalog(providers, observed), unhealthy)
        return kept[2], kept[3]

    def selection_context(self, in_flight: dict[str, int] | None = None,
                          unavailable: dict[str, str] | None = None) -> RoutingContext:
        return RoutingContext(config=self.config, observed=self.outcomes.observed, in_flight=in_flight or {},
                              unavailable=unavailable or {}, turns=self.turns, rng=self.rng,
                              default_strategy=self.settings.default_optimization)


def router_context(request: Request) -> RouterContext:
    ctx: RouterContext = request.app.state.router_context
    return ctx
