from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.common.registry.provider import provider_from_registration
from services.common.selection.estimate import max_input_tokens, typical_input_tokens, worst_case_cost
from services.gateway.budgets.worst_case import output_bound, worst_case

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def provider(name="p", inp="1", out="2", ctx=8192, **extra):
    body = {"name": name, "model": "m", "context_window": ctx, "input_per_mtok": inp,
            "output_per_mtok": out, "endpoint": "http://x", **extra}
    return provider_from_registration(body, NOW)


def payload(text="hello", max_tokens=None):
    p = {"messages": [{"role": "user", "content": text}]}
    if max_tokens:
        p["max_tokens"] = max_tokens
    return p


@given(st.text(max_size=2000))
def test_input_bound_is_never_below_the_byte_count(text):
    assert max_input_tokens(payload(text)) >= len(text.encode("utf-8"))
    assert max_input_tokens(payload(text)) >= typical_input_tokens(payload(text))


def test_output_bound_uses_max_tokens_when_given():
    assert output_bound(provider(), payload(max_tokens=16), 100) == 16


def test_output_bound_without_max_tokens_is_the_rest_of_the_context():
    assert output_bound(provider(ctx=1000), payload(), 100) == 900
    assert output_bound(provider(ctx=1000, max_output_tokens=256), payload(), 100) == 256


def test_hold_covers_the_most_expensive_fallback_and_rounds_up():
    cheap, dear = provider("cheap", "1", "1"), provider("dear", "10", "30")
    p = payload("hi", max_tokens=10)
    inputs = max_input_tokens(p)
    expected = (Decimal("10") * inputs + Decimal("30") * 10) / Decimal(1_000_000)
    got = worst_case([cheap, dear], p)
    assert got >= expected
    assert got - expected < Decimal("0.000001")
    assert got == got.quantize(Decimal("0.000001"))


def test_a_cache_write_dearer_than_input_raises_the_hold_to_cover_it():
    """Every input token of the bound could be a 1.25x cache write: the hold is still an upper bound."""
    p = payload("x" * 1000, max_tokens=10)
    inputs = max_input_tokens(p)
    plain = provider("plain", "3", "15")
    cached = provider("cached", "3", "15", cache_read_per_mtok="0.3", cache_write_per_mtok="3.75")
    hold = worst_case([cached], p)
    assert hold == worst_case_cost(inputs, 10, Decimal("0.00000375"), Decimal("0.000015"))
    assert hold > worst_case([plain], p)
    # the dearest bill this request can get: all its input written to the cache
    assert hold >= cached.input_cost(inputs, 0, inputs) + Decimal("0.000015") * 10
    # a read discount alone does not lower the hold below the input price
    assert worst_case([provider("reads", "3", "15", cache_read_per_mtok="0.3")], p) == worst_case([plain], p)


def test_a_one_hour_cache_write_raises_the_hold_to_its_price():
    """Every input token of the bound could be a 2x one-hour cache write: the hold covers that bill."""
    p = payload("x" * 1000, max_tokens=10)
    inputs = max_input_tokens(p)
    five_minutes = provider("5m", "3", "15", cache_read_per_mtok="0.3", cache_write_per_mtok="3.75")
    one_hour = provider("1h", "3", "15", cache_read_per_mtok="0.3", cache_write_per_mtok="3.75",
                        cache_write_1h_per_mtok="6")
    hold = worst_case([one_hour], p)
    assert hold == worst_case_cost(inputs, 10, Decimal("0.000006"), Decimal("0.000015"))
    assert hold > worst_case([five_minutes], p)
    # the dearest bill this request can get: all its input written to the cache for an hour
    bill = one_hour.input_cost(inputs, 0, inputs, inputs) + Decimal("0.000015") * 10
    assert bill > five_minutes.input_cost(inputs, 0, inputs) + Decimal("0.000015") * 10
    assert hold >= bill
    # as a fallback the one-hour provider sets the hold for the pair
    assert worst_case([five_minutes, one_hour], p) == hold
