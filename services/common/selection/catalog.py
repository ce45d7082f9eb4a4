"""Providers prepared once per registry snapshot for fast selection: each provider's expected
latency (observed or SLO), what it offers, its place in the tie-break order, and its
prices as exact integers of femto-dollars per token (10^-15 USD), so a request's cost is two
integer products, exact, with no Decimal arithmetic per provider. A price finer than a
femto-dollar per token falls back to Decimal.

The gateway keeps one catalog per snapshot (and model asked), the router one per registry and
stats version; `select` builds one on the fly from a plain list of providers. A catalog also
keeps the pools of eligible providers its requests have asked for (pool.py, eligible.py).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from services.common.registry.provider import Provider
from services.common.selection.features import offered
from services.common.selection.observed import Latency, Observed, expected_latency

if TYPE_CHECKING:
    from services.common.selection.pool import Pool

UNITS = 10**15  # femto-dollars per dollar
UNITS_D = Decimal(UNITS)
MAX_POOLS = 256  # pools kept per catalog (one per set of request filters); past that, start afresh


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
    pos: int = 0  # the place in the catalog's tie-break order (priority, then name)

    def exact_cost(self, input_tokens: int, output_tokens: int) -> int | Decimal:
        """The request's cost in femto-dollars, exact (an int, or a Decimal for very fine prices)."""
        if self.in_units is not None and self.out_units is not None:
            return self.in_units * input_tokens + self.out_units * output_tokens
        return self.decimal_cost(input_tokens, output_tokens)

    def decimal_cost(self, input_tokens: int, output_tokens: int) -> Decimal:
        p = self.provider
        return (p.input_per_token * input_tokens + p.output_per_token * output_tokens) * UNITS_D


def entry(provider: Provider, latency: Latency, pos: int) -> Entry:
    in_units, out_units = to_units(provider.input_per_token), to_units(provider.output_per_token)
    whole = in_units is not None and out_units is not None
    return Entry(provider, in_units, out_units, latency, offered(provider), whole,
                 math.inf if latency.ms is None else latency.ms, pos)


class Catalog:
    def __init__(self, providers: Iterable[Provider], observed: Observed) -> None:
        self.observed = observed
        # in tie-break order (priority, then name): a stable sort on any key keeps it among equals
        ordered = sorted(providers, key=lambda p: (p.priority, p.name))
        self.entries = tuple([entry(p, expected_latency(p, observed), pos) for pos, p in enumerate(ordered)])
        self.models = frozenset(p.model for p in ordered)
        self.active = tuple(e for e in self.entries if e.provider.active)
        self.windows = tuple(e.provider.context_window for e in self.active)
        self.pools: dict[object, Pool] = {}

    def __len__(self) -> int:
        return len(self.entries)

    # what only the quick path (prepared.py) asks: worked out when first asked

    @cached_property
    def window_steps(self) -> list[int]:
        """The context windows on offer, ascending: a request's needed context picks one step."""
        return sorted(set(self.windows))

    def window_step(self, needed: int) -> int:
        """Which of the catalog's context windows hold `needed` tokens: those from this step up."""
        return bisect_left(self.window_steps, needed)

    @cached_property
    def exact_prices(self) -> bool:
        """Every price a whole number of units."""
        return all(e.whole for e in self.entries)

    @cached_property
    def sortable(self) -> bool:
        """No NaN latency (which would make sorting depend on the input order)."""
        return not any(math.isnan(e.latency_key) for e in self.entries)

    @cached_property
    def positions(self) -> dict[str, list[int]]:
        """Each name's places in the catalog."""
        found: dict[str, list[int]] = {}
        for e in self.entries:
            found.setdefault(e.provider.name, []).append(e.pos)
        return found
