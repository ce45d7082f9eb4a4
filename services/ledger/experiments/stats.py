"""The statistics of an A/B report, as plain functions on plain numbers (no I/O, no scipy).

- a rate's 95 % interval: Wilson's score interval (`wilson`), good at small n and near 0 or 1;
- two rates compared: the two-proportion z-test with the pooled rate (`two_proportion_z`);
- a mean's interval: Student's t-interval, mean +/- t(0.975, n-1) s / sqrt(n) (`mean_interval`);
- a ratio of sums (cost per 1k tokens): the delta-method (linearised) interval of the ratio
  estimator with the same t quantile (`ratio_interval`);
- two means compared: Welch's unequal-variance t-test with Welch-Satterthwaite degrees of freedom
  (`welch_t`);
- two distributions compared (latency): the Mann-Whitney U test, normal approximation with the
  tie correction (`mann_whitney`), which needs no normality and is not thrown by a long tail;
- a percentile: the nearest-rank sample value (`percentile`, an observed value, never
  interpolated) and its distribution-free interval between two order statistics (`percentile_interval`).

Every p-value is two-sided. Student's t distribution is computed from the regularised incomplete
beta function (Numerical Recipes' continued fraction), its quantile by bisection.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from statistics import NormalDist

NORMAL = NormalDist()
CONFIDENCE = 0.95


def z_quantile(confidence: float = CONFIDENCE) -> float:
    """The two-sided normal critical value: 1.959964 for 95 %."""
    return NORMAL.inv_cdf(0.5 + confidence / 2)


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|), from erfc so that a far tail is not rounded to 0 (z = 10: 1.5e-23)."""
    return math.erfc(abs(z) / math.sqrt(2))


# -- rates ---------------------------------------------------------------------------------------


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval for a proportion (no continuity correction); (0, 1) when n is 0."""
    if n == 0:
        return 0.0, 1.0
    z = z_quantile(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float]:
    """(z, two-sided p) for H0: p1 = p2, with the pooled rate; (0, 1) when it cannot be told
    (an empty arm, or no variation at all)."""
    if n1 == 0 or n2 == 0:
        return 0.0, 1.0
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 0.0, 1.0
    z = (x1 / n1 - x2 / n2) / se
    return z, normal_two_sided_p(z)


# -- Student's t ---------------------------------------------------------------------------------


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    tiny, eps = 1e-300, 3e-16
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1) < eps:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1 - front * _beta_continued_fraction(b, a, 1 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with `df` degrees of freedom (df may be fractional)."""
    if math.isinf(t):
        return 0.0
    return regularized_beta(df / 2, 0.5, df / (df + t * t))


@lru_cache(maxsize=1024)
def t_quantile(confidence: float, df: float) -> float:
    """The two-sided critical value: P(|T| <= q) = confidence (2.228139 for 95 % at df = 10)."""
    alpha = 1 - confidence
    low, high = 0.0, 1.0
    while t_two_sided_p(high, df) > alpha:
        high *= 2
    for _ in range(200):
        mid = (low + high) / 2
        if t_two_sided_p(mid, df) > alpha:
            low = mid
        else:
            high = mid
    return (low + high) / 2


# -- means ---------------------------------------------------------------------------------------


def mean_and_variance(values: Sequence[float]) -> tuple[float, float]:
    """The mean and the unbiased sample variance (0 for fewer than two values)."""
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    mean = math.fsum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.fsum((v - mean) ** 2 for v in values) / (n - 1)


def mean_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(mean, low, high): Student's t-interval; the mean itself for fewer than two values."""
    n = len(values)
    mean, variance = mean_and_variance(values)
    if n < 2:
        return mean, mean, mean
    half = t_quantile(confidence, n - 1) * math.sqrt(variance / n)
    return mean, mean - half, mean + half


