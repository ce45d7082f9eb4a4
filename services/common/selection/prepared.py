"""Selection over a prepared catalog the quick way: the eligible pool kept per set of filters
(eligible.py), the success-rate floor applied to it once, and the strategy's `head`, which
scores only the few providers that can come first and leaves the rest of the ranking to be
sorted if anyone reads it. The decision is the one `decide.select`'s full path makes.

Not taken (None: the full path decides) when a rule matches, an experiment applies, the caller
gives a cost or latency limit, a token count is zero, the weights of a balanced request are
outside [0, 1], nobody is eligible, or the context's observed stats are not the catalog's.
"""

from __future__ import annotations

from collections.abc import Callable

from services.common.selection import ab_split, rules
from services.common.selection.candidate import Job, Ranking
from services.common.selection.catalog import Catalog
from services.common.selection.eligibility import all_under_floor, floored, under_floor
from services.common.selection.eligible import Exclusions, eligible
from services.common.selection.strategies import BY_NAME
from services.common.selection.view import View

HEADS: dict[str, Callable[[View, Job], Ranking]] = {n: s.head for n, s in BY_NAME.items()}


def _quick(catalog: Catalog, job: Job) -> bool:
    req = job.request.requirements
    return (catalog.sortable and job.ctx.observed is catalog.observed
            and job.input_tokens > 0 and job.output_tokens > 0  # then a lower price always costs less
            and req.max_cost_usd is None and req.max_latency_ms is None
            and (job.strategy not in ("balanced", "weighted") or 0.0 <= job.weights.cost <= 1.0)
            and not any(rules.matches(rule, job) for rule in job.ctx.config.rules))


def _floor(view: View, job: Job, excluded: Exclusions, notes: list[str]) -> View:
    """Latency strategies (and smart's latency mode) leave out who is under the success-rate floor,
    unless everyone is."""
    observed = job.ctx.observed
    healthy = view.of(view.pool.healthy())
    if not len(healthy):
        notes.append(all_under_floor(observed))
        return view
    if len(healthy) < len(view):
        low = view.of(view.pool.below_floor())
        excluded += ((e.provider.name, under_floor(e.latency, observed)) for e in low.entries())
    return healthy


def quick_ranking(catalog: Catalog, job: Job,
                  models: frozenset[str] | None) -> tuple[Ranking, Exclusions, list[str]] | None:
    """The ranking (a head, the rest when read), the exclusions and the notes; None when the
    full path must decide."""
    if not _quick(catalog, job):
        return None
    view, excluded = eligible(catalog, job, models)
    if not len(view) or ab_split.experiment_for(job) is not None:
        return None
    notes: list[str] = []
    if floored(job):
        view = _floor(view, job, excluded, notes)
    ranking = HEADS[job.strategy](view, job)
    if job.strategy == "ab":
        notes.append("no experiment applies to this request")
    return ranking, excluded, notes
