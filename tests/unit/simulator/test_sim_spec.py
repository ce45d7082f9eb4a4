"""The URL behaviour spec: valid specs override defaults, bad ones name the offending key."""

import pytest

from services.simulator.spec import Spec, SpecError, parse_spec


def test_empty_spec_gives_the_defaults():
    defaults = Spec(tokens=7)
    assert parse_spec("", defaults) is defaults
    assert parse_spec(",", defaults) == defaults


def test_every_key_is_parsed_over_the_defaults():
    spec = parse_spec("latency_ms=50,error_rate=0.3,status=503,tokens=40,tps=200,hang=1,drop=true,seed=42,"
                      "retry_after=30,tool=get_weather,cache_read=800000,cache_write=0,cache_write_1h=5000",
                      Spec(tokens=3, cache_write=9))
    assert spec == Spec(latency_ms=50, tps=200, tokens=40, error_rate=0.3, status=503, hang=True, drop=True,
                        seed=42, retry_after=30, tool="get_weather", cache_read=800_000, cache_write=0,
                        cache_write_1h=5000)


def test_keys_not_given_keep_their_defaults():
    spec = parse_spec("tokens=5", Spec(latency_ms=12, status=429))
    assert (spec.tokens, spec.latency_ms, spec.status, spec.hang) == (5, 12, 429, False)


@pytest.mark.parametrize("text, key", [
    ("bogus=1", "bogus"),
    ("latency_ms=fast", "latency_ms"),
    ("latency_ms=-1", "latency_ms"),
    ("error_rate=1.5", "error_rate"),
    ("error_rate=nan", "error_rate"),
    ("status=200", "status"),
    ("status=5o3", "status"),
    ("tokens=2.5", "tokens"),
    ("tokens=-1", "tokens"),
    ("hang=maybe", "hang"),
    ("drop=2", "drop"),
    ("seed=x", "seed"),
    ("retry_after=-1", "retry_after"),
    ("retry_after=soon", "retry_after"),
    ("tps=-3", "tps"),
    ("tool=", "tool"),
    ("tool=get weather", "tool"),
    ("tool=" + "x" * 65, "tool"),
    ("cache_read=-1", "cache_read"),
    ("cache_read=1.5", "cache_read"),
    ("cache_write=lots", "cache_write"),
    ("cache_write=100000001", "cache_write"),
    ("cache_write_1h=-3", "cache_write_1h"),
    ("cache_write_1h=an_hour", "cache_write_1h"),
    ("cache_write_1h=1,cache_write_1h=2", "cache_write_1h"),
    ("tokens", "tokens"),
    ("tokens=1,tokens=2", "tokens"),
])
def test_bad_spec_names_the_key(text, key):
    with pytest.raises(SpecError) as info:
        parse_spec(text)
    assert info.value.field == key
    assert key in info.value.message
    assert info.value.status == 400
