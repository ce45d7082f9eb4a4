"""An A/B experiment's report, from its receipts: per arm the requests, error rate, latency
P50/P95, cost per request and per 1k tokens, each with a 95 % interval; each arm against the
baseline arm with a test per measure and its p-value; a verdict in plain words.

What is counted, per arm (every receipt whose "experiment" names it and the arm):
- requests: every receipt; `errors`: those whose status is not `success` (what the caller saw:
  an error, or a budget refusal);
- first attempt: of the receipts that sent anything upstream (a cache hit or a budget refusal
  sends nothing), those whose first attempt failed, whether or not a retry or a fallback then
  answered: what an arm's own provider did, which the final error rate hides behind fallbacks;
- latency: the receipt's `latency_ms` of the successful requests only (a fast failure is not a
  fast answer); P50/P95 are nearest-rank sample values;
- cost: `total_usd` is every receipt's exact `cost_micros` (what the arm spent, failures that
  cost included); per request and per 1k tokens are of the answered (successful) requests, so
  that an arm whose failures cost nothing does not look cheaper for failing: their mean cost,
  and their total cost / total input + output tokens x 1000. Money is Decimal: totals exact,
  ratios rounded half-even to 10^-12 USD.

Tests (stats.py), each arm against the baseline: error rate by the two-proportion z-test, latency
by Mann-Whitney U (latency is skewed: no normality assumed), cost per request by Welch's t-test.
Intervals: Wilson (rates), order statistics (percentiles), Student t (mean cost), delta method
with the t quantile (cost per 1k tokens). With more than two arms each comparison is held to
alpha / (arms - 1) (Bonferroni).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from services.common.money import MICROS_PER_USD
from services.ledger.experiments import stats
from services.ledger.store.base import ArmSample

ALPHA = 0.05
PICO = Decimal("1e-12")


def dollars(micros: float | int | Decimal, scale: int = 1) -> Decimal:
    """Micros (or micros per `scale` requests/tokens) as USD, rounded half-even to 10^-12."""
    value = Decimal(micros) if not isinstance(micros, float) else Decimal(repr(micros))
    return (value / (MICROS_PER_USD * scale)).quantize(PICO, rounding=ROUND_HALF_EVEN)


@dataclass
class Arm:
    name: str
    samples: list[ArmSample]

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def errors(self) -> int:
        return sum(1 for s in self.samples if s.status != "success")

    @property
    def sent(self) -> int:
        """Receipts with at least one upstream attempt."""
        return sum(1 for s in self.samples if s.first_attempt is not None)

    @property
    def first_attempt_errors(self) -> int:
        return sum(1 for s in self.samples if s.first_attempt not in (None, "success"))

    @property
    def latencies(self) -> list[float]:
        return sorted(s.latency_ms for s in self.samples if s.status == "success")

    @property
    def answered(self) -> list[ArmSample]:
        return [s for s in self.samples if s.status == "success"]

    @property
    def costs(self) -> list[float]:
        """The answered requests' costs, in micros."""
        return [float(s.cost_micros) for s in self.answered]

    @property
    def tokens(self) -> list[float]:
        return [float(s.input_tokens + s.output_tokens) for s in self.answered]


def _round(x: float, places: int = 6) -> float | None:
    return round(x, places) if math.isfinite(x) else None  # JSON has no infinity


