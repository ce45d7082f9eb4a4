"""Providers prepared once per registry snapshot for fast selection: each provider's expected
latency (observed or SLO), what it offers, and its prices as exact integers of femto-dollars
per token (10^-15 USD), so a request's cost is two integer products, exact, with no Decimal
arithmetic per provider. A price finer than a femto-dollar per token falls back to Decimal.

The gateway keeps one catalog per snapshot (and model asked); `select` builds one on the fly
from a plain list of providers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from services.common.registry.provider import Provider
from services.common.selection.features import offered
from services.common.selection.observed import Latency, Observed, expected_latency

UNITS = 10**15  # femto-dollars per dollar
UNITS_D = Decimal(UNITS)


def to_units(price: Decimal) -> int | None:
    """`price` in femto-dollars when that is a whole number, else None."""
    scaled = price * UNITS_D
    return int(scaled) if scaled == scaled.to_integral_value() else None


@dataclass(frozen=True, slots=True)
class Entry:
    provider: Provider
    in_units: int | None
    out_units: int | None
    latency: Latency
    offers: frozenset[str]
    whole: bool = False  # both prices are whole femto-dollars: the cost is integer arithmetic
    latency_key: float = math.inf  # the expected p95 for sorting; no figure sorts last

    def __post_init__(self) -> None:
        object.__setattr__(self, "whole", self.in_units is not None and self.out_units is not None)
        if self.latency.ms is not None:
            object.__setattr__(self, "latency_key", self.latency.ms)

    def exact_cost(self, input_tokens: int, output_tokens: int) -> int | Decimal:
        """The request's cost in femto-dollars, exact (an int, or a Decimal for very fine prices)."""
        if self.in_units is not None and self.out_units is not None:
            return self.in_units * input_tokens + self.out_units * output_tokens
        return self.decimal_cost(input_tokens, output_tokens)

    def decimal_cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        p = self.provider
        return (p.input_per_token * input_tokens + p.output_per_token * output_tokens) * UNITS_D


class Catalog:
    def __init__(self, providers: Iterable[Provider], observed: Observed) -> None:
        self.observed = observed
        # in tie-break order (priority, then name): a stable sort on any key keeps it among equals
        ordered = sorted(providers, key=lambda p: (p.priority, p.name))
        self.entries = tuple(Entry(p, to_units(p.input_per_token), to_units(p.output_per_token),
                                   expected_latency(p, observed), offered(p)) for p in ordered)
        self.models = frozenset(p.model for p in ordered)
        self.active = tuple(e for e in self.entries if e.provider.active)
        self.windows = tuple(e.provider.context_window for e in self.active)

    def __len__(self) -> int:
        return len(self.entries)
