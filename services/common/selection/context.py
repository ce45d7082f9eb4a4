"""What the caller of `select` knows besides the request: the routing configuration, observed
provider stats, in-flight counts, unavailable providers (circuit open, over a limit), the
round-robin turns, a random source for weighted and split choices, and its own region.

The gateway builds one from its registry snapshot and its own counters; the router from its
store and outcome window. `select` itself keeps no state: round-robin turns live in `turns`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.common.selection.config import RoutingConfig
from services.common.selection.observed import Observed


class Turns:
    """Round-robin counters, one per pool (the model or alias asked)."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def take(self, pool: str) -> int:
        turn = self._next.get(pool, 0)
        self._next[pool] = turn + 1
        return turn


@dataclass(slots=True)
class RoutingContext:
    config: RoutingConfig = field(default_factory=RoutingConfig)
    observed: Observed = field(default_factory=Observed)
    in_flight: Mapping[str, int] = field(default_factory=dict)
    unavailable: Mapping[str, str] = field(default_factory=dict)  # provider -> why (circuit open ...)
    turns: Turns = field(default_factory=Turns)
    rng: random.Random = field(default_factory=random.Random)
    region: str | None = None  # where the caller runs, unless the request says
    default_strategy: str = "cost"  # when neither the request, a route nor the config names one
