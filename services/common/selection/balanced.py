"""Weighted (balanced) strategy: cost and latency normalised to [0, 1] across the candidates and
combined with weights (per request, else per route, else half and half); lowest score wins.
A provider with no latency figure scores the worst latency."""

from __future__ import annotations

from services.common.selection.candidate import Candidate, Job, Ranking, runner_up
from services.common.selection.observed import evidence


def _normalised(value: float, low: float, high: float) -> float:
    return 0.0 if high == low else (value - low) / (high - low)


def scores(candidates: list[Candidate], cost_weight: float) -> dict[str, float]:
    costs = [float(c.cost) for c in candidates]
    known = [c.latency.ms for c in candidates if c.latency.ms is not None]
    lo_c, hi_c = min(costs), max(costs)
    lo_l, hi_l = (min(known), max(known)) if known else (0.0, 0.0)
    out = {}
    for c, cost in zip(candidates, costs, strict=True):
        lat_n = _normalised(c.latency.ms, lo_l, hi_l) if c.latency.ms is not None else 1.0
        out[c.name] = cost_weight * _normalised(cost, lo_c, hi_c) + (1 - cost_weight) * lat_n
    return out


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    w = job.weights
    s = scores(candidates, w.cost)
    ordered = sorted(candidates, key=lambda c: (s[c.name], c.cost, c.provider.priority, c.name))
    best, nxt = ordered[0], runner_up(ordered)
    lat = f"{best.latency.ms:g} ms ({best.latency.source})" if best.latency.ms is not None else "unknown latency"
    reason = (f"best balance of cost and latency (weights cost {w.cost:.2f} / latency {w.latency:.2f}): "
              f"score {s[best.name]:.3f}, ${best.cost}, {lat}")
    confidence = w.cost + w.latency * evidence(best.latency, job.ctx.observed.min_samples)
    if nxt is not None:
        reason += f"; next {nxt.name} score {s[nxt.name]:.3f}"
        if s[nxt.name] - s[best.name] < 0.05:
            confidence *= 0.5
    return Ranking(ordered, reason, round(confidence, 3))
