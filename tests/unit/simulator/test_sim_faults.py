"""Error draws: reproducible with a seed, exact at rates 0 and 1."""

from services.simulator.faults import ErrorDice


def draws(dice, n, rate=0.3, seed=7, key="k"):
    return [dice.fails(rate, seed, key) for _ in range(n)]


def test_seeded_draws_repeat_across_simulator_runs():
    first = draws(ErrorDice(), 200)
    assert first == draws(ErrorDice(), 200)
    assert 30 < sum(first) < 90  # about 30 %


def test_each_spec_has_its_own_sequence():
    dice = ErrorDice()
    a = draws(dice, 50, key="a")
    b = draws(dice, 50, key="b")
    assert a == b == draws(ErrorDice(), 50)


def test_another_seed_gives_another_sequence():
    assert draws(ErrorDice(), 100, seed=1) != draws(ErrorDice(), 100, seed=2)


def test_rates_zero_and_one_are_exact():
    dice = ErrorDice()
    assert not any(dice.fails(0.0) for _ in range(100))
    assert all(dice.fails(1.0) for _ in range(100))
