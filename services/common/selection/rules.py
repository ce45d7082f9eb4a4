"""Rules: named conditions on the request (model asked, key, team, tags, features needed, the
caller's cost or latency limit, the answer's max_tokens, the prompt's length) -> preferred
providers with weights. Evaluated before the
strategy, in order (`order`, then name); the first rule that matches and has an eligible
preferred provider decides the choice (a weighted draw); the strategy orders the fallbacks."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.selection.candidate import Candidate, Job
from services.common.selection.config import Rule


def matches(rule: Rule, job: Job) -> bool:
    req, when = job.request.requirements, rule.when
    return (rule.enabled
            and (not when.models or req.model in when.models)
            and (not when.keys or req.key in when.keys)
            and (not when.teams or req.team in when.teams)
            and when.tags <= req.tags
            and when.requires <= job.features
            and (when.max_cost_usd is None
                 or (req.max_cost_usd is not None and req.max_cost_usd <= when.max_cost_usd))
            and (when.max_latency_ms is None
                 or (req.max_latency_ms is not None and req.max_latency_ms <= when.max_latency_ms))
            and (when.max_tokens is None or when.max_tokens.holds(job.output_tokens))
            and (when.prompt_tokens is None or when.prompt_tokens.holds(job.input_tokens)))


@dataclass(frozen=True, slots=True)
class RulePick:
    rule: Rule
    head: list[Candidate]  # the weighted draw first, then the other preferred by weight
    reason: str


def weighted_draw(weighted: list[tuple[Candidate, float]], u: float) -> int:
    """The index `u` in [0, 1) lands on when each entry owns a share of [0, 1) by weight."""
    total = sum(w for _, w in weighted)
    if total <= 0:
        return 0
    point, acc = u * total, 0.0
    for i, (_, w) in enumerate(weighted):
        acc += w
        if point < acc:
            return i
    return len(weighted) - 1


def apply(candidates: list[Candidate], job: Job) -> tuple[RulePick | None, str]:
    """The first matching rule's pick, or None; and a note when a rule matched but could not act."""
    if not job.ctx.config.rules:
        return None, ""
    notes: list[str] = []
    by_name = {c.name: c for c in candidates}
    for rule in job.ctx.config.rules:
        if not matches(rule, job):
            continue
        weighted = [(by_name[p], w) for p, w in rule.prefer if p in by_name]
        if not weighted:
            notes.append(f"rule {rule.name} matched but none of its providers is eligible")
            continue
        i = weighted_draw(weighted, job.ctx.rng.random())
        pick, weight = weighted[i]
        total = sum(w for _, w in weighted)
        others = sorted((e for j, e in enumerate(weighted) if j != i), key=lambda e: (-e[1], e[0].name))
        share = f"weight {weight:g} of {total:g}" if len(weighted) > 1 else "its only eligible provider"
        reason = f"rule {rule.name}: {pick.name} ({share}, ${pick.cost})"
        return RulePick(rule, [pick, *(c for c, _ in others)], reason), "; ".join(notes)
    return None, "; ".join(notes)
