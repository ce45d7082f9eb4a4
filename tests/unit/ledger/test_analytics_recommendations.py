"""Recommendations on seeded receipts with known savings, exact to the microdollar: repeated
prompts, a dearer provider of the same model, over-asked max_tokens, requests not smart-routed,
and a large system prompt sent again and again; errors, refusals and cache hits never count."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from services.ledger.analytics.provider_registry import Offer, Registry
from services.ledger.analytics.recommendations import micros_of, recommend

_ids = itertools.count(1)


def receipt(provider: str, model: str, prices: tuple[str, str], input_tokens: int, output_tokens: int, *,
            read: str | None = None, **extra: Any) -> str:
    i, o = Decimal(prices[0]), Decimal(prices[1])
    cost = micros_of(input_tokens, i) + micros_of(output_tokens, o)
    n = next(_ids)
    body = {"request_id": f"r{n:04d}", "timestamp": f"2026-11-20T10:{n // 60:02d}:{n % 60:02d}.000Z",
            "provider": provider, "model": model, "input_tokens": input_tokens, "output_tokens": output_tokens,
            "cost_micros": cost, "cost_usd": str(Decimal(cost) / 1_000_000),
            "prices": {"input_per_mtok": str(i), "output_per_mtok": str(o), **({"cache_read_per_mtok": read}
                                                                                if read else {})},
            "status": "success", "strategy": "smart", "run_id": "run-a", "agent": "t"}
    body.update(extra)
    return json.dumps(body)


def kinds(bodies: list[str], **filters: tuple[str, ...]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for r in recommend(bodies, filters):
        out.setdefault(r.kind, []).append(r)
    return out


def test_repeated_prompts_are_a_cache_opportunity() -> None:
    same = "a" * 32
    bodies = [receipt("pb", "m1", ("1", "5"), 1000, 200 + k, prompt_hash=same) for k in range(3)]
    bodies += [receipt("pb", "m1", ("1", "5"), 1000, 200, prompt_hash="b" * 32),
               receipt("pb", "m1", ("1", "5"), 1000, 200, prompt_hash=same, cache="hit"),  # already cached
               receipt("pb", "m1", ("1", "5"), 1000, 200, prompt_hash=same, status="error")]
    (rec,) = kinds(bodies)["cache_opportunity"]
    # the 2nd and 3rd: $0.001 input + 201 and 202 output tokens at $5/M ($0.001005, $0.00101)
    assert rec.saving_micros == 1000 + 1005 + 1000 + 1010
    assert rec.requests == 2 and rec.examples == ["r0002", "r0003"]
    assert rec.evidence["distinct_repeated_prompts"] == 1 and rec.evidence["requests_with_prompt_hash"] == 4


def test_a_dearer_provider_of_the_same_model() -> None:
    bodies = [receipt("pa", "m1", ("3", "15"), 1000, 200) for _ in range(4)]  # $0.006 each
    bodies += [receipt("pb", "m1", ("1", "5"), 1000, 200) for _ in range(2)]  # $0.002 each
    bodies += [receipt("pc", "m9", ("9", "9"), 1000, 200)]  # a model only one provider serves
    (rec,) = kinds(bodies)["cheaper_provider"]
    assert rec.saving_micros == 4 * (6000 - 2000) and rec.requests == 4
    assert rec.evidence["from_provider"] == "pa" and rec.evidence["to_provider"] == "pb"
    assert rec.evidence["cost_usd"] == "0.024000"
    assert rec.evidence["basis"] == "same_model" and "no router address" in rec.evidence["registry"]


def offer(name: str, model: str, prices: tuple[str, str], *, features: tuple[str, ...] = (),
          context: int = 128_000, max_out: int | None = None, tags: tuple[str, ...] = ()) -> Offer:
    return Offer(name, model, context, max_out, Decimal(prices[0]), Decimal(prices[1]), frozenset(features),
                 frozenset(tags))


def registry(*offers: Offer) -> Registry:
    return Registry({o.name: o for o in offers}, source="http://router.test")


def test_the_registry_finds_a_cheaper_provider_of_another_model_with_the_same_capabilities() -> None:
    bodies = [receipt("dear", "big", ("10", "30"), 4000, 1000) for _ in range(3)]  # $0.07 each
    bodies += [receipt("dear", "big", ("10", "30"), 3333, 7, stream=True)]  # $0.03354
    reg = registry(
        offer("dear", "big", ("10", "30"), features=("vision", "function_calling")),
        offer("able", "other", ("1", "3"), features=("vision", "function_calling", "json_mode"), context=5000),
        offer("blind", "small", ("0.1", "0.2"), features=("function_calling",)),  # no vision
        offer("short", "tiny", ("0.1", "0.2"), features=("vision", "function_calling"), context=4999),  # < 5,000
        offer("capped", "tiny", ("0.1", "0.2"), features=("vision", "function_calling"), max_out=999),  # < 1,000
        offer("nostream", "tiny", ("0.1", "0.2"), features=("vision", "function_calling"), tags=("no-streaming",)),
        offer("embed", "emb", ("0.01", "0"), features=("vision", "function_calling", "embeddings")),  # another kind
        replace(offer("gone", "tiny", ("0.1", "0.2"), features=("vision", "function_calling")), active=False))
    (rec,) = [r for r in recommend(bodies, {}, reg) if r.kind == "cheaper_provider"]
    # 3 x ($0.07 - $0.007) + ($0.03354 - $0.003354: 3,333 x $1/M rounds to $0.003333, 7 x $3/M to $0.000021)
    assert rec.saving_micros == 3 * (70_000 - 7_000) + (33_540 - 3_354) and rec.requests == 4
    ev = rec.evidence
    assert (ev["basis"], ev["registry"], ev["from_provider"], ev["to_provider"], ev["to_model"]) == (
        "router_registry", "http://router.test", "dear", "able", "other")
    assert ev["from_capabilities"]["features"] == ["function_calling", "vision"]
    assert ev["to_capabilities"] == {"model": "other", "features": ["function_calling", "json_mode", "vision"],
                                     "context_window": 5000, "max_output_tokens": None, "tags": []}
    assert ev["requests_needed"] == {"features": ["function_calling", "vision"], "context_tokens": 5000,
                                     "output_tokens": 1000, "stream": True}
    assert ev["to_prices_per_mtok"] == ["1", "3"] and ev["cost_at_to_prices_usd"] == "0.024354"
    assert ev["alternatives_with_capabilities"] == 1


def test_with_a_registry_a_provider_it_does_not_list_is_compared_by_model_name() -> None:
    bodies = [receipt("gone", "m1", ("3", "15"), 1000, 200), receipt("gone-b", "m1", ("1", "5"), 1000, 200)]
    bodies += [receipt("cheapest", "m7", ("0.1", "0.1"), 1000, 200)]
    (rec,) = [r for r in recommend(bodies, {}, registry(offer("cheapest", "m7", ("0.1", "0.1"))))
              if r.kind == "cheaper_provider"]
    assert (rec.evidence["basis"], rec.evidence["from_provider"], rec.evidence["to_provider"]) == (
        "same_model", "gone", "gone-b")
    assert rec.evidence["registry"] == "the router's registry does not list these providers"


def test_no_cheaper_provider_when_none_has_the_capabilities() -> None:
    bodies = [receipt("dear", "big", ("10", "30"), 4000, 1000)]
    reg = registry(offer("dear", "big", ("10", "30"), features=("vision",)), offer("blind", "s", ("1", "1")))
    assert [r for r in recommend(bodies, {}, reg) if r.kind == "cheaper_provider"] == []


def test_max_tokens_right_sizing() -> None:
    outputs = [100 + 10 * k for k in range(19)] + [2000]  # P95 (nearest rank, 19th of 20) = 280
    bodies = [receipt("pc", "m2", ("2", "10"), 500, out, max_tokens=4096) for out in outputs]
    bodies += [receipt("pc", "m3", ("2", "10"), 500, 900, max_tokens=1024) for _ in range(6)]  # well sized
    (rec,) = kinds(bodies)["max_tokens"]
    assert rec.evidence["suggested_max_tokens"] == 320 and rec.evidence["used_p95"] == 280
    assert rec.saving_micros == (2000 - 320) * 10  # the one answer past the cap, at $10/M
    assert rec.evidence["held_usd_freed"] == "0.755200"  # 20 x (4096 - 320) x $10/M
    assert rec.examples[0] == json.loads(bodies[0])["request_id"]  # the most over-asked: 100 of 4,096


def test_requests_not_smart_routed_priced_at_the_cheapest() -> None:
    bodies = [receipt("pz", "mz", ("0.5", "1"), 1000, 200) for _ in range(2)]  # smart: $0.0007 each
    bodies += [receipt("pa", "m1", ("3", "15"), 1000, 200, strategy="cost") for _ in range(2)]  # $0.006 each
    (rec,) = kinds(bodies)["smart_routing"]
    assert rec.saving_micros == 2 * (6000 - 700) and rec.requests == 2
    assert rec.evidence["bound"] == "upper" and rec.evidence["cheapest_targets"] == {"pz/mz": 2}


def test_a_large_system_prompt_sent_on_every_call() -> None:
    big, small = "s" * 32, "t" * 32
    bodies = [receipt("pd", "m1", ("3", "15"), 2500, 100, read="0.3", system_prompt_hash=big,
                      system_prompt_tokens=2000) for _ in range(4)]
    bodies += [receipt("pe", "m1", ("2", "8"), 2500, 100, system_prompt_hash=big, system_prompt_tokens=2000)
               for _ in range(3)]  # no read price: half the input price assumed
    bodies += [receipt("pd", "m1", ("3", "15"), 900, 100, system_prompt_hash=small, system_prompt_tokens=500)
               for _ in range(5)]  # below 1,024 tokens
    bodies += [receipt("pf", "m1", ("3", "15"), 2500, 100, system_prompt_hash=big, system_prompt_tokens=2000,
                       cache_read_input_tokens=2000) for _ in range(3)]  # already read from the cache
    recs = {r.evidence["provider"]: r for r in kinds(bodies)["system_prompt_cache"]}
    assert set(recs) == {"pd", "pe"}
    assert recs["pd"].saving_micros == 3 * (6000 - 600) and recs["pd"].requests == 3
    assert recs["pe"].saving_micros == 2 * (4000 - 2000) and recs["pe"].evidence["read_price_assumed"] is True


def test_filters_and_a_clean_book() -> None:
    bodies = [receipt("pa", "m1", ("3", "15"), 1000, 200, team="ml", prompt_hash="c" * 32) for _ in range(2)]
    bodies += [receipt("pa", "m1", ("3", "15"), 1000, 200, team="web", prompt_hash="d" * 32) for _ in range(3)]
    ml = kinds(bodies, team=("ml",))["cache_opportunity"][0]
    assert ml.saving_micros == 6000 and ml.requests == 1
    assert recommend([receipt("pz", "mz", ("1", "1"), 10, 10, prompt_hash="e" * 32)], {}) == []
