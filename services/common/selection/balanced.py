"""Weighted (balanced) strategy: cost and latency normalised to [0, 1] across the candidates and
combined with weights (per request, else per route, else half and half); lowest score wins,
ties to the cheaper. A provider with no latency figure scores the worst latency."""

from __future__ import annotations

import math

from services.common.selection.candidate import Candidate, Job, Ranking, exact_cost, runner_up
from services.common.selection.observed import evidence


def scores(candidates: list[Candidate], cost_weight: float) -> list[float]:
    """Each candidate's score, in the candidates' order."""
    costs = [float(c.exact) for c in candidates]
    lats = [c.latency_key for c in candidates]
    known = [x for x in lats if x != math.inf]
    lo_c, span_c = min(costs), (max(costs) - min(costs)) or 1.0
    lo_l, span_l = (min(known), (max(known) - min(known)) or 1.0) if known else (0.0, 1.0)
    lat_weight = 1 - cost_weight
    return [cost_weight * (cost - lo_c) / span_c + lat_weight * ((lat - lo_l) / span_l if lat != math.inf else 1.0)
            for cost, lat in zip(costs, lats, strict=True)]


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    w = job.weights
    by_cost = sorted(candidates, key=exact_cost)  # candidates come in tie-break order; cost breaks score ties
    s = scores(by_cost, w.cost)
    order = sorted(range(len(by_cost)), key=s.__getitem__)
    ordered = [by_cost[i] for i in order]
    best, nxt = ordered[0], runner_up(ordered)
    lat = f"{best.latency.ms:g} ms ({best.latency.source})" if best.latency.ms is not None else "unknown latency"
    reason = (f"best balance of cost and latency (weights cost {w.cost:.2f} / latency {w.latency:.2f}): "
              f"score {s[order[0]]:.3f}, ${best.cost}, {lat}")
    confidence = w.cost + w.latency * evidence(best.latency, job.ctx.observed.min_samples)
    if nxt is not None:
        reason += f"; next {nxt.name} score {s[order[1]]:.3f}"
        if s[order[1]] - s[order[0]] < 0.05:
            confidence *= 0.5
    return Ranking(ordered, reason, round(confidence, 3))
