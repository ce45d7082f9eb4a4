"""Failover strategy: registration priority order (lower first, then name); the next ones are
the fallbacks, tried in that order."""

from __future__ import annotations

from services.common.selection.candidate import Candidate, Job, Ranking, tie_break


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    ordered = sorted(candidates, key=tie_break)
    chain = " > ".join(f"{c.name} ({c.provider.priority})" for c in ordered[:4])
    more = f" > {len(ordered) - 4} more" if len(ordered) > 4 else ""
    return Ranking(ordered, f"failover by priority: {chain}{more}", 1.0)
