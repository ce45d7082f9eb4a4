"""Registry statistics: how many providers are active or soft-deleted, what models and features
the active ones serve, and the cheapest and most expensive prices per million tokens."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from services.common.registry.provider import Provider

PRICES: dict[str, Callable[[Provider], Decimal]] = {
    "input_per_mtok": lambda p: p.input_per_mtok,
    "output_per_mtok": lambda p: p.output_per_mtok,
}


def _priced(provider: Provider, price: Decimal) -> dict[str, Any]:
    return {"provider": provider.name, "model": provider.model, "per_mtok": price}


def _extremes(active: Sequence[Provider], price_of: Callable[[Provider], Decimal]) -> dict[str, Any]:
    if not active:
        return {"cheapest": None, "most_expensive": None}
    cheapest = min(active, key=lambda p: (price_of(p), p.name))  # ties: first by name
    dearest = min(active, key=lambda p: (-price_of(p), p.name))
    return {"cheapest": _priced(cheapest, price_of(cheapest)),
            "most_expensive": _priced(dearest, price_of(dearest))}


def registry_stats(providers: Sequence[Provider], version: int) -> dict[str, Any]:
    """`providers` includes the soft-deleted ones; models, features and prices count active ones."""
    active = [p for p in providers if p.active]
    models = Counter(p.model for p in active)
    features = Counter(f for p in active for f in p.features)
    return {
        "version": version,
        "providers": {"total": len(providers), "active": len(active),
                      "inactive": len(providers) - len(active)},
        "models": dict(sorted(models.items())),
        "features": dict(sorted(features.items())),
        "prices": {name: _extremes(active, price_of) for name, price_of in PRICES.items()},
    }
