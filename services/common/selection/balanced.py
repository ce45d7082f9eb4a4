"""Balanced strategy: cost and latency normalised to [0, 1] across the candidates and combined
with weights (default half and half); the lowest combined score wins."""

from __future__ import annotations

from services.common.selection.candidate import Candidate, tie_break

COST_WEIGHT = 0.5
LATENCY_WEIGHT = 0.5


def _normalised(value: float, low: float, high: float) -> float:
    return 0.0 if high == low else (value - low) / (high - low)


def scores(candidates: list[Candidate], cost_weight: float = COST_WEIGHT) -> dict[str, float]:
    costs = [float(c.cost) for c in candidates]
    known = [c.latency_ms for c in candidates if c.latency_ms is not None]
    lo_c, hi_c = min(costs), max(costs)
    lo_l, hi_l = (min(known), max(known)) if known else (0.0, 0.0)
    out = {}
    for c in candidates:
        cost_n = _normalised(float(c.cost), lo_c, hi_c)
        lat_n = _normalised(c.latency_ms, lo_l, hi_l) if c.latency_ms is not None else 1.0
        out[c.name] = cost_weight * cost_n + (1 - cost_weight) * lat_n
    return out


def rank(candidates: list[Candidate]) -> tuple[list[Candidate], dict[str, float]]:
    s = scores(candidates)
    return sorted(candidates, key=lambda c: (s[c.name], c.cost, *tie_break(c))), s


def explain(ranked: list[Candidate], s: dict[str, float]) -> str:
    best = ranked[0]
    lat = f"{best.latency_ms:g} ms" if best.latency_ms is not None else "unknown latency"
    text = (f"best balance of cost and latency (weights {COST_WEIGHT:g}/{LATENCY_WEIGHT:g}): "
            f"score {s[best.name]:.3f}, ${best.cost}, {lat}")
    if len(ranked) > 1:
        text += f"; next {ranked[1].name} score {s[ranked[1].name]:.3f}"
    return text


