"""Latency strategy: the lowest expected p95 latency (the registered SLO until observed figures
arrive). Providers with no latency figure rank after every provider with one."""

from __future__ import annotations

import math

from services.common.selection.candidate import Candidate, tie_break


def _latency(c: Candidate) -> float:
    return c.latency_ms if c.latency_ms is not None else math.inf


def rank(candidates: list[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (_latency(c), c.cost, *tie_break(c)))


def explain(ranked: list[Candidate]) -> str:
    best = ranked[0]
    if best.latency_ms is None:
        return "no provider has a latency figure; fell back to cost and priority order"
    text = f"lowest p95 latency: {best.latency_ms:g} ms (SLO)"
    if len(ranked) > 1:
        nxt = ranked[1]
        nxt_lat = f"{nxt.latency_ms:g} ms" if nxt.latency_ms is not None else "unknown"
        text += f"; next {nxt.name} {nxt_lat}"
    return text
