"""The labelled prompt pairs for the semantic cache's evaluation (tests/data/README.md): the development
and held-out files keep their schema, their ids are unique across both, and every domain is in both; the
second held-out file keeps the same schema and kinds, continues the ids and has its own size and mix."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

DATA = Path(__file__).resolve().parents[1] / "data"
FILES = ("cache_pairs_dev.jsonl", "cache_pairs_heldout.jsonl")
HELDOUT2 = "cache_pairs_heldout2.jsonl"
ALL_FILES = (*FILES, HELDOUT2)
DOMAINS = {
    "support",
    "coding",
    "sql",
    "extraction",
    "translation",
    "summarisation",
    "math",
    "product",
    "agents",
    "writing",
    "general",
}
LONG = 400  # characters; a pair is long when both prompts are longer
HIT_KINDS = {
    "paraphrase",
    "politeness",
    "formatting",
    "synonym",
    "abbreviation",
    "number_format",
    "quantity",
    "word_order",
    "long_harmless",
}
MISS_KINDS = {
    "entity",
    "antonym",
    "negation",
    "number",
    "signed_number",
    "date",
    "unit",
    "direction",
    "scope",
    "comparative",
    "output_format",
    "quoted_char",
    "code_char",
    "json_field",
    "long_detail",
    "long_word_elsewhere",
    "antonym_compound",
}


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: int = Field(ge=1)
    a: str = Field(min_length=1)
    b: str = Field(min_length=1)
    label: Literal["hit", "miss"]
    domain: str
    kind: str = Field(min_length=1)
    note: str = Field(min_length=1)


def load(name: str) -> list[Pair]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [Pair.model_validate(json.loads(line)) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def splits() -> dict[str, list[Pair]]:
    return {name: load(name) for name in ALL_FILES}


def test_the_schema_rejects_a_line_with_a_missing_or_unknown_field():
    good = {"id": 1, "a": "x", "b": "y", "label": "hit", "domain": "math", "kind": "paraphrase", "note": "n"}
    Pair.model_validate(good)
    for bad in ({k: v for k, v in good.items() if k != "note"}, {**good, "extra": 1}, {**good, "label": "maybe"}):
        with pytest.raises(ValidationError):
            Pair.model_validate(bad)


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_pair_names_a_known_domain_and_two_different_prompts(splits, name):
    for pair in splits[name]:
        assert pair.domain in DOMAINS, pair.id
        assert pair.a != pair.b, pair.id


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_pair_has_a_kind_that_fits_its_label(splits, name):
    for pair in splits[name]:
        assert pair.kind in (HIT_KINDS if pair.label == "hit" else MISS_KINDS), (pair.id, pair.kind)


def test_ids_and_prompt_pairs_are_unique_across_all_three_files(splits):
    pairs = [p for name in ALL_FILES for p in splits[name]]
    ids = Counter(p.id for p in pairs)
    assert [i for i, n in ids.items() if n > 1] == []
    texts = Counter((p.a, p.b) for p in pairs)
    assert [t for t, n in texts.items() if n > 1] == []


def test_there_are_at_least_1000_pairs_with_a_fair_share_of_hits_and_long_prompts(splits):
    pairs = [p for name in FILES for p in splits[name]]
    assert len(pairs) >= 1000
    hits = sum(p.label == "hit" for p in pairs)
    assert 0.40 <= hits / len(pairs) <= 0.50
    long = [p for p in pairs if len(p.a) > LONG and len(p.b) > LONG]
    assert len(long) >= 150
    assert {p.label for p in long} == {"hit", "miss"}


def test_each_domain_and_label_is_in_both_splits_and_dev_is_the_larger(splits):
    for name in FILES:
        present = {(p.domain, p.label) for p in splits[name]}
        assert present == {(d, label) for d in DOMAINS for label in ("hit", "miss")}, name
    dev, heldout = (len(splits[name]) for name in FILES)
    assert 0.50 <= dev / (dev + heldout) <= 0.60


def test_the_second_held_out_file_continues_the_ids_after_the_first_two(splits):
    earlier = max(p.id for name in FILES for p in splits[name])
    assert min(p.id for p in splits[HELDOUT2]) == earlier + 1


def test_the_second_held_out_file_is_large_mostly_hits_and_has_long_pairs_in_every_domain(splits):
    pairs = splits[HELDOUT2]
    assert len(pairs) >= 1200
    hits = sum(p.label == "hit" for p in pairs)
    assert 0.55 <= hits / len(pairs) <= 0.65
    assert {(p.domain, p.label) for p in pairs} == {(d, label) for d in DOMAINS for label in ("hit", "miss")}
    long = [p for p in pairs if len(p.a) > LONG and len(p.b) > LONG]
    assert len(long) >= 200
    assert {p.label for p in long} == {"hit", "miss"}
    assert {p.domain for p in long} == DOMAINS


def test_the_second_held_out_file_keeps_families_small(splits):
    family = Counter(p.a for p in splits[HELDOUT2])
    assert max(family.values()) <= 11
