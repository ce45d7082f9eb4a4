"""The gateway's side of selection: builds the selection request from a call (payload, identity)
and the routing context from the local registry snapshot (routing config, observed stats) and its
own counters (round-robin turns, requests in flight); reports outcomes when a receipt is written.

Pipeline calls `decide` when admitting a request and `finished` with every receipt it records.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict

import httpx

from services.common.errors import ModelNotFound
from services.common.registry.provider import Provider
from services.common.selection.catalog import Catalog
from services.common.selection.context import RoutingContext, Turns
from services.common.selection.decide import Decision, select
from services.common.selection.estimate import DEFAULT_OUTPUT_TOKENS, requested_max_output, typical_input_tokens
from services.common.selection.refusal import unknown_model
from services.common.selection.request import Requirements, SelectionRequest
from services.common.selection.smart import VIRTUAL_MODELS
from services.common.settings import Settings
from services.gateway.auth.identify import Identity
from services.gateway.call import Call
from services.gateway.failover import Addresses
from services.gateway.outcomes.reporter import OutcomeReporter
from services.gateway.registry_view import RegistryView

MAX_CATALOGS = 1024
IN_FLIGHT_TTL_S = 600.0  # a request never recorded (refused after selection) stops counting after this


class InFlight:
    """Requests sent and not yet recorded, per chosen provider (for the least-busy strategy)."""

    def __init__(self, ttl_s: float = IN_FLIGHT_TTL_S) -> None:
        self.ttl_s = ttl_s
        self.counts: dict[str, int] = {}
        self._open: OrderedDict[str, tuple[str, float]] = OrderedDict()  # request_id -> (provider, since)

    def start(self, request_id: str, provider: str, now: float) -> None:
        self._expire(now)
        self._open[request_id] = (provider, now)
        self.counts[provider] = self.counts.get(provider, 0) + 1

    def finish(self, request_id: str) -> None:
        entry = self._open.pop(request_id, None)
        if entry is not None:
            self._drop(entry[0])

    def _drop(self, provider: str) -> None:
        left = self.counts.get(provider, 0) - 1
        if left > 0:
            self.counts[provider] = left
        else:
            self.counts.pop(provider, None)

    def _expire(self, now: float) -> None:
        while self._open:
            request_id, (provider, since) = next(iter(self._open.items()))
            if now - since < self.ttl_s:
                return
            del self._open[request_id]
            self._drop(provider)


def providers_for(view: RegistryView, model: str | None) -> tuple[Provider, ...]:
    """The providers worth looking at: a model's, an alias's models', or all for a virtual model."""
    if not model or model in VIRTUAL_MODELS:
        return view.providers
    alias = view.routing.aliases.get(model)
    if alias:
        return tuple(p for m in alias for p in view.by_model.get(m, ()))
    return view.by_model.get(model, ())


def unserved(view: RegistryView, model: str) -> None:
    """A model no provider serves (the gateway's catalogs hold only the model's own providers, so
    the selection cannot list the others): a 404 naming the models that exist. An alias with a
    served model passes."""
    alias = view.routing.aliases.get(model)
    if alias is None:
        raise unknown_model(model, view.by_model, view.routing.aliases)
    if not any(m in view.by_model for m in alias):
        served = ", ".join(sorted(view.by_model)) or "none"
        raise ModelNotFound(f"The model `{model}` is an alias of {', '.join(alias)}, and no registered provider "
                            f"serves any of them; models (GET /v1/models): {served}", field="model")


class GatewayRouting:
    def __init__(self, settings: Settings, router: Addresses | None = None) -> None:
        self.settings = settings
        self.turns = Turns()
        self.rng = random.Random()
        self.in_flight = InFlight()
        self.reporter = OutcomeReporter(router or settings.router_url, interval_s=settings.outcome_report_interval_s,
                                        batch_size=settings.outcome_batch_size)
        self._view: RegistryView | None = None
        self._catalogs: dict[str | None, Catalog] = {}
        self._ctx: RoutingContext | None = None

    def _follow(self, view: RegistryView) -> None:
        """A new snapshot: what was prepared for the last one (catalogs, context) is dropped."""
        if view is not self._view:
            self._view, self._catalogs, self._ctx = view, {}, None

    def _context(self, view: RegistryView) -> RoutingContext:
        """The selection context, made once per snapshot: its parts (in-flight counts, turns, rng)
        are this gateway's live objects, so one context serves every request of the snapshot."""
        self._follow(view)
        if self._ctx is None:
            self._ctx = RoutingContext(config=view.routing, observed=view.observed, in_flight=self.in_flight.counts,
                                       turns=self.turns, rng=self.rng, region=self.settings.region,
                                       default_strategy=self.settings.default_optimization)
        return self._ctx

    def catalog(self, view: RegistryView, model: str | None) -> Catalog:
        """The providers for `model`, prepared once per snapshot (a new snapshot starts afresh)."""
        self._follow(view)
        prepared = self._catalogs.get(model)
        if prepared is None:
            if len(self._catalogs) >= MAX_CATALOGS:  # models asked that nobody serves must not pile up
                self._catalogs.clear()
            prepared = self._catalogs[model] = Catalog(providers_for(view, model), view.observed)
        return prepared

    def requirements(self, call: Call, identity: Identity | None) -> Requirements:
        """The call's requirements with who is asking: the key given, else the virtual key's id,
        else the OpenAI `user`, else the agent; the team from the virtual key."""
        req = call.requirements
        key = req.key or (identity.key_id if identity else None) or call.payload.get("user") or call.agent
        team = req.team or (identity.key.team if identity and identity.key else None)
        return req.asked_by(key, team)

    def decide(self, view: RegistryView, call: Call, identity: Identity | None = None) -> Decision:
        req = SelectionRequest(
            requirements=self.requirements(call, identity),
            # None when the client named no strategy: the route's, the routing config's default or
            # TOLLWAY_DEFAULT_OPTIMIZATION applies (selection/decide.py); a strategy named is used,
            # even the default's
            optimization=call.optimization,
            input_tokens=typical_input_tokens(call.payload),
            output_tokens=requested_max_output(call.payload) or DEFAULT_OUTPUT_TOKENS,
            payload=call.payload,
        )
        model = req.requirements.model
        if model and model not in view.by_model and model not in VIRTUAL_MODELS:
            unserved(view, model)
        decision = select(self.catalog(view, model), req, self._context(view))
        self.in_flight.start(call.request_id, decision.provider.name, time.monotonic())
        return decision

    def finished(self, receipt: dict) -> None:
        """Every receipt the pipeline records: the request is no longer in flight; report outcomes."""
        self.in_flight.finish(receipt["request_id"])
        self.reporter.observe(receipt)

    def start(self, client: httpx.AsyncClient) -> None:
        self.reporter.start(client)

    async def stop(self, client: httpx.AsyncClient) -> None:
        await self.reporter.stop(client)

    def health(self) -> dict[str, object]:
        return {"in_flight": sum(self.in_flight.counts.values()), "outcomes_sent": self.reporter.sent,
                "outcomes_buffered": len(self.reporter.buffer), "outcomes_dropped": self.reporter.dropped,
                "router_connected": self.reporter.connected}
