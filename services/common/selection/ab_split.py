"""A/B splits: a named experiment sends each request to one arm (a provider, a model or a
strategy) by its percentages; sticky experiments hash the caller's key so a key always lands in
the same arm. The arm's providers come first (ranked by the strategy: the arm's own when it names
one, which then ranks the fallbacks too), the rest follow as fallbacks; the experiment and arm go
into the decision and the receipt.

`ab` as a strategy ranks by cost within the arm, and says so when no experiment applies.
"""

from __future__ import annotations

import hashlib

from services.common.errors import InvalidRequest
from services.common.selection import cheapest
from services.common.selection.candidate import Candidate, Job, Ranking
from services.common.selection.config import BASIS_POINTS, Arm, Experiment
from services.common.selection.view import View


def experiment_for(job: Job) -> Experiment | None:
    req, experiments = job.request.requirements, job.ctx.config.experiments
    if req.experiment:
        named = experiments.get(req.experiment)
        if named is None:
            raise InvalidRequest(f"no experiment named {req.experiment[:128]!r}", field="requirements.experiment")
        return named if named.enabled else None
    return next((e for _, e in sorted(experiments.items()) if e.enabled and e.model and e.model == req.model), None)


def bucket(experiment: str, key: str) -> int:
    """A key's fixed place in [0, BASIS_POINTS) for one experiment."""
    digest = hashlib.blake2b(f"{experiment}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BASIS_POINTS


def arm_at(experiment: Experiment, point: int) -> Arm:
    acc = 0
    for arm in experiment.arms:
        acc += arm.basis_points
        if point < acc:
            return arm
    return experiment.arms[-1]


def assign(experiment: Experiment, job: Job) -> tuple[Arm, str]:
    key = job.request.requirements.key
    if experiment.sticky and key:
        return arm_at(experiment, bucket(experiment.name, key)), "sticky by key"
    return arm_at(experiment, job.ctx.rng.randrange(BASIS_POINTS)), "random draw"


def describe(experiment: Experiment, arm: Arm, how: str) -> str:
    split = "/".join(f"{a.name} {a.basis_points / 100:g}%" for a in experiment.arms)
    return f"experiment {experiment.name} ({split}): arm {arm.name} ({how})"


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    ordered, reason, confidence = cheapest.rank(candidates, job)
    return Ranking(ordered, f"A/B split, cost within the arm: {reason}", confidence)


def head(view: View, job: Job) -> Ranking:
    ordered, reason, confidence = cheapest.head(view, job)
    return Ranking(ordered, f"A/B split, cost within the arm: {reason}", confidence)
