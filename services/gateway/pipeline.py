"""The life of one request: the door (key, rate limits), select, reserve from the budget
leases, forward with fallback, settle (one receipt, every reservation released: `settlement.py`).

Every client API (`POST /route`, `/v1/chat/completions`, `/v1/messages`, `/v1/embeddings`) goes
through here; streaming answers continue in `streaming.py`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from services.common.clock import Clock, to_us
from services.common.errors import BudgetExceeded, UpstreamRejected
from services.common.money import to_micros
from services.common.registry.provider import Provider
from services.common.selection.decide import Decision
from services.common.selection.estimate import expected_tokens
from services.common.settings import Settings
from services.gateway.adapters.base import ParsedResponse, Usage
from services.gateway.api.headers import answer_headers
from services.gateway.auth.directory import KeyDirectory
from services.gateway.auth.identify import Identity, authorize_model, identify
from services.gateway.budgets.leases import LeaseBook, Reservation
from services.gateway.budgets.worst_case import worst_case
from services.gateway.cache import CacheRequest, Hit, ResponseCache
from services.gateway.caching import hit_provider, hit_reason, hit_usage, tenant_of
from services.gateway.call import Call, RecentRequestIds
from services.gateway.forwarding.breaker import BreakerConfig, Breakers
from services.gateway.forwarding.candidates import skip_unavailable
from services.gateway.forwarding.fallback import Answer, Forwarder
from services.gateway.forwarding.requests import parse_answer, request_builder
from services.gateway.forwarding.upstream import UpstreamClient
from services.gateway.limits.decision import Verdict
from services.gateway.limits.gate import RateGate
from services.gateway.limits.resolve import Subject
from services.gateway.receipts.build import Receipt, RequestFacts
from services.gateway.receipts.prompt_facts import prompt_fields
from services.gateway.receipts.shipper import ReceiptShipper
from services.gateway.receipts.writer import ReceiptWriter
from services.gateway.registry_view import Budgets, RegistryView
from services.gateway.routing import GatewayRouting
from services.gateway.settlement import Outcome, Settlement, zero_cost
from services.gateway.snapshots.follower import SnapshotFollower

log = structlog.get_logger("tollway.gateway")


def budgets_of(run_id: str, identity: Identity | None) -> list[str]:
    """Every budget a request falls under whichever provider serves it: its run's, its key's,
    user's, team's and org's, and the global one (all spend)."""
    out = [f"run:{run_id}"]
    key = identity.key if identity else None
    if key is not None:
        out += [f"{scope}:{value}" for scope, value in (("key", key.key_id), ("user", key.user), ("team", key.team),
                                                        ("org", key.org)) if value]
    out.append("global:all")
    return out


def served_budgets(provider: Provider) -> tuple[str, str]:
    """The budgets a request falls under when `provider` serves it: the provider's and its model's."""
    return f"provider:{provider.name}", f"model:{provider.model}"


@dataclass(slots=True)
class Admitted:
    call: Call
    decision: Decision | None  # None: answered from the cache, nothing was selected
    candidates: list[Provider]
    facts: RequestFacts
    reservations: list[Reservation]
    started: float
    verdict: Verdict | None = None  # the rate limits it passed (for headers and token correction)
    cache: CacheRequest | None = None  # its cache key and what the cache may do with it
    hit: Hit | None = None  # the cached answer it gets instead of forwarding
    settlement: Settlement = None  # type: ignore[assignment]  # set by Pipeline.admit, always

    @property
    def receipt(self) -> Receipt:
        receipt = self.settlement.receipt
        assert receipt is not None, "settled before it is answered"
        return receipt


@dataclass(slots=True)
class Completed:
    admitted: Admitted
    answer: Answer | None  # None for a cache hit
    parsed: ParsedResponse | None
    receipt: Receipt

    @property
    def status(self) -> int:
        return self.answer.status if self.answer is not None else 200

    @property
    def body(self) -> bytes:
        """What the client gets: the adapter's OpenAI translation (or the cached answer)."""
        if self.parsed is not None:
            return self.parsed.body
        return (self.answer.body if self.answer is not None else None) or b""


