"""Region strategy: providers tagged with the caller's region first, the others after (so a
region with nothing eligible falls back); cheapest first within each group."""

from __future__ import annotations

from services.common.selection.candidate import Candidate, Job, Ranking, by_cost


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    region = job.region
    ordered = sorted(candidates, key=lambda c: (c.provider.region != region, *by_cost(c)))
    best = ordered[0]
    local = sum(1 for c in candidates if region is not None and c.provider.region == region)
    if region is None:
        return Ranking(ordered, "no caller region given; cheapest of all regions: "
                       f"${best.cost} in {best.provider.region or 'no region'}", 0.5)
    if local == 0:
        return Ranking(ordered, f"no eligible provider in {region}; fell back to the cheapest elsewhere: "
                       f"${best.cost} in {best.provider.region or 'no region'}", 0.5)
    return Ranking(ordered, f"in the caller's region {region} ({local} of {len(candidates)} eligible there), "
                   f"cheapest there ${best.cost}", 1.0)
