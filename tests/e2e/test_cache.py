"""The response cache on real processes: a repeat is answered from the cache (cost 0, what it
saved, nothing upstream), as JSON or as a stream, never across tenants, and as the caller asks."""

import json
import time
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import register

SPEC = "seed=6161"  # this module's provider: the simulator counts its calls by spec


@pytest.fixture(scope="module")
def cached(swarm, http):
    register(http, swarm, {"name": "cache-sim", "model": "cache-model", "context_window": 4096,
                           "input_per_mtok": "100", "output_per_mtok": "200",
                           "endpoint": swarm.url("simulator") + f"/sim/{SPEC}"})
    swarm.wait_for_model("cache-model")
    return "cache-model"


def upstream_calls(swarm) -> int:
    return httpx.get(swarm.url("simulator") + "/requests").json()["by_spec"].get(SPEC, 0)


def ask(http, swarm, content, *, headers=None, **extra):
    body = {"model": "cache-model", "temperature": 0, "max_tokens": 8,
            "messages": [{"role": "user", "content": content}], **extra}
    return http.post(swarm.url("gateway") + "/v1/chat/completions", json=body,
                     headers={"x-tollway-run": "cache-run", **(headers or {})})


def receipt_of(swarm, request_id):
    for line in (swarm.costs / "cache-run.jsonl").read_text().splitlines():
        r = json.loads(line, parse_float=Decimal)
        if r["request_id"] == request_id:
            return r
    raise AssertionError(f"no receipt for {request_id}")


def test_a_repeat_is_served_from_the_cache(swarm, http, cached):
    first = ask(http, swarm, "What is the capital of France?")
    calls = upstream_calls(swarm)
    second = ask(http, swarm, "What is the capital of France?")
    assert first.status_code == second.status_code == 200
    assert second.json()["choices"] == first.json()["choices"]
    assert upstream_calls(swarm) == calls  # nothing went upstream
    paid, free = (receipt_of(swarm, r.headers["x-request-id"]) for r in (first, second))
    assert paid["cost_usd"] > 0 and "cache" not in paid
    assert (free["cache"], free["cache_kind"], free["cost_usd"], free["saved_usd"]) == ("hit", "exact", 0,
                                                                                       paid["cost_usd"])
    assert free["strategy"] == "cache" and free["attempts"] == [] and free["cache_provider"] == "cache-sim"
    assert second.headers["x-tollway-cost-usd"] == "0.000000"


def test_a_hit_streams_back_when_the_client_streams(swarm, http, cached):
    plain = ask(http, swarm, "Name three primary colours.")
    with http.stream("POST", swarm.url("gateway") + "/v1/chat/completions",
                     json={"model": "cache-model", "temperature": 0, "max_tokens": 8, "stream": True,
                           "messages": [{"role": "user", "content": "Name three primary colours."}]},
                     headers={"x-tollway-run": "cache-run"}) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in resp.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join((json.loads(e)["choices"][0]["delta"].get("content") or "") for e in events[:-1]
                   if json.loads(e)["choices"])
    assert text == plain.json()["choices"][0]["message"]["content"]
    assert receipt_of(swarm, resp.headers["x-request-id"])["cache"] == "hit"


def test_sampled_and_opted_out_requests_are_not_cached(swarm, http, cached):
    calls = upstream_calls(swarm)
    for _ in range(2):
        assert ask(http, swarm, "Tell me a joke.", temperature=0.9).status_code == 200
    assert upstream_calls(swarm) == calls + 2  # sampled: every call goes upstream
    for _ in range(2):
        assert ask(http, swarm, "Spell 'cat'.", headers={"cache-control": "no-store"}).status_code == 200
    assert upstream_calls(swarm) == calls + 4
    opted_in = [ask(http, swarm, "Tell me a riddle.", temperature=0.9, tollway={"cache": True}) for _ in range(2)]
    assert upstream_calls(swarm) == calls + 5
    assert receipt_of(swarm, opted_in[1].headers["x-request-id"])["cache"] == "hit"
    bad = ask(http, swarm, "x", tollway={"cache": {"ttl_s": "soon"}})
    assert bad.status_code == 400 and "ttl" in bad.json()["error"]["message"].lower()


