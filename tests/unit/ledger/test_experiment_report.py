"""The report's verdicts on synthetic arms with known answers."""

from __future__ import annotations

import random
from decimal import Decimal

from services.ledger.experiments.report import build
from services.ledger.experiments.stats import wilson
from services.ledger.store.base import ArmSample


def arm(name: str, n: int, error_rate: float, latency_ms: float, cost_micros: int, seed: int) -> list[ArmSample]:
    rng = random.Random(seed)
    errors = round(n * error_rate)
    return [ArmSample(name, "error" if i < errors else "success", rng.lognormvariate(0, 0.3) * latency_ms,
                      0 if i < errors else cost_micros, 100, 50) for i in range(n)]


def test_two_percent_against_ten_percent_at_two_thousand_each_names_the_better_arm():
    report = build("e", arm("control", 2000, 0.10, 100, 1000, 1) + arm("treatment", 2000, 0.02, 100, 1000, 2))
    (c,) = report["comparisons"]
    assert c["error_rate"]["better"] == "treatment" and c["error_rate"]["p_value"] < 1e-20
    assert not c["latency_ms"]["significant"]
    # every answer costs the same: failures that cost nothing do not make an arm look cheaper
    assert not c["cost_per_request_usd"]["significant"]
    assert report["better_arm"] == "treatment"
    assert report["verdict"].startswith("treatment is better than control: a lower error rate")
    assert report["arms"]["control"]["cost"]["total_usd"] == Decimal("1.8")  # 1800 answers x 1000 micros
    assert report["arms"]["treatment"]["error_rate"] == 0.02
    low, high = report["arms"]["treatment"]["error_rate_ci95"]
    assert (low, high) == (0.014722, 0.027119)  # Wilson, 40 of 2000


def test_equal_arms_are_not_yet_significant():
    report = build("e", arm("a", 2000, 0.05, 100, 1000, 3) + arm("b", 2000, 0.05, 100, 1000, 4))
    assert report["better_arm"] is None
    assert report["verdict"] == "not yet significant at alpha 0.05 with 2000 requests in a, 2000 requests in b"


def test_a_faster_cheaper_arm_with_fewer_errors_is_better_and_money_is_exact():
    # control: 900 requests, 72 failed (cost 0), 828 answered at 3000 micros for 150 tokens
    report = build("e", arm("control", 900, 0.08, 200, 3000, 5) + arm("latency", 100, 0.0, 80, 2000, 6))
    assert report["baseline"] == "control"  # the arm with the most requests
    assert report["better_arm"] == "latency" and report["verdict"].startswith("latency is better than control: ")
    cost = report["arms"]["control"]["cost"]
    assert cost["total_usd"] == Decimal("2.484") and cost["per_request_usd"] == Decimal("0.003")
    assert cost["per_1k_tokens_usd"] == Decimal("0.02") and cost["answered"] == 828
    p50, p95 = report["arms"]["latency"]["latency_ms"]["p50"], report["arms"]["latency"]["latency_ms"]["p95"]
    latencies = sorted(s.latency_ms for s in arm("latency", 100, 0.0, 80, 2000, 6))
    assert (p50, p95) == (latencies[49], latencies[94])


def test_three_arms_split_alpha_and_one_arm_alone_has_no_comparison():
    report = build("e", arm("a", 1000, 0.1, 100, 1000, 7) + arm("b", 1000, 0.1, 100, 1000, 8)
                   + arm("c", 1000, 0.01, 100, 1000, 9), baseline="a")
    assert [c["alpha"] for c in report["comparisons"]] == [0.025, 0.025]
    assert report["comparisons"][1]["error_rate"]["better"] == "c"
    assert report["better_arm"] is None  # c is better than a, but a and b cannot be told apart: c against b unknown
    ranked = build("e", arm("a", 1000, 0.1, 100, 1000, 7) + arm("b", 1000, 0.3, 100, 1000, 8)
                   + arm("c", 1000, 0.01, 100, 1000, 9), baseline="a")
    assert ranked["better_arm"] == "c" and ranked["verdict"].startswith("c is the better arm: a is better than b")
    single = build("e", arm("a", 10, 0.0, 100, 1000, 10))
    assert single["comparisons"] == [] and single["verdict"].startswith("not yet significant")


def rescued(name: str, n: int, first_failed: int, errors: int, seed: int) -> list[ArmSample]:
    """`first_failed` requests whose first attempt failed; of them, all but `errors` answered by a
    fallback; the rest answered at once."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        first = "error" if i < first_failed else "success"
        status = "error" if i < errors else "success"
        out.append(ArmSample(name, status, rng.lognormvariate(0, 0.3) * 100, 0 if status == "error" else 1000,
                             100, 50, first))
    return out


def test_failed_first_attempts_a_fallback_hid_still_decide_the_verdict():
    # both arms end with 20 errors in 1000; the treatment's provider failed first 200 times, rescued by fallbacks
    report = build("e", rescued("control", 1000, 20, 20, 11) + rescued("treatment", 1000, 200, 20, 12))
    control, treatment = report["arms"]["control"], report["arms"]["treatment"]
    assert control["error_rate"] == treatment["error_rate"] == 0.02
    assert treatment["first_attempt"] == {"requests": 1000, "errors": 200, "error_rate": 0.2,
                                          "error_rate_ci95": list(map(round6, wilson(200, 1000)))}
    assert control["first_attempt"]["errors"] == 20
    (c,) = report["comparisons"]
    assert not c["error_rate"]["significant"]
    first = c["first_attempt_error_rate"]
    assert first["better"] == "control" and first["p_value"] < 1e-20 and first["difference"] == 0.18
    assert report["better_arm"] == "control"
    assert report["verdict"].startswith("control is better than treatment: fewer failed first attempts (p = ")


def test_first_attempts_that_are_the_errors_are_not_counted_twice():
    # no fallback: the first attempt's failures are the errors; the verdict names the error rate alone
    report = build("e", rescued("control", 1000, 100, 100, 13) + rescued("treatment", 1000, 20, 20, 14))
    (c,) = report["comparisons"]
    first = c["first_attempt_error_rate"]
    assert first["better"] == "treatment" and first["same_as_error_rate"]
    assert report["verdict"].startswith("treatment is better than control: a lower error rate (p = ")
    assert "first attempts" not in report["verdict"]


def test_receipts_that_sent_nothing_are_not_first_attempts():
    samples = rescued("a", 10, 2, 2, 15) + [ArmSample("a", "success", 1.0, 0, 0, 0, None)] * 5  # cache hits
    first = build("e", samples)["arms"]["a"]["first_attempt"]
    assert (first["requests"], first["errors"], first["error_rate"]) == (10, 2, 0.2)


def round6(x: float) -> float:
    return round(x, 6)
