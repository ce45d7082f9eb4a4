"""Who may use the cache: settings, the key's policy, the request's headers and body extension."""

import pytest

from services.common.errors import InvalidRequest
from services.gateway.cache.controls import (
    CacheSettings,
    KeyCachePolicy,
    RequestControls,
    decide,
    is_deterministic,
    read_controls,
)

DET = {"model": "m", "temperature": 0, "messages": [{"role": "user", "content": "hi"}]}
SAMPLED = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
SETTINGS = CacheSettings(default_ttl_s=60, max_ttl_s=600, semantic=True)


def run(payload, headers=None, key=KeyCachePolicy(), settings=SETTINGS):
    controls, forwarded = read_controls(headers or {}, payload)
    return decide(forwarded, controls, key, settings), forwarded


@pytest.mark.parametrize("payload,expected", [
    ({"temperature": 0}, True), ({"temperature": 0.0}, True), ({"temperature": 0.3}, False),
    ({}, False), ({"temperature": None}, False), ({"temperature": False}, False),
])
def test_only_temperature_zero_is_deterministic(payload, expected):
    assert is_deterministic(payload) is expected


def test_deterministic_requests_are_looked_up_and_stored_with_the_default_ttl():
    d, _ = run(DET)
    assert (d.lookup, d.store, d.semantic, d.ttl_s, d.reason) == (True, True, True, 60, "")


def test_sampled_requests_are_not_cached_unless_the_caller_or_key_opts_in():
    assert run(SAMPLED)[0].active is False and run(SAMPLED)[0].reason == "sampled"
    assert run({**SAMPLED, "tollway": {"cache": True}})[0].store is True
    assert run(SAMPLED, key=KeyCachePolicy(cache_sampled=True))[0].lookup is True


def test_opting_out_always_wins():
    assert run({**DET, "tollway": {"cache": False}})[0].active is False
    assert run(DET, key=KeyCachePolicy(enabled=False))[0].active is False
    assert run(DET, settings=CacheSettings(enabled=False))[0].active is False
    assert run(DET, {"Cache-Control": "no-store"})[0].active is False


def test_no_cache_skips_the_lookup_but_still_stores():
    d, _ = run(DET, {"cache-control": "max-age=0, No-Cache"})
    assert (d.lookup, d.store, d.reason) == (False, True, "no_cache")


def test_ttl_from_header_body_and_key_capped_by_max_ttl():
    assert run(DET, {"X-Tollway-Cache-TTL": "30"})[0].ttl_s == 30
    assert run({**DET, "tollway": {"cache": {"ttl_s": 5}}}, {"X-Tollway-Cache-TTL": "30"})[0].ttl_s == 5
    assert run(DET, key=KeyCachePolicy(ttl_s=120))[0].ttl_s == 120
    assert run(DET, {"x-tollway-cache-ttl": "99999"})[0].ttl_s == 600


def test_semantic_can_be_turned_off_per_key_and_per_request_but_not_on_past_settings():
    assert run(DET, key=KeyCachePolicy(semantic=False))[0].semantic is False
    assert run({**DET, "tollway": {"cache": {"semantic": False}}})[0].semantic is False
    assert run(DET, key=KeyCachePolicy(semantic=True), settings=CacheSettings())[0].semantic is False


def test_the_body_extension_is_stripped_before_forwarding_and_other_tollway_fields_kept():
    _, forwarded = run({**DET, "tollway": {"cache": {"store": False}}})
    assert "tollway" not in forwarded and forwarded["messages"] == DET["messages"]
    _, kept = run({**DET, "tollway": {"cache": True, "trace": "x"}})
    assert kept["tollway"] == {"trace": "x"}
    controls, same = read_controls({}, DET)
    assert same is DET and controls == RequestControls()


@pytest.mark.parametrize("headers,payload", [
    ({"X-Tollway-Cache-TTL": "soon"}, DET), ({"X-Tollway-Cache-TTL": "-1"}, DET),
    ({}, {**DET, "tollway": {"cache": "yes"}}), ({}, {**DET, "tollway": {"cache": {"ttl": 5}}}),
    ({}, {**DET, "tollway": {"cache": {"store": "no"}}}), ({}, {**DET, "tollway": {"cache": {"ttl_s": True}}}),
    ({}, {**DET, "tollway": "cache"}),
])
def test_bad_controls_are_a_400_naming_the_field(headers, payload):
    with pytest.raises(InvalidRequest) as err:
        read_controls(headers, payload)
    assert err.value.status == 400 and err.value.field
