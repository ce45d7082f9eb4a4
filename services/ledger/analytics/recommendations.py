"""Recommendations computed from the receipts, each with its estimated saving in exact microdollars
and its evidence (counts, example request ids). docs/analytics.md states each estimate:

- cache_opportunity: repeated identical requests (equal `prompt_hash`, answered upstream): every
  repeat after the first would have been a cache hit; saving = their cost.
- cheaper_provider: with the router's registry (provider_registry.py), per provider that served
  requests, the registered provider with the same capabilities (every feature it declares, the
  same kind — embeddings or not —, a context window holding the largest request's input and output,
  an output cap holding the largest output, streaming when any request streamed) whose prices make
  those requests cheapest (input and output tokens at its per-token prices, each part rounded to
  the microdollar as a receipt is); saving = the difference. Without a registry (no router address,
  no router answering), or for a provider the registry does not know: a model served by several
  providers, each request at a dearer one priced at the provider whose prices make the model's
  requests cheapest (one model name taken as one set of capabilities).
- max_tokens: per model, the output cap asked (`max_tokens` on the receipt) against the output
  used; suggested cap = the used P95 rounded up to a multiple of 64; recommended when the median
  cap asked is at least twice that. Saving = output beyond the suggested cap, at the receipt's
  output price (what the cap would have cut); `held_usd_freed`: the worst case it stops reserving.
- smart_routing: requests not routed by smart routing (`strategy` other than `smart`), priced at
  the cheapest prices seen on any successful request: an upper bound (smart routing sends only the
  requests it classes simple to the cheap tier).
- system_prompt_cache: one system prompt of at least 1,024 tokens (`system_prompt_hash`,
  `system_prompt_tokens`) sent again and again to one provider without prompt-cache reads; every
  repeat's system prompt priced at the cache read price instead of the input price (the provider's
  `cache_read_per_mtok`, else half the input price, OpenAI's automatic-caching discount).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import median
from typing import Any

from services.common.money import MTOK, to_micros, usd
from services.ledger.analytics.provider_registry import NO_ROUTER, Offer, Registry
from services.ledger.analytics.render import usd_text

EXAMPLES = 5  # request ids of evidence per recommendation
MIN_PROMPT_CACHE_TOKENS = 1024  # the shortest prefix providers cache
MIN_MAX_TOKENS_SAMPLE = 5
CAP_STEP = 64
DEFAULT_READ_DISCOUNT = Decimal("0.5")
FIELD_OF = {"provider": "provider", "model": "model", "key": "key_id", "user": "user", "team": "team",
            "org": "org", "run": "run_id", "agent": "agent"}


@dataclass(frozen=True)
class Recommendation:
    kind: str
    title: str
    saving_micros: int
    requests: int  # the requests the saving is counted over
    examples: list[str]  # request ids
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    """One receipt, the fields the recommendations read."""

    request_id: str
    timestamp: str
    provider: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_micros: int
    input_price: Decimal  # per million tokens
    output_price: Decimal
    read_price: Decimal | None
    strategy: str
    cache_reads: int
    prompt_hash: str | None
    system_hash: str | None
    system_tokens: int
    max_tokens: int | None
    stream: bool = False

    @staticmethod
    def of(body: Mapping[str, Any]) -> Seen:
        prices = body.get("prices") or {}
        read = prices.get("cache_read_per_mtok")
        return Seen(str(body["request_id"]), str(body["timestamp"]), str(body["provider"]), str(body["model"]),
                    int(body["input_tokens"]), int(body["output_tokens"]),
                    int(body.get("cost_micros", to_micros(Decimal(str(body["cost_usd"]))))),
                    Decimal(str(prices.get("input_per_mtok", 0))), Decimal(str(prices.get("output_per_mtok", 0))),
                    None if read is None else Decimal(str(read)), str(body.get("strategy", "")),
                    int(body.get("cache_read_input_tokens") or 0), body.get("prompt_hash"),
                    body.get("system_prompt_hash"), int(body.get("system_prompt_tokens") or 0),
                    body.get("max_tokens"), bool(body.get("stream")))


def micros_of(tokens: int, price_per_mtok: Decimal) -> int:
    """`tokens` at a per-million price, rounded half-even to the microdollar (as on a receipt)."""
    return to_micros(usd(Decimal(tokens) * price_per_mtok / MTOK))


def priced_at(r: Seen, input_price: Decimal, output_price: Decimal) -> int:
    return micros_of(r.input_tokens, input_price) + micros_of(r.output_tokens, output_price)


def served(bodies: Iterable[str], filters: Mapping[str, tuple[str, ...]]) -> list[Seen]:
    """The receipts answered upstream with success (not cache hits, not refusals), filtered,
    oldest first."""
    out = []
    for text in bodies:
        body = json.loads(text, parse_float=Decimal)
        if body.get("status") != "success" or body.get("cache") == "hit":
            continue
        if any(str(body.get(FIELD_OF[name], "")) not in values for name, values in filters.items()):
            continue
        out.append(Seen.of(body))
    return sorted(out, key=lambda r: (r.timestamp, r.request_id))


def cache_opportunity(receipts: list[Seen]) -> list[Recommendation]:
    groups: dict[str, list[Seen]] = defaultdict(list)
    for r in receipts:
        if r.prompt_hash:
            groups[r.prompt_hash].append(r)
    repeats = [r for g in groups.values() for r in g[1:]]
    if not repeats:
        return []
    largest = max(groups.values(), key=len)
    return [Recommendation(
        "cache_opportunity", "Turn on the response cache: identical requests were answered upstream again",
        sum(r.cost_micros for r in repeats), len(repeats), [r.request_id for r in largest[1:EXAMPLES + 1]],
        {"repeated_requests": len(repeats), "distinct_repeated_prompts": sum(len(g) > 1 for g in groups.values()),
         "requests_with_prompt_hash": sum(len(g) for g in groups.values()), "largest_group": len(largest)})]


def cheaper_provider(receipts: list[Seen], registry: Registry = NO_ROUTER) -> list[Recommendation]:
    if registry.offers is None:
        return same_model_provider(receipts, registry.reason or "")
    known = [r for r in receipts if r.provider in registry.offers]
    unknown = [r for r in receipts if r.provider not in registry.offers]
    return [*registered_provider(known, registry.offers, registry.source or ""),
            *same_model_provider(unknown, "the router's registry does not list these providers")]


def same_model_provider(receipts: list[Seen], why: str) -> list[Recommendation]:
    """One model name served by several providers, taken as one set of capabilities."""
    by_model: dict[str, list[Seen]] = defaultdict(list)
    for r in receipts:
        by_model[r.model].append(r)
    found = []
    for model, rs in sorted(by_model.items()):
        prices = {r.provider: (r.input_price, r.output_price) for r in rs}  # the latest prices of each
        if len(prices) < 2:
            continue
        best = min(sorted(prices), key=lambda p: sum(priced_at(r, *prices[p]) for r in rs))
        for provider in sorted(set(prices) - {best}):
            mine = [r for r in rs if r.provider == provider]
            saving = sum(max(0, r.cost_micros - priced_at(r, *prices[best])) for r in mine)
            if saving > 0:
                found.append(Recommendation(
                    "cheaper_provider", f"Send {model} to {best} instead of {provider}", saving, len(mine),
                    [r.request_id for r in mine[:EXAMPLES]],
                    {"basis": "same_model", "registry": why, "model": model, "from_provider": provider,
                     "to_provider": best, "from_prices_per_mtok": [f"{x:f}" for x in prices[provider]],
                     "to_prices_per_mtok": [f"{x:f}" for x in prices[best]],
                     "cost_usd": usd_text(sum(r.cost_micros for r in mine))}))
    return found


@dataclass(frozen=True)
class Needs:
    """What a provider's requests needed of whoever serves them instead."""

    features: frozenset[str]
    context_tokens: int  # the largest input + output of one request
    output_tokens: int
    stream: bool

    def met_by(self, offer: Offer) -> bool:
        return (self.features <= offer.features
                and ("embeddings" in self.features) == ("embeddings" in offer.features)
                and offer.context_window >= self.context_tokens
                and (offer.max_output_tokens is None or offer.max_output_tokens >= self.output_tokens)
                and not (self.stream and "no-streaming" in offer.tags))

    def public(self) -> dict[str, Any]:
        return {"features": sorted(self.features), "context_tokens": self.context_tokens,
                "output_tokens": self.output_tokens, "stream": self.stream}


