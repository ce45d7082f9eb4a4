"""The A/B statistics on synthetic data with known answers: textbook intervals and tests, and
the significance a sample size can and cannot give."""

from __future__ import annotations

import random

import pytest

from services.ledger.experiments.stats import (
    mann_whitney,
    mean_interval,
    percentile,
    percentile_interval,
    ratio_interval,
    t_quantile,
    t_two_sided_p,
    two_proportion_z,
    welch_t,
    wilson,
    z_quantile,
)


@pytest.mark.parametrize(("x", "n", "low", "high"), [
    # Newcombe (1998), Statistics in Medicine 17:857, Table I, method 3 (the Wilson score interval)
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_interval_matches_newcombes_table(x, n, low, high):
    got = wilson(x, n)
    assert got == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_edges():
    assert wilson(0, 0) == (0.0, 1.0)
    assert wilson(20, 20)[1] == 1.0 and wilson(20, 20)[0] == pytest.approx(1 - 0.1611, abs=5e-5)


def test_critical_values():
    assert z_quantile() == pytest.approx(1.959964, abs=1e-6)
    assert t_quantile(0.95, 10) == pytest.approx(2.228139, abs=1e-6)
    assert t_quantile(0.95, 1) == pytest.approx(12.706205, abs=1e-5)
    assert t_quantile(0.95, 30) == pytest.approx(2.042272, abs=1e-6)
    assert t_quantile(0.99, 5) == pytest.approx(4.032143, abs=1e-5)
    assert t_two_sided_p(2.0, 5) == pytest.approx(0.101939, abs=1e-6)
    assert t_two_sided_p(0.0, 7) == pytest.approx(1.0)


def test_two_percent_against_ten_percent_at_two_thousand_each_is_significant():
    z, p = two_proportion_z(40, 2000, 200, 2000)
    assert z == pytest.approx(-10.652, abs=1e-3)
    assert p < 1e-20


def test_equal_error_rates_are_not_significant():
    assert two_proportion_z(100, 2000, 100, 2000) == (0.0, 1.0)
    _, p = two_proportion_z(100, 2000, 110, 2000)  # 5 % vs 5.5 %: too close to tell at this size
    assert p > 0.4


def test_small_samples_of_different_rates_are_not_yet_significant():
    _, p = two_proportion_z(1, 50, 5, 50)  # 2 % vs 10 % on 50 each
    assert 0.05 < p < 0.2


def test_two_proportion_z_textbook():
    # 52/200 vs 30/200 (0.26 vs 0.15): pooled 0.205, se = sqrt(0.205 x 0.795 x 2/200) = 0.040370,
    # z = 0.11 / 0.040370 = 2.7248, p = 2 (1 - Phi(2.7248)) = 0.00643
    z, p = two_proportion_z(52, 200, 30, 200)
    assert z == pytest.approx(2.7248, abs=1e-4) and p == pytest.approx(0.00643, abs=1e-5)


def test_welch_t_matches_the_textbook_example():
    # Wikipedia, "Welch's t-test", example 1: t = -2.46, df = 24.99, p = 0.021
    a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
    t, df, p = welch_t(a, b)
    assert t == pytest.approx(-2.4554, abs=1e-4) and df == pytest.approx(24.9885, abs=1e-4)
    assert p == pytest.approx(0.02138, abs=1e-5)


def test_welch_t_degenerate_inputs():
    assert welch_t([1.0], [2.0, 3.0]) == (0.0, 0.0, 1.0)
    assert welch_t([2.0, 2.0], [2.0, 2.0]) == (0.0, 0.0, 1.0)
    assert welch_t([2.0, 2.0], [3.0, 3.0]) == (float("-inf"), 0.0, 0.0)  # no variance at all and different


def test_mean_interval_is_the_t_interval():
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0]  # mean 6, s = 3.3166, df 10
    mean, low, high = mean_interval(values)
    half = 2.228139 * 3.316625 / 11 ** 0.5
    assert mean == 6.0 and (low, high) == pytest.approx((6 - half, 6 + half), abs=1e-5)
    assert mean_interval([4.0]) == (4.0, 4.0, 4.0)


def test_mean_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = random.Random(3)
    covered = 0
    for _ in range(1000):
        _, low, high = mean_interval([rng.expovariate(1.0) for _ in range(200)])
        covered += low <= 1.0 <= high
    assert 930 <= covered <= 970


def test_ratio_interval_of_cost_per_token():
    # every request costs exactly 2 per token: the ratio is 2 with no spread
    assert ratio_interval([20.0, 40.0, 60.0], [10.0, 20.0, 30.0]) == (2.0, 2.0, 2.0)
    rng = random.Random(5)
    tokens = [float(rng.randint(50, 150)) for _ in range(400)]
    costs = [t * 3.0 + rng.gauss(0, 10) for t in tokens]
    ratio, low, high = ratio_interval(costs, tokens)
    assert low < 3.0 < high and high - low < 0.2 and ratio == pytest.approx(sum(costs) / sum(tokens))


def test_mann_whitney_textbook():
    u, _, _ = mann_whitney([19, 22, 16, 29, 24], [20, 11, 17, 12])
    assert u == 17.0  # and 3 for the other sample: 17 + 3 = 5 x 4
    u, z, p = mann_whitney([1, 2, 3], [4, 5, 6])
    assert u == 0.0 and z == pytest.approx(-1.9640, abs=1e-4) and p == pytest.approx(0.0495, abs=1e-4)
    assert mann_whitney([5, 5, 5], [5, 5]) == (3.0, 0.0, 1.0)  # all tied: nothing to tell


def test_mann_whitney_tells_a_slower_arm_and_rejects_equal_ones_at_its_level():
    rng = random.Random(1)
    fast = [rng.lognormvariate(4.0, 0.5) for _ in range(150)]
    slow = [rng.lognormvariate(4.3, 0.5) for _ in range(150)]
    assert mann_whitney(fast, slow)[2] < 1e-4
    # the same distribution in both arms: "significant" at 5 % about 5 % of the time, no more
    rejected = sum(mann_whitney([rng.lognormvariate(4.0, 0.5) for _ in range(100)],
                                [rng.lognormvariate(4.0, 0.5) for _ in range(100)])[2] < 0.05 for _ in range(400))
    assert 8 <= rejected <= 34  # 20 expected; the binomial's 99.9 % range


def test_percentiles_are_observed_values_by_nearest_rank():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.5) == 50.0 and percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([1.0, 2.0, 3.0], 0.5) == 2.0
    low, high = percentile_interval(values, 0.5)  # ranks 50 -/+ 9.8: 40 and 61
    assert (low, high) == (40.0, 61.0)
    low, high = percentile_interval(values, 0.95)
    assert low < 95.0 < high and high <= 100.0
    assert percentile_interval([3.0, 4.0], 0.95) == (3.0, 4.0)
