"""Least-busy strategy: the fewest requests in flight (counts supplied by the caller:
the gateway's own, or the ones given to POST /select); ties go to the cheaper."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import compress, repeat
from operator import eq, itemgetter

from services.common.selection.candidate import Candidate, Job, Ranking, cheapest_of, runner_up, score_all
from services.common.selection.catalog import Entry
from services.common.selection.ranked import HEAD, ranked
from services.common.selection.view import View


def order(candidates: list[Candidate], busy: Mapping[str, int]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (busy.get(c.name, 0), c.exact, c.provider.priority, c.name))


def explain(ordered: Sequence[Candidate], job: Job) -> Ranking:
    busy = job.ctx.in_flight
    best, nxt = ordered[0], runner_up(ordered)
    reason = f"least busy: {busy.get(best.name, 0)} in flight"
    confidence = 1.0
    if nxt is not None:
        reason += f"; next {nxt.name} {busy.get(nxt.name, 0)}"
        if busy.get(nxt.name, 0) == busy.get(best.name, 0):
            confidence = 0.5
    return Ranking(ordered, reason, confidence)


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    return explain(order(candidates, job.ctx.in_flight), job)


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
    ordered = order(score_all(_least_busy(view, job), job), busy)
    return explain(ranked(ordered, view, job, lambda cs: order(cs, busy)), job)
