"""The semantic cache on the labelled prompt pairs, at the default threshold: precision at least
0.99 on every file, and recall at least 0.40 on the independent development set (the held-out file,
tests/data/cache_pairs_heldout.jsonl, is only ever run by hand through scripts/bench/cache_quality.py)."""

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


@pytest.mark.parametrize("name,min_pairs,min_recall", [
    ("cache_pairs_dev.jsonl", 700, 0.40),  # measured 0.49
    ("cache_pairs.jsonl", 300, 0.15),  # loose paraphrases the lists do not vouch for: measured 0.22
    ("cache_pairs_holdout.jsonl", 80, 0.15),
])
def test_precision_at_the_default_threshold_is_at_least_0_99(embedder, name, min_pairs, min_recall):
    q = quality_script()
    pairs = q.load_pairs(ROOT / "tests" / "data" / name)
    assert len(pairs) >= min_pairs and {p["label"] for p in pairs} == {"hit", "miss"}
    s = CacheSettings()
    scored = q.score(pairs, SemanticMatcher(embedder, threshold=s.semantic_threshold, max_chars=s.semantic_max_chars))
    at = q.result(scored, s.semantic_threshold)
    assert at.precision >= 0.99, [(x.pair["a"], x.pair["b"]) for x in scored
                                  if x.pair["label"] == "miss" and x.guard is None
                                  and x.similarity >= s.semantic_threshold]
    assert at.recall >= min_recall
    assert q.result(scored, s.semantic_threshold, guards=False).precision < 0.75  # why the aligner exists


def test_the_wilson_interval():
    q = quality_script()
    low, high = q.wilson(93, 93)
    assert round(low, 3) == 0.960 and high == 1.0  # 93 right hits out of 93 only prove about 0.96
    low, high = q.wilson(50, 100)
    assert 0.40 < low < 0.41 and 0.59 < high < 0.60
    assert q.wilson(0, 0) == (0.0, 1.0)


def test_the_pairs_are_not_one_template():
    pairs = quality_script().load_pairs(ROOT / "tests" / "data" / "cache_pairs.jsonl")
    firsts = {p["a"].split()[0].lower() for p in pairs}
    kinds = {p["kind"] for p in pairs if p["label"] == "miss"}
    assert len(firsts) >= 25 and len({p["a"] for p in pairs}) >= 250
    assert {"number", "quoted", "entity", "negation", "language", "antonym", "direction", "topic"} <= kinds
