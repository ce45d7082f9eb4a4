"""The semantic cache on the labelled prompt pairs (the set the guards were built on, and a held-out
set written after they were fixed): precision at the default threshold at least 0.99."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from services.gateway.cache.controls import CacheSettings
from services.gateway.cache.semantic import SemanticMatcher

ROOT = Path(__file__).resolve().parents[4]


def quality_script():
    spec = importlib.util.spec_from_file_location("cache_quality", ROOT / "scripts" / "bench" / "cache_quality.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name,min_pairs", [("cache_pairs.jsonl", 300), ("cache_pairs_holdout.jsonl", 80)])
def test_precision_at_the_default_threshold_is_at_least_0_99(embedder, name, min_pairs):
    q = quality_script()
    pairs = q.load_pairs(ROOT / "tests" / "data" / name)
    assert len(pairs) >= min_pairs and {p["label"] for p in pairs} == {"hit", "miss"}
    s = CacheSettings()
    scored = q.score(pairs, SemanticMatcher(embedder, threshold=s.semantic_threshold,
                                            word_threshold=s.semantic_word_threshold))
    at = q.result(scored, s.semantic_threshold)
    assert at.precision >= 0.99, [(x.pair["a"], x.pair["b"]) for x in scored
                                  if x.pair["label"] == "miss" and x.guard is None
                                  and x.similarity >= s.semantic_threshold]
    assert at.recall >= 0.40  # measured 0.456 and 0.450: a drop means the model or guards changed
    assert q.result(scored, s.semantic_threshold, guards=False).precision < 0.75  # why the guards exist


def test_the_pairs_are_not_one_template():
    pairs = quality_script().load_pairs(ROOT / "tests" / "data" / "cache_pairs.jsonl")
    firsts = {p["a"].split()[0].lower() for p in pairs}
    kinds = {p["kind"] for p in pairs if p["label"] == "miss"}
    assert len(firsts) >= 25 and len({p["a"] for p in pairs}) >= 250
    assert {"number", "quoted", "entity", "negation", "language", "antonym", "direction", "topic"} <= kinds
