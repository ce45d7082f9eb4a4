from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.money import (
    MoneyError,
    fmt_usd,
    from_micros,
    per_mtok_to_per_token,
    per_token_to_per_mtok,
    to_decimal,
    to_micros,
    token_cost,
    usd_ceiling,
)


def test_float_prices_are_read_by_their_shortest_repr_not_binary_value():
    assert to_decimal(0.00003) == Decimal("0.00003")
    assert to_decimal(0.1) + to_decimal(0.2) == Decimal("0.3")


def test_receipt_amounts_have_exactly_six_decimals():
    assert fmt_usd(Decimal("0.015")) == "0.015000"
    assert fmt_usd(token_cost(500, Decimal("0.00003"))) == "0.015000"


def test_per_mtok_round_trips_exactly():
    assert per_mtok_to_per_token(Decimal("0.15")) == Decimal("0.00000015")
    assert per_token_to_per_mtok(Decimal("0.00003")) == Decimal("30")


def test_rounding_is_half_even_at_the_microdollar():
    assert token_cost(1, Decimal("0.0000005")) == Decimal("0.000000")
    assert token_cost(3, Decimal("0.0000005")) == Decimal("0.000002")


def test_holds_round_up_never_down():
    assert usd_ceiling(Decimal("0.0000001")) == Decimal("0.000001")


@pytest.mark.parametrize("bad", ["abc", float("nan"), float("inf"), -1, True, None, "1e999999999999"])
def test_bad_amounts_are_refused(bad):
    with pytest.raises(MoneyError):
        to_decimal(bad)


def test_micros_refuse_sub_microdollar_amounts():
    with pytest.raises(MoneyError):
        to_micros(Decimal("0.0000001"))


@given(st.lists(st.integers(min_value=0, max_value=10**12), max_size=200))
def test_sum_of_micros_equals_sum_of_decimals(micros):
    amounts = [from_micros(m) for m in micros]
    assert to_micros(sum(amounts, Decimal(0))) == sum(micros)
