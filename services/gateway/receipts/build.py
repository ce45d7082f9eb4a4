"""Building a receipt: who served the request, the tokens, the exact cost and the prices charged.

cost_usd is input_cost_usd + output_cost_usd, each rounded to the microdollar
(contracts/routing_receipt.schema.json); each also as an exact integer of microdollars
(`input_cost_micros`, `output_cost_micros`, `cost_micros`), so that tools without exact decimals
(jq) add them up exactly. Input tokens read from or written to the provider's prompt cache are
charged at its cache prices (Provider.input_cost), writes kept for an hour at its 1-hour write
price, the rest at the input price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Required, TypedDict

from services.common.clock import utc_iso
from services.common.money import ZERO, cache_parts, token_cost, usd, written_1h_part
from services.common.registry.provider import Provider
from services.common.tracing.traceparent import TraceParent
from services.gateway.adapters.base import Usage


@dataclass(slots=True)
class Attempt:
    provider: str
    status: str  # success | error
    latency_ms: float
    http_status: int | None = None
    error: str | None = None
    started_ms: float | None = None  # when it was sent, after the request's first attempt
    resent: bool = False  # sent again on a fresh connection: the first never took it whole

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"provider": self.provider, "status": self.status,
                               "http_status": self.http_status, "latency_ms": round(self.latency_ms, 3)}
        if self.error:
            out["error"] = self.error
        if self.started_ms is not None:
            out["started_ms"] = round(self.started_ms, 3)
        if self.resent:
            out["resent"] = True
        return out


@dataclass(slots=True)
class RequestFacts:
    """What the gateway knows about a request by the time it writes its receipt."""

    request_id: str
    run_id: str
    agent: str
    strategy: str
    reason: str
    stream: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    hold_usd: Decimal | None = None  # the worst case reserved for a budgeted run
    lease_ids: list[str] = field(default_factory=list)  # the budget leases it was reserved from
    identity: dict[str, str] = field(default_factory=dict)  # key_id, user, team, org of the caller
    cache: dict[str, Any] = field(default_factory=dict)  # cache, cache_kind, cache_similarity, saved_usd...
    experiment: dict[str, str] | None = None  # the A/B experiment and arm that routed it
    ttft_ms: float | None = None  # a stream's time to its first token, from the request's arrival
    client_request_id: str | None = None  # the caller's id for the request, when it gave one
    trace: TraceParent | None = None  # its W3C trace context (services/common/tracing/)
    prompt: dict[str, Any] = field(default_factory=dict)  # prompt_hash, max_tokens...: prompt_facts.py


ZERO_USD = usd(ZERO)


def costs(provider: Provider, input_tokens: int, output_tokens: int, cache_read_input_tokens: int = 0,
          cache_creation_input_tokens: int = 0, cache_creation_1h_input_tokens: int = 0,
          ) -> tuple[Decimal, Decimal, Decimal]:
    i = provider.input_cost(input_tokens, cache_read_input_tokens, cache_creation_input_tokens,
                            cache_creation_1h_input_tokens)
    o = token_cost(output_tokens, provider.output_per_token)
    return i, o, i + o


def prices(provider: Provider) -> dict[str, Decimal]:
    """The prices charged, per million tokens; the cache prices when the provider has its own."""
    out = {"input_per_mtok": provider.input_per_mtok, "output_per_mtok": provider.output_per_mtok}
    if provider.cache_read_per_mtok is not None:
        out["cache_read_per_mtok"] = provider.cache_read_per_mtok
    if provider.cache_write_per_mtok is not None:
        out["cache_write_per_mtok"] = provider.cache_write_per_mtok
    if provider.cache_write_1h_per_mtok is not None:
        out["cache_write_1h_per_mtok"] = provider.cache_write_1h_per_mtok
    return out


class Receipt(TypedDict, total=False):
    """One line of `artifacts/costs/<run_id>.jsonl` (contracts/routing_receipt.schema.json): what
    `build_receipt` makes, and all the gateway reads back from it."""

    request_id: Required[str]
    run_id: Required[str]
    agent: Required[str]
    timestamp: Required[str]
    provider: Required[str]
    model: Required[str]
    input_tokens: Required[int]
    output_tokens: Required[int]
    input_cost_usd: Required[Decimal]
    output_cost_usd: Required[Decimal]
    cost_usd: Required[Decimal]
    input_cost_micros: Required[int]
    output_cost_micros: Required[int]
    cost_micros: Required[int]
    prices: Required[dict[str, Decimal]]
    latency_ms: Required[float]
    status: Required[str]  # success | error | budget_exceeded
    http_status: Required[int]
    fallback: Required[bool]
    attempts: Required[list[dict[str, Any]]]
    strategy: Required[str]
    reason: Required[str]
    stream: Required[bool]
    usage_estimated: Required[bool]
    hold_usd: Required[Decimal | None]
    client_request_id: str
    trace_id: str
    span_id: str
    key_id: str
    user: str
    team: str
    org: str
    cache: str
    cache_kind: str
    cache_similarity: float
    saved_usd: Decimal
    experiment: dict[str, str]
    ttft_ms: float
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    cache_creation_1h_input_tokens: int
    lease_ids: list[str]
    error: dict[str, str]
    prompt_hash: str
    system_prompt_hash: str
    system_prompt_tokens: int
    max_tokens: int


def build_receipt(facts: RequestFacts, provider: Provider, *, status: str, http_status: int, usage: Usage,
                  latency_ms: float, timestamp: Any, usage_estimated: bool = False,
                  error: dict[str, str] | None = None, charged: bool | None = None) -> Receipt:
    """The one place a receipt is made, from the request's facts and the `usage` it is charged
    for (the provider's, or the gateway's estimate). `charged` defaults to status == "success";
    a truncated stream is an error that still cost. The cache token counts (a part of
    input_tokens, capped at it; the 1-hour writes a part of the writes, capped at them) appear
    when the provider reported some, and are charged at the provider's cache prices."""
    input_tokens, output_tokens = usage.input_tokens, usage.output_tokens
    if usage.cache_read_input_tokens or usage.cache_creation_input_tokens:
        _, cache_read_input_tokens, cache_creation_input_tokens = cache_parts(
            input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens)
        cache_creation_1h_input_tokens = written_1h_part(cache_creation_input_tokens,
                                                         usage.cache_creation_1h_input_tokens)
    else:  # most calls: no prompt-cache tokens to split out (the same figures, fewer steps)
        cache_read_input_tokens = cache_creation_input_tokens = cache_creation_1h_input_tokens = 0
    if status == "success" if charged is None else charged:
        in_cost, out_cost, total = costs(provider, input_tokens, output_tokens, cache_read_input_tokens,
                                         cache_creation_input_tokens, cache_creation_1h_input_tokens)
    else:
        in_cost = out_cost = total = ZERO_USD
    first = facts.attempts[0].provider if facts.attempts else provider.name
    receipt: Receipt = {
        "request_id": facts.request_id,
        "run_id": facts.run_id,
        "agent": facts.agent,
        "timestamp": utc_iso(timestamp),
        "provider": provider.name,
        "model": provider.model,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_cost_usd": in_cost,
        "output_cost_usd": out_cost,
        "cost_usd": total,
        # both are usd()-rounded to the microdollar, so shifting six places is an exact integer
        "input_cost_micros": (in_micros := int(in_cost.scaleb(6))),
        "output_cost_micros": (out_micros := int(out_cost.scaleb(6))),
        "cost_micros": in_micros + out_micros,  # total is in_cost + out_cost: no third conversion
        "prices": prices(provider),
        "latency_ms": round(latency_ms, 3),
        "status": status,
        "http_status": http_status,
        "fallback": provider.name != first,
        "attempts": [a.to_json() for a in facts.attempts],
        "strategy": facts.strategy,
        "reason": facts.reason,
        "stream": facts.stream,
        "usage_estimated": usage_estimated,
        "hold_usd": facts.hold_usd,
    }
    if facts.client_request_id is not None:
        receipt["client_request_id"] = facts.client_request_id
    if facts.trace is not None:
        receipt["trace_id"], receipt["span_id"] = facts.trace.trace_id, facts.trace.span_id
    # (no typing.cast here: it is a call on every receipt)
    receipt.update(facts.identity)  # type: ignore[typeddict-item]  # key_id, user, team, org
    receipt.update(facts.cache)  # type: ignore[typeddict-item]  # cache, cache_kind, cache_similarity, saved_usd
    receipt.update(facts.prompt)  # type: ignore[typeddict-item]  # prompt_hash, system_prompt_hash/_tokens, max_tokens
    if facts.experiment:
        receipt["experiment"] = facts.experiment
    if facts.ttft_ms is not None:
        receipt["ttft_ms"] = round(facts.ttft_ms, 3)
    if cache_read_input_tokens:
        receipt["cache_read_input_tokens"] = cache_read_input_tokens
    if cache_creation_input_tokens:
        receipt["cache_creation_input_tokens"] = cache_creation_input_tokens
    if cache_creation_1h_input_tokens:
        receipt["cache_creation_1h_input_tokens"] = cache_creation_1h_input_tokens
    if facts.lease_ids:
        receipt["lease_ids"] = facts.lease_ids
    if error:
        receipt["error"] = error
    return receipt