def test_tenants_never_see_each_others_answers(swarm, http, cached):
    keys = [http.post(swarm.url("ledger") + "/keys", json={"org": org}).json() for org in ("acme", "beta")]
    deadline = time.monotonic() + 5
    while httpx.get(swarm.url("gateway") + "/health").json()["keys"]["keys"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    answers = [ask(http, swarm, "Summarise our Q3 plan.", headers={"authorization": f"Bearer {k['secret']}"})
               for k in keys]
    receipts = [receipt_of(swarm, a.headers["x-request-id"]) for a in answers]
    assert [r.get("cache") for r in receipts] == [None, None]  # beta did not get acme's answer
    again = ask(http, swarm, "Summarise our Q3 plan.", headers={"authorization": f"Bearer {keys[1]['secret']}"})
    assert receipt_of(swarm, again.headers["x-request-id"])["cache"] == "hit"


def test_operators_see_and_drop_cached_answers(swarm, http, cached):
    ask(http, swarm, "What is 6 times 7?")
    stats = http.get(swarm.url("gateway") + "/admin/cache").json()
    assert stats["entries"] >= 1 and stats["hits_exact"] >= 1
    dropped = http.delete(swarm.url("gateway") + "/admin/cache", params={"model": "cache-model"}).json()
    assert dropped["dropped"] >= 1
    calls = upstream_calls(swarm)
    ask(http, swarm, "What is 6 times 7?")
    assert upstream_calls(swarm) == calls + 1  # dropped: asked upstream again
    assert http.delete(swarm.url("gateway") + "/admin/cache").status_code == 400
    deadline = time.monotonic() + 5
    saved = Decimal(0)
    while time.monotonic() < deadline and saved == 0:
        totals = json.loads(http.get(swarm.url("ledger") + "/metrics?window=day").text, parse_float=Decimal)["totals"]
        saved = totals["saved_usd"]
        time.sleep(0.1)
    assert saved > 0 and totals["cache_hits"] >= 1  # the ledger reports the savings


def test_a_streamed_answer_is_cached_too(swarm, http, cached):
    body = {"model": "cache-model", "temperature": 0, "max_tokens": 8, "stream": True,
            "messages": [{"role": "user", "content": "List two prime numbers."}]}
    with http.stream("POST", swarm.url("gateway") + "/v1/chat/completions", json=body,
                     headers={"x-tollway-run": "cache-run"}) as resp:
        streamed = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content") or ""
                           for line in resp.iter_lines()
                           if line.startswith("data: {") and json.loads(line[6:])["choices"])
    calls = upstream_calls(swarm)
    again = ask(http, swarm, "List two prime numbers.")
    assert upstream_calls(swarm) == calls and again.json()["choices"][0]["message"]["content"] == streamed
    assert receipt_of(swarm, again.headers["x-request-id"])["cache"] == "hit"


def test_a_key_can_turn_its_cache_off_or_cache_sampled_answers(swarm, http, cached):
    off, sampled = (http.post(swarm.url("ledger") + "/keys", json={"org": org, "cache": policy}).json()
                    for org, policy in (("nocache", {"enabled": False}), ("sampler", {"cache_sampled": True})))
    assert off["cache"] == {"enabled": False}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and httpx.get(swarm.url("gateway") + "/health").json()["keys"]["keys"] < 4:
        time.sleep(0.05)
    calls = upstream_calls(swarm)
    for _ in range(2):
        ask(http, swarm, "Describe the sea.", headers={"authorization": f"Bearer {off['secret']}"})
    assert upstream_calls(swarm) == calls + 2  # this key never uses the cache
    answers = [ask(http, swarm, "Describe the sky.", temperature=0.8,
                   headers={"authorization": f"Bearer {sampled['secret']}"}) for _ in range(2)]
    assert upstream_calls(swarm) == calls + 3  # sampled, yet cached: the key opted in
    assert receipt_of(swarm, answers[1].headers["x-request-id"])["cache"] == "hit"
