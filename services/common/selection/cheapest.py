"""Cost strategy: the lowest estimated cost for this request."""

from __future__ import annotations

from services.common.selection.candidate import Candidate, tie_break


def rank(candidates: list[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=lambda c: (c.cost, *tie_break(c)))


def explain(ranked: list[Candidate], input_tokens: int, output_tokens: int) -> str:
    best = ranked[0]
    text = (f"cheapest for {input_tokens} input + {output_tokens} output tokens: "
            f"${best.cost} at ${best.provider.input_per_mtok}/${best.provider.output_per_mtok} per Mtok")
    if len(ranked) > 1:
        text += f"; next {ranked[1].name} ${ranked[1].cost}"
    return text