def registered_provider(receipts: list[Seen], offers: Mapping[str, Offer], source: str) -> list[Recommendation]:
    """Per provider that served requests, the registered provider of the same capabilities whose
    prices make those requests cheapest."""
    by_provider: dict[str, list[Seen]] = defaultdict(list)
    for r in receipts:
        by_provider[r.provider].append(r)
    found = []
    for provider, rs in sorted(by_provider.items()):
        mine = offers[provider]
        needs = Needs(mine.features, max(r.input_tokens + r.output_tokens for r in rs),
                      max(r.output_tokens for r in rs), any(r.stream for r in rs))
        able = [o for o in offers.values() if o.active and o.name != provider and needs.met_by(o)]
        if not able:
            continue
        best = min(able, key=lambda o: (sum(priced_at(r, o.input_per_mtok, o.output_per_mtok) for r in rs), o.name))
        saving = sum(max(0, r.cost_micros - priced_at(r, best.input_per_mtok, best.output_per_mtok)) for r in rs)
        if saving <= 0:
            continue
        found.append(Recommendation(
            "cheaper_provider", f"Send {provider}'s requests ({mine.model}) to {best.name} ({best.model})", saving,
            len(rs), [r.request_id for r in rs[:EXAMPLES]],
            {"basis": "router_registry", "registry": source, "model": mine.model, "from_provider": provider,
             "to_provider": best.name, "to_model": best.model, "from_capabilities": mine.capabilities(),
             "to_capabilities": best.capabilities(), "requests_needed": needs.public(),
             "from_prices_per_mtok": [f"{mine.input_per_mtok:f}", f"{mine.output_per_mtok:f}"],
             "to_prices_per_mtok": [f"{best.input_per_mtok:f}", f"{best.output_per_mtok:f}"],
             "cost_usd": usd_text(sum(r.cost_micros for r in rs)),
             "cost_at_to_prices_usd": usd_text(sum(priced_at(r, best.input_per_mtok, best.output_per_mtok)
                                                   for r in rs)),
             "alternatives_with_capabilities": len(able)}))
    return found


