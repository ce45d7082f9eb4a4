"""What every router route needs: settings, the registry store, the clock, and the version
signal that wakes snapshot long-polls."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from services.common.clock import Clock
from services.common.http.longpoll import VersionSignal
from services.common.settings import Settings
from services.router.store.base import RegistryStore


@dataclass
class RouterContext:
    settings: Settings
    store: RegistryStore
    clock: Clock
    signal: VersionSignal = field(default_factory=VersionSignal)

    def changed(self) -> int:
        """Call after a store write: wakes the long-pollers if the stored version moved."""
        stored = self.store.version()
        if stored != self.signal.version:
            self.signal.bump(stored)
        return stored


def router_context(request: Request) -> RouterContext:
    ctx: RouterContext = request.app.state.router_context
    return ctx
