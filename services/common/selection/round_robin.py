"""Round-robin strategy: the candidates in name order, starting one further along on each call
for the same pool (the model or alias asked). The turn counter is the caller's (`ctx.turns`)."""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import TypeVar

from services.common.selection.candidate import Candidate, Job, Ranking, score_all
from services.common.selection.ranked import HEAD, Ranked
from services.common.selection.view import View

T = TypeVar("T")


def rotated(by_name: list[T], start: int) -> list[T]:
    return by_name[start:] + by_name[:start]


def explain(ordered: Sequence[Candidate], job: Job, turn: int, start: int) -> Ranking:
    reason = f"round-robin over {len(ordered)} providers for {job.pool}: turn {turn}, position {start + 1}"
    return Ranking(ordered, reason, 1.0)


def rank(candidates: list[Candidate], job: Job) -> Ranking:
    by_name = sorted(candidates, key=attrgetter("provider.name"))
    turn = job.ctx.turns.take(job.pool)
    start = turn % len(by_name)
    return explain(rotated(by_name, start), job, turn, start)


def head(view: View, job: Job) -> Ranking:
    by_name = view.by_name()
    turn = job.ctx.turns.take(job.pool)
    start = turn % len(by_name)
    first = [by_name[(start + i) % len(by_name)] for i in range(min(HEAD, len(by_name)))]
    ordered = Ranked(score_all(first, job), len(by_name), lambda: rotated(score_all(by_name, job), start))
    return explain(ordered, job, turn, start)