def arm_summary(arm: Arm) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for s in arm.samples:
        statuses[s.status] = statuses.get(s.status, 0) + 1
    low, high = stats.wilson(arm.errors, arm.n)
    out: dict[str, Any] = {
        "requests": arm.n,
        "statuses": dict(sorted(statuses.items())),
        "errors": arm.errors,
        "error_rate": _round(arm.errors / arm.n) if arm.n else None,
        "error_rate_ci95": [_round(low), _round(high)],
        "first_attempt": first_attempt_summary(arm),
    }
    lat = arm.latencies
    if lat:
        out["latency_ms"] = {
            "samples": len(lat),
            "p50": stats.percentile(lat, 0.5), "p50_ci95": list(stats.percentile_interval(lat, 0.5)),
            "p95": stats.percentile(lat, 0.95), "p95_ci95": list(stats.percentile_interval(lat, 0.95)),
            "mean": _round(stats.mean_and_variance(lat)[0], 3),
        }
    else:
        out["latency_ms"] = {"samples": 0}
    answered = arm.answered
    total_micros = sum(s.cost_micros for s in answered)
    total_tokens = sum(s.input_tokens + s.output_tokens for s in answered)
    _, mean_low, mean_high = stats.mean_interval(arm.costs)
    out["cost"] = {
        "total_usd": dollars(sum(s.cost_micros for s in arm.samples)),
        "answered": len(answered),
        "answered_tokens": total_tokens,
        "per_request_usd": dollars(total_micros, len(answered)) if answered else None,
        "per_request_usd_ci95": [dollars(max(mean_low, 0.0)), dollars(mean_high)] if answered else None,
    }
    if total_tokens:
        _, r_low, r_high = stats.ratio_interval(arm.costs, arm.tokens)
        out["cost"]["per_1k_tokens_usd"] = (Decimal(total_micros) * 1000 / Decimal(total_tokens)
                                            / MICROS_PER_USD).quantize(PICO, rounding=ROUND_HALF_EVEN)
        out["cost"]["per_1k_tokens_usd_ci95"] = [dollars(max(r_low, 0.0) * 1000), dollars(r_high * 1000)]
    else:
        out["cost"]["per_1k_tokens_usd"] = None
    return out


def first_attempt_summary(arm: Arm) -> dict[str, Any]:
    sent, failed = arm.sent, arm.first_attempt_errors
    low, high = stats.wilson(failed, sent)
    return {"requests": sent, "errors": failed, "error_rate": _round(failed / sent) if sent else None,
            "error_rate_ci95": [_round(low), _round(high)]}


def _better(arm: str, baseline: str, statistic: float, p: float, alpha: float) -> str | None:
    """Lower is better for every measure here: a negative statistic means `arm` is lower."""
    if p >= alpha:
        return None
    return arm if statistic < 0 else baseline


def compare(arm: Arm, baseline: Arm, alpha: float) -> dict[str, Any]:
    z, p_err = stats.two_proportion_z(arm.errors, arm.n, baseline.errors, baseline.n)
    u, uz, p_lat = stats.mann_whitney(arm.latencies, baseline.latencies)
    t, df, p_cost = stats.welch_t(arm.costs, baseline.costs)
    fz, p_first = stats.two_proportion_z(arm.first_attempt_errors, arm.sent, baseline.first_attempt_errors,
                                         baseline.sent)
    return {
        "arm": arm.name, "baseline": baseline.name, "alpha": alpha,
        "error_rate": {"test": "two-proportion z-test (pooled)", "z": _round(z, 4), "p_value": p_err,
                       "significant": p_err < alpha,
                       "difference": _round(arm.errors / arm.n - baseline.errors / baseline.n)
                       if arm.n and baseline.n else None,
                       "better": _better(arm.name, baseline.name, z, p_err, alpha)},
        "first_attempt_error_rate": {
            "test": "two-proportion z-test (pooled)", "z": _round(fz, 4), "p_value": p_first,
            "significant": p_first < alpha,
            "difference": _round(arm.first_attempt_errors / arm.sent - baseline.first_attempt_errors / baseline.sent)
            if arm.sent and baseline.sent else None,
            "better": _better(arm.name, baseline.name, fz, p_first, alpha),
            # the same counts as the error rate's in both arms (no retry or fallback rescued any):
            # the same evidence, not counted twice in the verdict
            "same_as_error_rate": (arm.first_attempt_errors, arm.sent, baseline.first_attempt_errors, baseline.sent)
            == (arm.errors, arm.n, baseline.errors, baseline.n)},
        "latency_ms": {"test": "Mann-Whitney U (normal approximation, tie-corrected)", "u": u,
                       "z": _round(uz, 4), "p_value": p_lat, "significant": p_lat < alpha,
                       "better": _better(arm.name, baseline.name, uz, p_lat, alpha)},
        "cost_per_request_usd": {"test": "Welch's t-test", "t": _round(t, 4), "df": _round(df, 2),
                                 "p_value": p_cost, "significant": p_cost < alpha,
                                 "better": _better(arm.name, baseline.name, t, p_cost, alpha)},
    }


MEASURES = {"error_rate": "a lower error rate", "first_attempt_error_rate": "fewer failed first attempts",
            "latency_ms": "lower latency",
            "cost_per_request_usd": "a lower cost per request"}