def _p95(used: list[int]) -> int:
    """The nearest-rank 95th percentile."""
    ordered = sorted(used)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _suggested_cap(used: list[int]) -> int:
    return max(CAP_STEP, -(-_p95(used) // CAP_STEP) * CAP_STEP)


def max_tokens(receipts: list[Seen]) -> list[Recommendation]:
    by_model: dict[str, list[Seen]] = defaultdict(list)
    for r in receipts:
        if isinstance(r.max_tokens, int) and r.max_tokens > 0:
            by_model[r.model].append(r)
    found = []
    for model, rs in sorted(by_model.items()):
        if len(rs) < MIN_MAX_TOKENS_SAMPLE:
            continue
        cap = _suggested_cap([r.output_tokens for r in rs])
        asked = median(r.max_tokens or 0 for r in rs)
        if asked < 2 * cap:
            continue
        cut = sum(micros_of(max(0, r.output_tokens - cap), r.output_price) for r in rs)
        freed = sum(micros_of(max(0, (r.max_tokens or 0) - cap), r.output_price) for r in rs)
        widest = sorted(rs, key=lambda r: (r.output_tokens - (r.max_tokens or 0), r.request_id))
        found.append(Recommendation(
            "max_tokens", f"Lower max_tokens for {model} to {cap}", cut, len(rs),
            [r.request_id for r in widest[:EXAMPLES]],
            {"model": model, "asked_median": asked, "used_p95": _p95([r.output_tokens for r in rs]),
             "used_max": max(r.output_tokens for r in rs),
             "suggested_max_tokens": cap, "held_usd_freed": usd_text(freed),
             "over_cap_requests": sum(r.output_tokens > cap for r in rs)}))
    return found


def smart_routing(receipts: list[Seen]) -> list[Recommendation]:
    pinned = [r for r in receipts if r.strategy != "smart"]
    if not pinned:
        return []
    options = sorted({(r.input_price, r.output_price, r.provider, r.model) for r in receipts})
    saving, cheapest_used = 0, defaultdict(int)
    for r in pinned:
        alt = min(options, key=lambda o: (priced_at(r, o[0], o[1]), o[2], o[3]))
        gap = r.cost_micros - priced_at(r, alt[0], alt[1])
        if gap > 0:
            saving += gap
            cheapest_used[f"{alt[2]}/{alt[3]}"] += 1
    if saving <= 0:
        return []
    dearest = sorted(pinned, key=lambda r: (-r.cost_micros, r.request_id))
    return [Recommendation(
        "smart_routing", "Route with smart routing (model tollway/auto or strategy smart)", saving, len(pinned),
        [r.request_id for r in dearest[:EXAMPLES]],
        {"bound": "upper", "requests_not_smart": len(pinned), "requests_smart": len(receipts) - len(pinned),
         "cost_usd": usd_text(sum(r.cost_micros for r in pinned)),
         "cheapest_targets": dict(sorted(cheapest_used.items()))})]


def system_prompt_cache(receipts: list[Seen]) -> list[Recommendation]:
    groups: dict[tuple[str, str], list[Seen]] = defaultdict(list)
    for r in receipts:
        if r.system_hash and r.system_tokens >= MIN_PROMPT_CACHE_TOKENS and r.cache_reads == 0:
            groups[(r.system_hash, r.provider)].append(r)
    found = []
    for (digest, provider), rs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(rs) < 2:
            continue
        saving = 0
        for r in rs[1:]:
            read = r.read_price if r.read_price is not None else r.input_price * DEFAULT_READ_DISCOUNT
            saving += micros_of(r.system_tokens, r.input_price) - micros_of(r.system_tokens, read)
        if saving > 0:
            found.append(Recommendation(
                "system_prompt_cache", f"Mark the repeated system prompt cacheable at {provider}", saving,
                len(rs) - 1, [r.request_id for r in rs[1:EXAMPLES + 1]],
                {"provider": provider, "system_prompt_hash": digest, "system_prompt_tokens": rs[-1].system_tokens,
                 "calls": len(rs), "read_price_assumed": rs[-1].read_price is None}))
    return found


def recommend(bodies: Iterable[str], filters: Mapping[str, tuple[str, ...]],
              registry: Registry = NO_ROUTER) -> list[Recommendation]:
    """Every recommendation the receipts support, the largest saving first (cheaper providers from
    the router's registry when there is one)."""
    receipts = served(bodies, filters)
    found = [*cache_opportunity(receipts), *cheaper_provider(receipts, registry), *max_tokens(receipts),
             *smart_routing(receipts), *system_prompt_cache(receipts)]
    return sorted(found, key=lambda r: (-r.saving_micros, r.kind, r.title))