class Pipeline:
    def __init__(self, settings: Settings, clock: Clock, registry: SnapshotFollower[RegistryView],
                 budgets: SnapshotFollower[Budgets], keys: SnapshotFollower[KeyDirectory],
                 leases: LeaseBook, gate: RateGate, cache: ResponseCache | None,
                 upstream: UpstreamClient, writer: ReceiptWriter, shipper: ReceiptShipper) -> None:
        self.settings = settings
        self.clock = clock
        self.registry = registry
        self.budgets = budgets
        self.keys = keys
        self.admin_key = settings.admin_key.get_secret_value()
        self.leases = leases
        self.gate = gate
        self.cache = cache
        self._tasks: set[asyncio.Task[None]] = set()
        self.upstream = upstream
        self.writer = writer
        self.shipper = shipper
        self.recent_ids = RecentRequestIds()
        # retries, timeouts, fallback and the circuit breakers every request of this process shares
        self.forwarder = Forwarder(upstream, settings, Breakers(BreakerConfig.from_settings(settings)))
        self.zero_cost_successes = 0  # successful answers at a priced provider whose receipt cost $0
        self.open_settlements = 0  # admitted requests without their receipt yet (/health: back to 0 when idle)
        self.observe_receipt: Callable[[Receipt], None] | None = None  # services/gateway/metrics.py
        # selection context, in-flight counts, outcome reports (to the router the registry follows)
        self.routing = GatewayRouting(settings, registry.addresses)

    # -- admission: decide and reserve ---------------------------------------------------------
    def decide(self, call: Call, identity: Identity | None = None) -> Decision:
        return self.routing.decide(self.registry.value, call, identity)

    def authenticate(self, call: Call) -> Identity | None:
        identity = identify(call.credential, self.keys.value, admin_key=self.admin_key,
                            require_keys=self.settings.require_keys, now_us=to_us(self.clock.now()))
        authorize_model(identity, call.requirements.model)
        return identity

    async def rate_limit(self, call: Call, identity: Identity | None) -> Verdict | None:
        key = identity.key if identity else None
        if not self.gate.may_limit(self.keys.value.limits, key.specs if key else ()):
            return None
        subject = Subject(key=key.key_id if key else None, user=key.user if key else None,
                          team=key.team if key else None, org=key.org if key else None, ip=call.client_ip)
        return await self.gate.admit(subject, key.specs if key else (), expected_tokens(call.payload),
                                     self.keys.value.limits)

    async def admit(self, call: Call) -> Admitted:
        """Through the door (key, rate limits, a new request id), then either the cached answer or
        a decision with the worst case reserved on every budget. From the decision on the request
        has its `Settlement`: whatever fails later (a reservation too) settles it."""
        started = time.perf_counter()
        identity = self.authenticate(call)
        verdict = await self.rate_limit(call, identity)
        cache = self._cache_request(call, identity)
        if call.client_request_id is not None:  # the gateway's own ids are new by construction
            self.recent_ids.claim(call.client_request_id)
        if cache is not None and self.cache is not None and (hit := await self.cache.lookup(cache)) is not None:
            facts = RequestFacts(call.request_id, call.run_id, call.agent, "cache", hit_reason(hit),
                                 stream=call.stream, identity=identity.receipt_fields() if identity else {},
                                 cache=hit.receipt_fields(), client_request_id=call.client_request_id,
                                 trace=call.trace, prompt=self._prompt_fields(call, identity))
            admitted = Admitted(call, None, [], facts, [], started, verdict, cache, hit)
            admitted.settlement = Settlement(self, admitted)
            return admitted
        decision = self.decide(call, identity)
        # circuit open or unhealthy: not tried
        decision = skip_unavailable(decision, self.forwarder.breakers, self.settings.max_attempts)
        facts = RequestFacts(call.request_id, call.run_id, call.agent, decision.strategy,
                             decision.reason, stream=call.stream,
                             identity=identity.receipt_fields() if identity else {},
                             experiment=decision.experiment_json(), client_request_id=call.client_request_id,
                             trace=call.trace, prompt=self._prompt_fields(call, identity))
        admitted = Admitted(call, decision, [], facts, [], started, verdict, cache)
        admitted.settlement = settlement = Settlement(self, admitted)
        try:
            admitted.candidates = await self._within_quotas(decision, call)
            await self._reserve(admitted, identity)
        except BaseException as exc:
            settlement.close(exc)  # its refusal receipt, and what was reserved already released
            raise
        return admitted

    @staticmethod
    def _prompt_fields(call: Call, identity: Identity | None) -> dict[str, Any]:
        """Hashes and sizes of the prompt for the receipt (never its text): prompt_facts.py."""
        return prompt_fields(tenant_of(identity), call.payload) if call.kind == "chat" else {}

    def _cache_request(self, call: Call, identity: Identity | None) -> CacheRequest | None:
        """Read the request's cache controls (a 400 for bad ones) and take them out of what is
        forwarded; None when the cache has no part in this request."""
        if self.cache is None or call.kind != "chat":
            return None
        policy = identity.key.cache if identity is not None and identity.key is not None else None
        request = self.cache.prepare(tenant_of(identity), call.payload, call.cache_headers, policy)
        call.payload = request.payload
        return request if request.key is not None else None

    def answer_from_cache(self, admitted: Admitted) -> Completed:
        hit = admitted.hit
        assert hit is not None
        input_tokens, output_tokens = hit_usage(hit)
        with admitted.settlement.owned() as settlement:
            settlement.settle(hit_provider(hit), Outcome("success", 200), usage=Usage(input_tokens, output_tokens))
        return Completed(admitted, None, ParsedResponse(hit.body, {}, None), admitted.receipt)

    async def _within_quotas(self, decision: Decision, call: Call) -> list[Provider]:
        """The providers to try, at most max_attempts, skipping any over its own rate quota."""
        published = self.keys.value.limits
        if not self.gate.has_provider_limits(published):  # the usual case: no need to read the whole ranking
            return [c.provider for c in decision.ranked[: self.settings.max_attempts]]
        by_name = {c.provider.name: c.provider for c in decision.ranked}
        names = await self.gate.within_provider_quota(list(by_name), expected_tokens(call.payload), published)
        return [by_name[n] for n in names][: self.settings.max_attempts]

    async def _reserve(self, admitted: Admitted, identity: Identity | None) -> None:
        """Reserve the worst case from the lease on every budget the request falls under; all or
        none (the settlement releases what was taken when a later one refuses). A candidate whose
        provider or model budget refuses is not tried; when none is left, that refusal stands."""
        call, known = admitted.call, self.budgets.value
        tenant = tenant_of(identity) if identity is not None and identity.key is not None else None
        common = [b for b in budgets_of(call.run_id, identity) if b in known]
        served: dict[str, list[Provider]] = {}
        for provider in admitted.candidates:
            for budget in served_budgets(provider):
                if budget in known:
                    served.setdefault(budget, []).append(provider)
        if not common and not served:
            return
        if served:
            admitted.candidates = await self._reserve_served(admitted, served, tenant)
        amount = worst_case(admitted.candidates, call.payload)
        admitted.facts.hold_usd = amount
        for budget in common:
            await self._take(admitted, budget, to_micros(amount), tenant)

    async def _reserve_served(self, admitted: Admitted, served: dict[str, list[Provider]],
                              tenant: str | None) -> list[Provider]:
        """Reserve on each provider's and model's budget the worst case of the candidates it
        covers; the candidates left (those whose budgets all had room)."""
        left = list(admitted.candidates)
        refused: BudgetExceeded | None = None
        for budget, providers in served.items():
            live = [p for p in providers if any(p is q for q in left)]
            if not live:
                continue
            try:
                await self._take(admitted, budget, to_micros(worst_case(live, admitted.call.payload)), tenant)
            except BudgetExceeded as exc:
                refused = exc
                left = [p for p in left if all(p is not q for q in live)]
        if not left:
            assert refused is not None
            raise refused
        return left

    async def _take(self, admitted: Admitted, budget: str, micros: int, tenant: str | None) -> None:
        reservation = await self.leases.reserve(budget, micros, admitted.call.trace_id, tenant)
        if reservation is not None:
            admitted.reservations.append(reservation)
            admitted.facts.lease_ids.append(reservation.lease_id)

    # -- forwarding -----------------------------------------------------------------------
    async def forward(self, admitted: Admitted, *, stream: bool) -> Answer:
        """The first answer of the candidates (retries, fallback, breakers: forwarding/fallback.py),
        attached to the request's settlement; raises when none answers (the caller's settlement
        scope writes the receipt)."""
        answer = await self.forwarder.first_answer(admitted.candidates, request_builder(admitted.call, stream=stream),
                                                   admitted.facts, stream=stream)
        admitted.settlement.attach(answer)
        return answer

    async def open_stream(self, admitted: Admitted) -> Answer:
        """A streamed request's upstream answer; from here the stream that relays it owns the
        request's settlement (`EventStream` closes it). A 4xx the caller caused raises, settled."""
        with admitted.settlement.owned() as settlement:
            answer = await self.forward(admitted, stream=True)
            if answer.status >= 400:
                raise self.rejected(admitted, answer)
            settlement.handed_off = True
        return answer

    async def complete(self, call: Call) -> Completed:
        """A non-streaming request from admission to receipt."""
        admitted = await self.admit(call)
        if admitted.hit is not None:
            return self.answer_from_cache(admitted)
        with admitted.settlement.owned() as settlement:
            answer = await self.forward(admitted, stream=False)
            body = answer.body or b""
            if answer.status >= 400:
                raise self.rejected(admitted, answer)
            parsed = parse_answer(answer.adapter, body, call.kind)
            usage = parsed.usage if parsed else None
            settlement.settle(answer.provider, Outcome("success", answer.status), usage=usage, charged=True)
        if parsed is not None:
            await self.remember(admitted, parsed.body, admitted.receipt, answer.provider)
        return Completed(admitted, answer, parsed, admitted.receipt)

    async def remember(self, admitted: Admitted, body: bytes | None, receipt: Receipt,
                       provider: Provider) -> None:
        """Keep a successful answer (OpenAI chat.completion bytes) in the cache, if it may be kept.
        The cache is best effort: a failure to keep is logged, and the answer goes out."""
        if admitted.cache is not None and self.cache is not None and body is not None:
            try:
                await self.cache.store(admitted.cache, body, receipt["cost_usd"], provider.name)
            except Exception as exc:  # noqa: BLE001 - the receipt is written; the client gets its answer
                log.warning("cache_store_failed", request_id=admitted.call.request_id, error=repr(exc)[:300])

    def rejected(self, admitted: Admitted, answer: Answer) -> UpstreamRejected:
        """A 4xx the caller caused: its receipt, and the provider's own words as the error to answer
        with (in the one error shape, with the provider's status)."""
        message = answer.adapter.error_message(answer.status, answer.body or b"")
        receipt = admitted.settlement.settle(answer.provider, Outcome(
            "error", answer.status, {"type": "upstream_client_error", "message": message}))
        assert receipt is not None
        return UpstreamRejected(f"provider {answer.provider.name} refused the request: {message}",
                                status=answer.status, extra={"provider": answer.provider.name},
                                headers=answer_headers(receipt, admitted.verdict))

    # -- after the receipt ------------------------------------------------------------------------
    def after_receipt(self, admitted: Admitted, provider: Provider, receipt: Receipt, tokens: int) -> None:
        """What follows a written receipt: the request is no longer in flight (outcomes to the
        router), its rate-limit tokens corrected to the real usage, a $0 success flagged."""
        self.routing.finished(receipt)  # type: ignore[arg-type]  # the outcome report reads it as JSON
        if self.observe_receipt is not None:
            self.observe_receipt(receipt)
        if admitted.verdict is not None and admitted.verdict.hits:
            self._background(self.gate.settle(admitted.verdict, tokens))
        if zero_cost(provider, receipt, receipt["output_tokens"]):
            self.zero_cost_successes += 1
            log.warning("zero_cost_success", provider=provider.name, request_id=admitted.call.request_id)

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
