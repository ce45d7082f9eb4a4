"""Least-busy strategy: the fewest requests in flight (counts supplied by the caller:
the gateway's own, or the ones given to POST /select); ties go to the cheaper."""

from __future__ import annotations

from services.common.selection.candidate import Candidate, Job, Ranking, runner_up


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    busy = job.ctx.in_flight
    ordered = sorted(candidates, key=lambda c: (busy.get(c.name, 0), c.exact, c.provider.priority, c.name))
    best, nxt = ordered[0], runner_up(ordered)
    reason = f"least busy: {busy.get(best.name, 0)} in flight"
    confidence = 1.0
    if nxt is not None:
        reason += f"; next {nxt.name} {busy.get(nxt.name, 0)}"
        if busy.get(nxt.name, 0) == busy.get(best.name, 0):
            confidence = 0.5
    return Ranking(ordered, reason, confidence)
