"""What every router route needs: settings, the registry store, the routing configuration, the
outcome book, the clock, the version signal that wakes snapshot long-polls, and the providers
prepared for selection (one catalog per registry and stats version).

The snapshot's version is the sum of three counters that only go up: the registry's, the routing
configuration's and the stats epoch, so it moves whenever any of them does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from starlette.requests import Request

from services.common.clock import Clock
from services.common.http.longpoll import VersionSignal
from services.common.selection.catalog import Catalog
from services.common.selection.config import RoutingConfig
from services.common.selection.context import RoutingContext, Turns
from services.common.selection.observed import Observed
from services.common.settings import Settings
from services.router.health.checker import HealthChecker
from services.router.outcomes.book import OutcomeBook
from services.router.store.base import RegistryStore
from services.router.store.routing_sqlite import SqliteRoutingStore


@dataclass
class RouterContext:
    settings: Settings
    store: RegistryStore
    clock: Clock
    routing: SqliteRoutingStore
    outcomes: OutcomeBook
    signal: VersionSignal = field(default_factory=VersionSignal)
    config: RoutingConfig = field(default_factory=RoutingConfig)
    turns: Turns = field(default_factory=Turns)
    rng: random.Random = field(default_factory=random.Random)
    _prepared: tuple[int, Observed, Catalog, dict[str, str]] | None = field(default=None, repr=False)
    health: HealthChecker | None = None  # active probes and passive health from outcome reports

    def snapshot_version(self) -> int:
        return self.store.version() + self.config.version + self.outcomes.epoch

    def reload_config(self) -> None:
        self.config = RoutingConfig.from_json(self.routing.config())

    def changed(self) -> int:
        """Call after a write: wakes the long-pollers if the snapshot's version moved."""
        if self.routing.version() != self.config.version:
            self.reload_config()
        version = self.snapshot_version()
        if version != self.signal.version:
            self.signal.bump(version)
        return version

    def prepared(self) -> tuple[Catalog, dict[str, str]]:
        """The active providers prepared for selection and the unhealthy ones (name -> why), kept
        until the registry or the stats move (the version is read before the providers: a change
        in between only rebuilds them sooner)."""
        version, observed = self.store.version(), self.outcomes.observed
        kept = self._prepared
        if kept is None or kept[0] != version or kept[1] is not observed:
            providers = self.store.list()
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