def ratio_interval(numerators: Sequence[float], denominators: Sequence[float],
                   confidence: float = CONFIDENCE) -> tuple[float, float, float]:
    """(R, low, high) for R = sum(numerators) / sum(denominators), each pair one request: the
    delta-method standard error sqrt(sum((y - R x)^2) / (n (n - 1))) / mean(x), times the t quantile."""
    n = len(numerators)
    total_x = math.fsum(denominators)
    if n == 0 or total_x == 0:
        return 0.0, 0.0, 0.0
    ratio = math.fsum(numerators) / total_x
    if n < 2:
        return ratio, ratio, ratio
    residual = math.fsum((y - ratio * x) ** 2 for y, x in zip(numerators, denominators, strict=True))
    se = math.sqrt(residual / (n * (n - 1))) / (total_x / n)
    half = t_quantile(confidence, n - 1) * se
    return ratio, ratio - half, ratio + half


def welch_t(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """(t, degrees of freedom, two-sided p) of Welch's t-test for H0: mean(a) = mean(b);
    (0, 0, 1) when it cannot be told (fewer than two values in an arm, or no variance and the
    same mean); (+/-inf, 0, 0) when neither arm varies and their means differ."""
    if len(a) < 2 or len(b) < 2:
        return 0.0, 0.0, 1.0
    (ma, va), (mb, vb) = mean_and_variance(a), mean_and_variance(b)
    sa, sb = va / len(a), vb / len(b)
    if sa + sb == 0:  # no spread at all: equal, or certainly different (t infinite, its sign tells which)
        return (0.0, 0.0, 1.0) if ma == mb else (math.copysign(math.inf, ma - mb), 0.0, 0.0)
    t = (ma - mb) / math.sqrt(sa + sb)
    df = (sa + sb) ** 2 / ((sa * sa / (len(a) - 1) if sa else 0) + (sb * sb / (len(b) - 1) if sb else 0))
    return t, df, t_two_sided_p(t, df)


# -- distributions -------------------------------------------------------------------------------


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """(U of `a`, z, two-sided p) of the Mann-Whitney U test, normal approximation with the tie
    correction and no continuity correction; U / (len(a) len(b)) is P(a draw from `a` exceeds
    one from `b`), ties counted half. (0, 0, 1) for an empty arm or all values equal."""
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        return 0.0, 0.0, 1.0
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    rank_sum_a, ties, i, n = 0.0, 0.0, 0, n1 + n2
    while i < n:
        j = i
        while j < n and pooled[j][0] == pooled[i][0]:
            j += 1
        mid_rank = (i + 1 + j) / 2  # ranks i+1 .. j share their average
        rank_sum_a += mid_rank * sum(1 for k in range(i, j) if pooled[k][1] == 0)
        size = j - i
        ties += size ** 3 - size
        i = j
    u = rank_sum_a - n1 * (n1 + 1) / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if variance <= 0:
        return u, 0.0, 1.0
    z = (u - n1 * n2 / 2) / math.sqrt(variance)
    return u, z, normal_two_sided_p(z)


# -- percentiles ---------------------------------------------------------------------------------


def percentile(ordered: Sequence[float], q: float) -> float:
    """The nearest-rank percentile of sorted values: the ceil(q n)-th smallest, a value observed."""
    if not ordered:
        raise ValueError("no values")
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def percentile_interval(ordered: Sequence[float], q: float,
                        confidence: float = CONFIDENCE) -> tuple[float, float]:
    """A distribution-free interval for the q-th quantile: the order statistics at ranks
    n q -/+ z sqrt(n q (1 - q)) (the normal approximation of the binomial count of values below
    the quantile), clamped to the sample; at small n it is the sample's range."""
    n = len(ordered)
    if not n:
        raise ValueError("no values")
    spread = z_quantile(confidence) * math.sqrt(n * q * (1 - q))
    low = max(1, math.floor(n * q - spread))
    high = min(n, math.ceil(n * q + spread) + 1)
    return ordered[low - 1], ordered[high - 1]
