"""Weighted (balanced) strategy: cost and latency normalised to [0, 1] across the candidates and
combined with weights (per request, else per route, else half and half); lowest score wins,
ties to the cheaper. A provider with no latency figure scores the worst latency."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import compress, repeat
from operator import le

from services.common.selection.candidate import Candidate, Job, Ranking, costs, runner_up, score_all
from services.common.selection.observed import evidence
from services.common.selection.ranked import HEAD, ranked
from services.common.selection.view import View

Bounds = tuple[float, float, float, float]  # the lowest cost and the span of costs; the same of latencies


def bounds(lo_cost: float, hi_cost: float, latencies: Iterable[float]) -> Bounds:
    """From the lowest and highest cost and the known latencies (of every candidate)."""
    known = [x for x in latencies if x != math.inf]
    lo_l, span_l = (min(known), (max(known) - min(known)) or 1.0) if known else (0.0, 1.0)
    return lo_cost, (hi_cost - lo_cost) or 1.0, lo_l, span_l


def latency_terms(latencies: Iterable[float], b: Bounds) -> list[float]:
    """Each latency normalised to [0, 1] (none known: 1), before its weight."""
    lo_l, span_l = b[2], b[3]
    return [(lat - lo_l) / span_l if lat != math.inf else 1.0 for lat in latencies]


def ranks(exact: list[int | Decimal], terms: list[float], cost_weight: float, b: Bounds,
          want: int | None = None) -> tuple[list[int], list[float]]:
    """The indexes by score, then cost, then the order given (tie-break order), all or the first
    `want`; and their scores."""
    lo_c, span_c = b[0], b[1]
    lat_weight = 1 - cost_weight
    s = [cost_weight * (float(cost) - lo_c) / span_c + lat_weight * term
         for cost, term in zip(exact, terms, strict=True)]
    some: Iterable[int] = range(len(s))
    if want is not None and want < len(s):  # the first `want` score at most the want-th lowest score
        some = compress(some, map(le, s, repeat(sorted(s)[want - 1])))
    best = sorted(some, key=exact.__getitem__)
    best.sort(key=s.__getitem__)
    return best[:want], [s[i] for i in best[:want]]


def order(candidates: list[Candidate], cost_weight: float, b: Bounds) -> tuple[list[Candidate], list[float]]:
    """The candidates by score (then cost: they come in tie-break order), and their scores."""
    best, s = ranks([c.exact for c in candidates], latency_terms((c.latency_key for c in candidates), b),
                    cost_weight, b)
    return [candidates[i] for i in best], s


def explain(ordered: Sequence[Candidate], s: list[float], job: Job) -> Ranking:
    w = job.weights
    best, nxt = ordered[0], runner_up(ordered)
    lat = f"{best.latency.ms:g} ms ({best.latency.source})" if best.latency.ms is not None else "unknown latency"
    reason = (f"best balance of cost and latency (weights cost {w.cost:.2f} / latency {w.latency:.2f}): "
              f"score {s[0]:.3f}, ${best.cost}, {lat}")
    confidence = w.cost + w.latency * evidence(best.latency, job.ctx.observed.min_samples)
    if nxt is not None:
        reason += f"; next {nxt.name} score {s[1]:.3f}"
        if s[1] - s[0] < 0.05:
            confidence *= 0.5
    return Ranking(ordered, reason, round(confidence, 3))


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    costs = [float(c.exact) for c in candidates]
    ordered, s = order(candidates, job.weights.cost, bounds(min(costs), max(costs),
                                                            (c.latency_key for c in candidates)))
    return explain(ordered, s, job)


def head(view: View, job: Job) -> Ranking:
    """Needs 0 <= the cost weight <= 1: then a score never falls as cost or latency grows."""
    it, ot = job.input_tokens, job.output_tokens
    lo = min(e.exact_cost(it, ot) for e in view.cheapest(1))
    hi = max(e.exact_cost(it, ot) for e in view.cheapest(1, "dearest"))
    b = bounds(float(lo), float(hi), view.latency_range())
    w = job.weights.cost
    short = view.cheapest(HEAD, "balanced")

    def terms() -> list[float]:
        return latency_terms((e.latency_key for e in short), b)

    best, s = ranks(costs(short, job), view.pool.kept(("latency terms", b[2:]), terms) if not view.removed
                    else terms(), w, b, HEAD)
    ordered = score_all([short[i] for i in best], job)
    return explain(ranked(ordered, view, job, lambda cs: order(cs, w, b)[0]), s, job)
