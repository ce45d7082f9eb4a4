"""Replaying a workload through one strategy: requests arrive at a fixed rate; each is decided
by the real selection function (same eligibility, rules, experiments), tried in the ranked order
like the gateway (up to `max_attempts`), its attempts drawn from the providers' profiles and fed
back as outcomes, so latency routing learns during the run as it does behind the router.

Draws are common to every strategy: request i at provider p always gets the same latency and the
same success, so strategies differ only by where they send traffic. Baselines: `premium` always
the most expensive eligible provider first, `random` a uniform shuffle.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from services.cli.whatif.profiles import Profile
from services.cli.whatif.workload import Job
from services.common.errors import NoProviderMatches
from services.common.money import ZERO, token_cost
from services.common.outcome_window import Outcome, OutcomeWindow
from services.common.registry.provider import Provider
from services.common.selection.config import RoutingConfig
from services.common.selection.context import RoutingContext
from services.common.selection.decide import select
from services.common.selection.observed import Observed
from services.common.selection.request import Requirements, SelectionRequest

BASELINES = ("premium", "random")


@dataclass
class Result:
    strategy: str
    requests: int = 0
    cost: Decimal = ZERO
    latencies: list[float] = field(default_factory=list)
    errors: int = 0  # every attempt failed
    fallbacks: int = 0  # served, but not by the first choice
    unroutable: int = 0  # no eligible provider
    served_by: Counter[str] = field(default_factory=Counter)

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


@dataclass(frozen=True, slots=True)
class World:
    providers: tuple[Provider, ...]
    profiles: dict[str, Profile]
    config: RoutingConfig = field(default_factory=RoutingConfig)
    observed: Observed = field(default_factory=Observed)
    region: str | None = None


def _order(strategy: str, ranked: list, rng: random.Random) -> list:
    if strategy == "premium":
        return sorted(ranked, key=lambda c: (-c.exact, c.name))
    if strategy == "random":
        shuffled = list(ranked)
        rng.shuffle(shuffled)
        return shuffled
    return ranked


def replay(strategy: str, jobs: list[Job], world: World, *, seed: int, rate: float = 5.0,
           publish_every: int = 10, max_attempts: int = 3) -> Result:
    result = Result(strategy)
    rng = random.Random(f"{seed}:{strategy}")
    ctx = RoutingContext(config=world.config, observed=world.observed, rng=rng, region=world.region)
    window = OutcomeWindow(world.observed.window_s, 2000)
    running: list[tuple[float, str]] = []
    in_flight: Counter[str] = Counter()
    asked = "cost" if strategy in BASELINES else strategy
    for i, job in enumerate(jobs):
        now = i / rate
        while running and running[0][0] <= now:
            in_flight[heapq.heappop(running)[1]] -= 1
        ctx.in_flight = in_flight
        if i % publish_every == 0:
            ctx.observed = Observed(world.observed.window_s, world.observed.min_samples,
                                    world.observed.success_floor, window.stats(now) or world.observed.providers)
        request = SelectionRequest(Requirements(model=job.model, key=job.key), asked, job.input_tokens,
                                   job.max_tokens, payload=job.payload)
        result.requests += 1
        try:
            decision = select(world.providers, request, ctx)
        except NoProviderMatches:
            result.unroutable += 1
            continue
        elapsed, served = 0.0, None
        for n, c in enumerate(_order(strategy, list(decision.ranked), rng)[:max_attempts]):
            draw = random.Random(f"{seed}:{i}:{c.name}")
            latency = world.profiles[c.name].latency_ms(draw, job.output_tokens)
            ok = draw.random() >= world.profiles[c.name].error_rate
            elapsed += latency
            window.add(Outcome(c.name, now + elapsed / 1000, latency, ok))
            if ok:
                served = c.provider
                result.fallbacks += n > 0
                break
        first = decision.provider.name
        in_flight[first] += 1
        heapq.heappush(running, (now + elapsed / 1000, first))
        result.latencies.append(elapsed)
        if served is None:
            result.errors += 1
            continue
        result.served_by[served.name] += 1
        result.cost += (served.input_cost(job.input_tokens, job.cache_read_input_tokens,
                                          job.cache_creation_input_tokens, job.cache_creation_1h_input_tokens)
                        + token_cost(job.output_tokens, served.output_per_token))
    return result
