"""The input cost with prompt-cache prices: uncached x input + reads x read price + writes x write
price (the 1-hour writes among them at the 1-hour write price), summed exactly and rounded
half-even to the microdollar once; absent read and write prices are the input price and an absent
1-hour write price the write price, so a provider without cache prices costs exactly what
token_cost gives."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.common.money import (
    MICRO,
    cache_parts,
    input_cost,
    per_mtok_to_per_token,
    token_cost,
    written_1h_part,
)

M = per_mtok_to_per_token  # $ per million tokens -> $ per token, exactly


def test_anthropic_style_reads_and_writes_cost_the_hand_computed_figure():
    # 1,000,000 input tokens: 800,000 read from the cache, 100,000 written to it, 100,000 plain.
    # 100,000 x $3 + 800,000 x $0.30 + 100,000 x $3.75 per Mtok = 0.30 + 0.24 + 0.375
    cost = input_cost(1_000_000, M(Decimal("3")), cache_read_tokens=800_000, cache_read_price=M(Decimal("0.30")),
                      cache_creation_tokens=100_000, cache_write_price=M(Decimal("3.75")))
    assert cost == Decimal("0.915000")
    assert str(cost) == "0.915000"


def test_openai_style_cached_tokens_at_half_price():
    # 2,048 prompt tokens of which 1,024 cached, gpt-4o at $2.50 in, $1.25 cached per Mtok
    cost = input_cost(2048, M(Decimal("2.5")), cache_read_tokens=1024, cache_read_price=M(Decimal("1.25")))
    assert cost == Decimal("0.003840")  # 1024 x 2.5e-6 + 1024 x 1.25e-6 = 0.00256 + 0.00128


def test_without_cache_prices_every_input_token_is_charged_at_the_input_price():
    price = M(Decimal("3"))
    assert input_cost(1_000_000, price, cache_read_tokens=800_000, cache_creation_tokens=100_000) == Decimal("3")
    # a read price alone: the 100,000 writes are charged at $3 like the 100,000 plain tokens
    assert input_cost(1_000_000, price, cache_read_tokens=800_000, cache_read_price=M(Decimal("0.3")),
                      cache_creation_tokens=100_000) == Decimal("0.3") + Decimal("0.24") + Decimal("0.3")


def test_the_sum_is_rounded_once_not_each_part():
    # 2 plain at $1, 3 reads at $0.10, 2 writes at $1.25 per Mtok: 2e-6 + 0.3e-6 + 2.5e-6 = 4.8e-6 -> 5e-6;
    # rounding each part first would give 2e-6 + 0 + 2e-6 (half-even) = 4e-6
    cost = input_cost(7, M(Decimal("1")), cache_read_tokens=3, cache_read_price=M(Decimal("0.1")),
                      cache_creation_tokens=2, cache_write_price=M(Decimal("1.25")))
    assert cost == Decimal("0.000005")
    # and without cache prices the split changes nothing: 3 tokens at $0.5/Mtok is 1.5e-6 -> 2e-6 (half-even),
    # where three parts of one token each would have rounded to 0
    assert input_cost(3, M(Decimal("0.5")), cache_read_tokens=1, cache_creation_tokens=1) == Decimal("0.000002")


def test_cache_counts_beyond_the_input_tokens_are_capped_reads_first():
    assert cache_parts(100, 30, 20) == (50, 30, 20)
    assert cache_parts(100, 130, 20) == (0, 100, 0)
    assert cache_parts(100, 70, 50) == (0, 70, 30)
    assert cache_parts(100, -5, -1) == (100, 0, 0)
    # a provider that reports more cached tokens than prompt tokens is billed for the prompt tokens only
    assert input_cost(100, M(Decimal("10")), cache_read_tokens=500, cache_read_price=M(Decimal("1"))) \
        == Decimal("0.000100")


def test_one_hour_writes_cost_the_one_hour_price():
    # Sonnet: $3 in, $0.30 read, $3.75 5-minute write, $6 1-hour write per Mtok. 1,000,000 input
    # tokens: 700,000 read, 200,000 written of which 50,000 for an hour, 100,000 plain:
    # 0.30 + 0.21 + 150,000 x 3.75 (0.5625) + 50,000 x 6 (0.30) = 1.3725
    cost = input_cost(1_000_000, M(Decimal("3")), cache_read_tokens=700_000, cache_read_price=M(Decimal("0.30")),
                      cache_creation_tokens=200_000, cache_write_price=M(Decimal("3.75")),
                      cache_creation_1h_tokens=50_000, cache_write_1h_price=M(Decimal("6")))
    assert cost == Decimal("1.372500") and str(cost) == "1.372500"
    # every write for an hour: 100,000 x 3 + 700,000 x 0.3 + 200,000 x 6 = 0.3 + 0.21 + 1.2
    assert input_cost(1_000_000, M(Decimal("3")), cache_read_tokens=700_000, cache_read_price=M(Decimal("0.30")),
                      cache_creation_tokens=200_000, cache_write_price=M(Decimal("3.75")),
                      cache_creation_1h_tokens=200_000, cache_write_1h_price=M(Decimal("6"))) == Decimal("1.710000")


def test_an_absent_one_hour_price_is_the_write_price_and_an_absent_write_price_the_input_price():
    price = M(Decimal("3"))
    # no 1-hour price: all 200,000 writes at $3.75: 800,000 x 3 + 200,000 x 3.75 = 2.4 + 0.75
    assert input_cost(1_000_000, price, cache_creation_tokens=200_000, cache_write_price=M(Decimal("3.75")),
                      cache_creation_1h_tokens=50_000) == Decimal("3.150000")
    # a 1-hour price alone: the 150,000 5-minute writes at the input price, the 50,000 at $6:
    # 950,000 x 3 + 50,000 x 6 = 2.85 + 0.3
    assert input_cost(1_000_000, price, cache_creation_tokens=200_000, cache_creation_1h_tokens=50_000,
                      cache_write_1h_price=M(Decimal("6"))) == Decimal("3.150000")
    assert input_cost(1_000_000, price, cache_creation_tokens=200_000, cache_creation_1h_tokens=150_000,
                      cache_write_1h_price=M(Decimal("6"))) == Decimal("3.450000")  # 2.55 + 0.9
    # no cache prices at all: token_cost, however the writes split
    assert input_cost(1_000_000, price, cache_read_tokens=1, cache_creation_tokens=200_000,
                      cache_creation_1h_tokens=50_000) == token_cost(1_000_000, price) == Decimal("3.000000")


def test_the_one_hour_part_is_summed_before_rounding_too():
    # 3 tokens, all written: 1 for 5 minutes at $1.50, 2 for an hour at $0.75 per Mtok: 1.5e-6 + 1.5e-6
    # = 3e-6; rounding the parts first would give 2e-6 + 2e-6 (1.5 -> 2 half-even) = 4e-6
    assert input_cost(3, M(Decimal("1")), cache_creation_tokens=3, cache_write_price=M(Decimal("1.5")),
                      cache_creation_1h_tokens=2, cache_write_1h_price=M(Decimal("0.75"))) == Decimal("0.000003")


def test_one_hour_writes_are_a_part_of_the_writes_capped_at_them():
    assert written_1h_part(20, 5) == 5
    assert written_1h_part(20, 50) == 20
    assert written_1h_part(20, -3) == 0
    assert written_1h_part(0, 7) == 0
    # 100 input tokens, 70 read, 50 written reported (capped at 30), 40 of them for an hour (capped at 30):
    # 70 x $1 + 30 x $10 per Mtok
    assert input_cost(100, M(Decimal("5")), cache_read_tokens=70, cache_read_price=M(Decimal("1")),
                      cache_creation_tokens=50, cache_write_price=M(Decimal("7")),
                      cache_creation_1h_tokens=40, cache_write_1h_price=M(Decimal("10"))) == Decimal("0.000370")


prices = st.decimals(min_value=0, max_value=100, places=4).map(M)


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), prices)
def test_absent_cache_prices_give_exactly_token_cost(tokens, read, written, written_1h, price):
    assert input_cost(tokens, price, cache_read_tokens=read, cache_creation_tokens=written,
                      cache_creation_1h_tokens=written_1h) == token_cost(tokens, price)


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), prices, prices, prices)
def test_the_cost_is_the_exact_sum_within_half_a_microdollar(tokens, read, written, inp, rp, wp):
    plain, r, w = cache_parts(tokens, read, written)
    assert plain + r + w == tokens and min(plain, r, w) >= 0
    cost = input_cost(tokens, inp, cache_read_tokens=read, cache_read_price=rp,
                      cache_creation_tokens=written, cache_write_price=wp)
    assert cost == cost.quantize(MICRO)
    assert abs(cost - (plain * inp + r * rp + w * wp)) <= MICRO / 2


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9),
       prices, prices, prices, prices)
def test_with_one_hour_writes_the_cost_is_the_exact_sum_within_half_a_microdollar(
        tokens, read, written, written_1h, inp, rp, wp, w1p):
    plain, r, w = cache_parts(tokens, read, written)
    w1 = written_1h_part(w, written_1h)
    assert 0 <= w1 <= w
    cost = input_cost(tokens, inp, cache_read_tokens=read, cache_read_price=rp, cache_creation_tokens=written,
                      cache_write_price=wp, cache_creation_1h_tokens=written_1h, cache_write_1h_price=w1p)
    assert cost == cost.quantize(MICRO)
    assert abs(cost - (plain * inp + r * rp + (w - w1) * wp + w1 * w1p)) <= MICRO / 2
