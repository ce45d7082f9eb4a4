"""scripts/bench/savings.py's workload: seeded and repeatable, a repeated question keeps its
complexity (so a cache hit is possible in every run), and smart routing's classifier sees the
three kinds of request as simple, medium and complex in about the stated shares."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

from services.common.selection.complexity import classify
from services.common.selection.estimate import requested_max_output, typical_input_tokens

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench"


def load_savings():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("savings", BENCH / "savings.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["savings"] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


def test_the_workload_is_seeded_and_exercises_every_tier() -> None:
    savings = load_savings()
    stream = savings.requests(300, 7)
    assert stream == savings.requests(300, 7) and stream != savings.requests(300, 8)
    texts = [r["messages"][0]["content"] for r in stream]
    repeats = len(texts) - len(set(texts))
    # 30 % word-for-word repeats, and a paraphrase asked twice repeats too: 121 of 300 for seed 7
    assert repeats == 121
    levels = Counter(classify(r, typical_input_tokens(r), requested_max_output(r) or 0).level for r in stream)
    assert set(levels) == {"simple", "medium", "complex"}
    assert 0.45 < levels["simple"] / len(stream) < 0.65 and 0.08 < levels["complex"] / len(stream) < 0.22


def test_cut_is_the_share_saved() -> None:
    savings = load_savings()
    assert savings.cut(Decimal("0.030480"), Decimal("0.009725")) == float(
        (Decimal("0.030480") - Decimal("0.009725")) / Decimal("0.030480") * 100)
    assert savings.cut(40, 26) == 35.0


def test_every_claim_is_measured_by_a_run_and_the_p95_claim_by_the_latency_runs() -> None:
    savings = load_savings()
    runs = {r.label: r for r in savings.RUNS}
    assert {claim[2] for claim in savings.CLAIMS} <= set(runs)
    p95_runs = {claim[2] for claim in savings.CLAIMS if claim[3] == "p95"}
    assert p95_runs == {"routing", "auto-latency", "latency"}
    assert runs["auto-latency"].model == "tollway/auto-latency" and runs["auto-latency"].strategy is None
    assert runs["latency"].model == savings.ANY_MODEL and runs["latency"].strategy == "latency"
    assert not runs["auto-latency"].cache and not runs["latency"].cache


def test_within_says_on_which_side_a_measure_missed() -> None:
    savings = load_savings()
    assert savings.within(25.0, 20, 43) == "yes"
    assert savings.within(2.8, 20, 43) == "no (less)"
    assert savings.within(86.9, 70, 85) == "no (more)"
    assert savings.within(99.0, 30, None) == "yes"
    assert savings.claimed(30, None) == "≥ 30 %" and savings.claimed(20, 43) == "20–43 %"
