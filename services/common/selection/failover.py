"""Failover strategy: registration priority order (lower first, then name); the next ones are
the fallbacks, tried in that order."""

from __future__ import annotations

from collections.abc import Sequence

from services.common.selection.candidate import Candidate, Job, Ranking, score_all, tie_break
from services.common.selection.ranked import ranked
from services.common.selection.view import View

SHOWN = 4  # the chain the reason spells out


def order(candidates: list[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=tie_break)


def explain(ordered: Sequence[Candidate]) -> Ranking:
    chain = " > ".join(f"{c.name} ({c.provider.priority})" for c in ordered[:SHOWN])
    more = f" > {len(ordered) - SHOWN} more" if len(ordered) > SHOWN else ""
    return Ranking(ordered, f"failover by priority: {chain}{more}", 1.0)


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    return explain(order(candidates))


def head(view: View, job: Job) -> Ranking:
    """A view is in tie-break order already: its first few are the chain."""
    return explain(ranked(score_all(view.first(SHOWN), job), view, job, order, head=SHOWN))
