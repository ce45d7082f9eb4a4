"""Region strategy: providers tagged with the caller's region first, the others after (so a
region with nothing eligible falls back); cheapest first within each group."""

from __future__ import annotations

from collections.abc import Sequence

from services.common.selection.candidate import Candidate, Job, Ranking, by_cost, score_all
from services.common.selection.ranked import HEAD, ranked
from services.common.selection.view import View


def order(candidates: list[Candidate], region: str | None) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (c.provider.region != region, *by_cost(c)))


def explain(ordered: Sequence[Candidate], region: str | None, local: int) -> Ranking:
    best = ordered[0]
    if region is None:
        return Ranking(ordered, "no caller region given; cheapest of all regions: "
                       f"${best.cost} in {best.provider.region or 'no region'}", 0.5)
    if local == 0:
        return Ranking(ordered, f"no eligible provider in {region}; fell back to the cheapest elsewhere: "
                       f"${best.cost} in {best.provider.region or 'no region'}", 0.5)
    return Ranking(ordered, f"in the caller's region {region} ({local} of {len(ordered)} eligible there), "
                   f"cheapest there ${best.cost}", 1.0)


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    region = job.region
    local = sum(1 for c in candidates if region is not None and c.provider.region == region)
    return explain(order(candidates, region), region, local)


def head(view: View, job: Job) -> Ranking:
    region = job.region
    groups = view.pool.in_region(region)  # those in the region, then the others
    ordered = order(score_all(view.across(groups, HEAD), job), region)
    return explain(ranked(ordered, view, job, lambda cs: order(cs, region)), region, len(view.of(groups[0])))
