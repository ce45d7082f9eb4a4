"""Providers and selections for the strategy tests: made the way the router makes them."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.common.registry.provider import Provider, provider_from_registration
from services.common.selection.config import RoutingConfig
from services.common.selection.context import RoutingContext
from services.common.selection.decide import Decision, select
from services.common.selection.observed import Observed, ProviderStats
from services.common.selection.request import Requirements, SelectionRequest

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def provider(name: str, *, model: str = "gpt-4", inp: str | Decimal = "10", out: str | Decimal = "30",
             latency_ms: float | None = None, context_window: int = 8192, features: tuple[str, ...] = (),
             availability: float | None = None, throughput_tps: float | None = None, **extra: Any) -> Provider:
    body: dict[str, Any] = {"name": name, "model": model, "context_window": context_window,
                            "endpoint": "http://sim:8100", "input_per_mtok": Decimal(inp),
                            "output_per_mtok": Decimal(out), "features": list(features), **extra}
    slo = {"latency_p95_ms": latency_ms, "availability": availability, "throughput_tps": throughput_tps}
    if any(v is not None for v in slo.values()):
        body["slo"] = {k: v for k, v in slo.items() if v is not None}
    return provider_from_registration(body, NOW)


def ctx(config: dict[str, Any] | None = None, *, stats: dict[str, tuple[float | None, float, int]] | None = None,
        min_samples: int = 20, seed: int = 7, **extra: Any) -> RoutingContext:
    observed = Observed(min_samples=min_samples, providers={
        n: ProviderStats(p95, rate, samples) for n, (p95, rate, samples) in (stats or {}).items()})
    return RoutingContext(config=RoutingConfig.from_json(config), observed=observed, rng=random.Random(seed),
                          **extra)


def ask(providers: list[Provider], strategy: str | None = "cost", context: RoutingContext | None = None, *,
        payload: dict[str, Any] | None = None, input_tokens: int = 1000, output_tokens: int = 500,
        exclude: tuple[str, ...] = (), **requirements: Any) -> Decision:
    request = SelectionRequest(Requirements(**requirements), strategy, input_tokens, output_tokens,
                               frozenset(exclude), payload)
    return select(providers, request, context or ctx())


def user(text: str, **payload: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **payload}


def names(decision: Decision) -> list[str]:
    return [c.name for c in decision.ranked]
