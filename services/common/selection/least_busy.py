"""Least-busy strategy: the fewest requests in flight (counts supplied by the caller: the
gateway's own, or the ones given to POST /select) for each provider's capacity; ties go to the
cheaper.

Capacity is the registered SLO `throughput_tps` (tokens a second the provider sustains): when
any candidate declares one, providers rank by requests in flight per declared token a second, so
a provider declaring ten times the throughput takes ten times the requests before it counts as
busier; a provider declaring none counts as the smallest declared among the candidates (nothing
is assumed of a capacity nobody stated). When none declares one, the raw counts rank."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import compress, repeat
from operator import eq, itemgetter

from services.common.registry.provider import Provider
from services.common.selection.candidate import Candidate, Job, Ranking, cheapest_of, runner_up, score_all
from services.common.selection.catalog import Entry
from services.common.selection.ranked import HEAD, ranked
from services.common.selection.view import View


def capacities(providers: Sequence[Provider]) -> dict[int, float] | None:
    """Each provider's throughput for ranking (by `id`), or None when no provider declares one."""
    declared = [p.slo_throughput_tps for p in providers]
    smallest = min((t for t in declared if t is not None), default=None)
    if smallest is None:
        return None
    return {id(p): smallest if t is None else t for p, t in zip(providers, declared, strict=True)}


def order(candidates: list[Candidate], busy: Mapping[str, int],
          tps: Mapping[int, float] | None = None) -> list[Candidate]:
    if tps is None:
        return sorted(candidates, key=lambda c: (busy.get(c.name, 0), c.exact, c.provider.priority, c.name))
    return sorted(candidates, key=lambda c: (busy.get(c.name, 0) / tps[id(c.provider)], c.exact,
                                             c.provider.priority, c.name))


def _load(c: Candidate, busy: Mapping[str, int], tps: Mapping[int, float] | None) -> str:
    n = busy.get(c.name, 0)
    if tps is None:
        return f"{n} in flight"
    stated = "declared" if c.provider.slo_throughput_tps is not None else "none declared: the smallest"
    return f"{n} in flight for {tps[id(c.provider)]:g} tokens/s ({stated})"


def _equal(a: Candidate, b: Candidate, busy: Mapping[str, int], tps: Mapping[int, float] | None) -> bool:
    if tps is None:
        return busy.get(a.name, 0) == busy.get(b.name, 0)
    return busy.get(a.name, 0) / tps[id(a.provider)] == busy.get(b.name, 0) / tps[id(b.provider)]


def explain(ordered: Sequence[Candidate], job: Job, tps: Mapping[int, float] | None = None) -> Ranking:
    busy = job.ctx.in_flight
    best, nxt = ordered[0], runner_up(ordered)
    reason = f"least busy{' for its throughput' if tps is not None else ''}: {_load(best, busy, tps)}"
    confidence = 1.0
    if nxt is not None:
        reason += f"; next {nxt.name} {_load(nxt, busy, tps)}"
        if _equal(best, nxt, busy, tps):
            confidence = 0.5
    return Ranking(ordered, reason, confidence)


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    tps = capacities([c.provider for c in candidates])
    return explain(order(candidates, job.ctx.in_flight, tps), job, tps)


def _counts(view: View, busy: Mapping[str, int]) -> Sequence[int]:
    """In flight, of everyone left in tie-break order."""
    if len(busy) >= len(view) > 1 and not view.removed:  # most likely all named: one lookup in C
        getter = view.pool.kept("in flight", lambda: itemgetter(*view.names()))
        try:
            return getter(busy)  # type: ignore[no-any-return]
        except KeyError:
            pass
    return list(map(busy.get, view.names(), repeat(0)))


def _least_busy(view: View, job: Job) -> list[Entry]:
    """The cheapest few at the fewest in flight, then at the next count, ... until there are enough."""
    busy = job.ctx.in_flight
    if not busy:
        return view.cheapest(HEAD)  # all at 0: the order is cost's
    entries = view.entries()
    counts = _counts(view, busy)
    fewest = min(counts)
    group = list(compress(entries, map(eq, counts, repeat(fewest))))
    if len(group) >= HEAD:  # the usual case: enough at the fewest
        return cheapest_of(group, job, HEAD)
    found: list[Entry] = []
    want = HEAD
    for level in sorted(set(counts)):
        group = list(compress(entries, map(eq, counts, repeat(level))))
        found += cheapest_of(group, job, want)
        want -= len(group)
        if want <= 0:
            break
    return found


def head(view: View, job: Job) -> Ranking:
    busy = job.ctx.in_flight
    declares = view.pool.kept("declares throughput",
                              lambda: any(e.provider.slo_throughput_tps is not None for e in view.pool.entries))
    if declares and busy:  # loads relative to capacity: every one scored and sorted
        candidates = score_all(view.entries(), job)
        tps = capacities([c.provider for c in candidates])
        return explain(order(candidates, busy, tps), job, tps)
    # nobody busy: every load is 0 whatever the capacity, and the order is cost's (the reason still
    # names the capacities when any is declared)
    tps = capacities([e.provider for e in view.entries()]) if declares else None
    ordered = order(score_all(_least_busy(view, job), job), busy)
    return explain(ranked(ordered, view, job, lambda cs: order(cs, busy)), job, tps)
