"""The input cost with prompt-cache prices: uncached x input + reads x read price + writes x write
price, summed exactly and rounded half-even to the microdollar once; absent cache prices are the
input price, so a provider without them costs exactly what token_cost gives."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.common.money import MICRO, cache_parts, input_cost, per_mtok_to_per_token, token_cost

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


prices = st.decimals(min_value=0, max_value=100, places=4).map(M)


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), prices)
def test_absent_cache_prices_give_exactly_token_cost(tokens, read, written, price):
    assert input_cost(tokens, price, cache_read_tokens=read, cache_creation_tokens=written) \
        == token_cost(tokens, price)


@given(st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**9), prices, prices, prices)
def test_the_cost_is_the_exact_sum_within_half_a_microdollar(tokens, read, written, inp, rp, wp):
    plain, r, w = cache_parts(tokens, read, written)
    assert plain + r + w == tokens and min(plain, r, w) >= 0
    cost = input_cost(tokens, inp, cache_read_tokens=read, cache_read_price=rp,
                      cache_creation_tokens=written, cache_write_price=wp)
    assert cost == cost.quantize(MICRO)
    assert abs(cost - (plain * inp + r * rp + w * wp)) <= MICRO / 2