def comparison_verdict(c: dict[str, Any]) -> tuple[str | None, str]:
    """(the better arm or None, the sentence)."""
    wins: dict[str, list[str]] = {c["arm"]: [], c["baseline"]: []}
    for measure, words in MEASURES.items():
        result = c[measure]
        if result["better"] and not result.get("same_as_error_rate"):
            wins[result["better"]].append(f"{words} (p = {result['p_value']:.2g})")
    arm, baseline = c["arm"], c["baseline"]
    if wins[arm] and not wins[baseline]:
        return arm, f"{arm} is better than {baseline}: " + ", ".join(wins[arm])
    if wins[baseline] and not wins[arm]:
        return baseline, f"{baseline} is better than {arm}: " + ", ".join(wins[baseline])
    if wins[arm] and wins[baseline]:
        return None, (f"mixed: {arm} has " + ", ".join(wins[arm]) + f"; {baseline} has "
                      + ", ".join(wins[baseline]))
    return None, f"{arm} against {baseline}: not yet significant at alpha {c['alpha']:g}"


def build(experiment: str, samples: Sequence[ArmSample], baseline: str | None = None,
          alpha: float = ALPHA) -> dict[str, Any]:
    by_arm: dict[str, list[ArmSample]] = {}
    for s in samples:
        by_arm.setdefault(s.arm, []).append(s)
    arms = {name: Arm(name, rows) for name, rows in sorted(by_arm.items())}
    if baseline is None:  # the arm with the most requests: the control of a 90/10 split
        baseline = max(arms, key=lambda name: (arms[name].n, [-ord(ch) for ch in name])) if arms else None
    others = [a for name, a in arms.items() if name != baseline]
    out: dict[str, Any] = {"experiment": experiment, "requests": len(samples), "confidence": stats.CONFIDENCE,
                           "baseline": baseline, "arms": {name: arm_summary(arm) for name, arm in arms.items()},
                           "methods": methods(alpha, len(others))}
    if baseline is None or baseline not in arms or not others:
        out.update(comparisons=[], better_arm=None,
                   verdict="not yet significant: the experiment needs receipts from at least two arms")
        return out
    per = alpha / len(others)
    comparisons, winners = [], []
    for arm in others:
        c = compare(arm, arms[baseline], per)
        c["better_arm"], c["verdict"] = comparison_verdict(c)
        comparisons.append(c)
        winners.append(c["better_arm"])
    out["comparisons"] = comparisons
    beating = [w for w in winners if w is not None and w != baseline]
    better: str | None = None
    if all(w == baseline for w in winners):
        better = baseline  # better than every other arm
    elif len(beating) == 1 and sum(w == baseline for w in winners) == len(winners) - 1:
        better = beating[0]  # better than the baseline, which is better than every other arm
    out["better_arm"] = better
    if better is not None and len(comparisons) == 1:
        out["verdict"] = comparisons[0]["verdict"]
    elif better is not None:
        out["verdict"] = f"{better} is the better arm: " + "; ".join(c["verdict"] for c in comparisons)
    elif all(w is None for w in winners) and not any(c["verdict"].startswith("mixed") for c in comparisons):
        out["verdict"] = (f"not yet significant at alpha {alpha:g} with "
                          + ", ".join(f"{a.n} requests in {a.name}" for a in arms.values()))
    else:
        out["verdict"] = "no single better arm: " + "; ".join(c["verdict"] for c in comparisons)
    return out


def methods(alpha: float, comparisons: int) -> dict[str, str]:
    return {
        "error_rate": "errors: receipts whose status is not success; Wilson score interval; two-proportion z-test",
        "first_attempt": "of the receipts that sent anything upstream, those whose first attempt failed (a retry or"
                         " a fallback may have answered); Wilson score interval; two-proportion z-test",
        "latency_ms": "successful requests' latency_ms; nearest-rank P50/P95 with order-statistic intervals;"
                      " Mann-Whitney U",
        "cost": "total: every receipt's exact cost_micros; per request and per 1k tokens: the successful requests'"
                " (mean with Student t-interval and Welch's t-test; total cost / total tokens with a delta-method"
                " interval)",
        "alpha": f"{alpha:g}, split over {max(comparisons, 1)} comparison(s) against the baseline (Bonferroni)",
    }
