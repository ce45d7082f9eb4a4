"""Try the ranked providers in order until one answers; retry each within the request's retry
budget; record every attempt.

Per provider: a connect error, a timeout, a 408, 429 or 5xx, or a connection dropped before the
answer is complete, is retried on the same provider after a backoff with full jitter (or the
provider's `Retry-After`), while the provider's retries, the request's retry budget and its circuit
allow; then the next alternative is tried. A 401, 403 or 404 is the provider's setup (its key, its
deployment), not the caller's: the next alternative is tried at once. Any other 4xx is the caller's
mistake and is returned as is (another provider would refuse it too). Each outcome feeds the
provider's circuit breaker; a provider whose circuit refuses calls is skipped.

When every attempt failed, the answer is a 502 (a 504 when all timed out); when every attempt was
a 429, it is a 429 with the shortest Retry-After a provider asked for, so clients back off.

A provider's key is read only from a variable the operator allowed (TOLLWAY_API_KEY_ENV_ALLOW);
what comes back from an attempt that failed (an error body, the provider's message, a connection
error) has every credential the request sent redacted before anything else sees it
(forwarding/redaction.py).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from services.common.errors import ProvidersUnavailable, UpstreamFailed, UpstreamRateLimited, UpstreamTimeout
from services.common.registry.key_env import KeyEnvRule, ProviderKeys
from services.common.registry.provider import Provider
from services.common.settings import Settings
from services.common.tracing import otel
from services.gateway.adapters.base import Adapter, UpstreamRequest
from services.gateway.adapters.registry import adapter_for
from services.gateway.forwarding.backoff import full_jitter, retry_after_s
from services.gateway.forwarding.breaker import Breakers, CircuitBreaker
from services.gateway.forwarding.http1 import (
    BadRequestHead,
    ConnectFailed,
    Disconnected,
    ReadTimeout,
    Response,
    UpstreamHTTPError,
)
from services.gateway.forwarding.redaction import RequestRedactor
from services.gateway.forwarding.timeouts import Timeouts
from services.gateway.forwarding.upstream import UpstreamClient
from services.gateway.receipts.build import Attempt, RequestFacts

log = structlog.get_logger("tollway.gateway.forward")

PROVIDER_SETUP = frozenset({401, 403, 404})  # the provider's key or deployment: try the next one


def retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def caller_error(status: int) -> bool:
    """A 4xx another provider would answer the same way: no retry, no fallback."""
    return 400 <= status < 500 and not retryable(status) and status not in PROVIDER_SETUP


@dataclass(slots=True)
class Answer:
    provider: Provider
    adapter: Adapter
    response: Response
    body: bytes | None  # read for non-streaming answers, None for streams
    started: float
    timeouts: Timeouts
    deadline: float  # the attempt's end (event-loop time): a stream's total timeout
    breaker: CircuitBreaker

    @property
    def status(self) -> int:
        return self.response.status

    def settle(self, ok: bool) -> None:
        """A stream's outcome, for the provider's breaker (plain answers are settled here)."""
        self.breaker.record(ok)


@dataclass(slots=True)
class Outcome:
    """One failed attempt: what to record and whether to try the same provider again."""

    error: str
    http_status: int | None = None
    retry: bool = True
    retry_after_s: float | None = None
    timed_out: bool = False
    resent: bool = False  # the request went out a second time, on a fresh connection


def api_key(provider: Provider, keys: ProviderKeys) -> tuple[str | None, str | None]:
    """The provider's key from the gateway's environment, under an allowed name only: (key,
    problem). Never logged (and redacted from the logs should it get there)."""
    if not provider.api_key_env:
        return None, None
    return keys.read(provider.api_key_env)


BuildRequest = Callable[[Adapter, Provider, str | None], UpstreamRequest]




@dataclass
class RetryBudget:
    """What one request may still spend on upstream calls: attempts, and time for retries."""

    attempts: int
    seconds: float
    first_at: float | None = None
    used: int = 0
    timed_out: int = 0  # attempts that ended in a timeout
    shortest_wait_s: float | None = None  # the shortest Retry-After of the 429s

    def note_rate_limited(self, retry_after_s: float | None) -> None:
        if retry_after_s is not None and (self.shortest_wait_s is None or retry_after_s < self.shortest_wait_s):
            self.shortest_wait_s = retry_after_s

    @property
    def spent(self) -> bool:
        return self.used >= self.attempts

    def take(self, now: float) -> None:
        if self.first_at is None:
            self.first_at = now
        self.used += 1

    def allows_retry_after(self, delay: float, now: float) -> bool:
        return self.used < self.attempts and (now - (self.first_at or now)) + delay <= self.seconds

    def since_first_ms(self, now: float) -> float:
        return (now - (self.first_at or now)) * 1000


@dataclass
class Forwarder:
    upstream: UpstreamClient
    settings: Settings
    breakers: Breakers
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def __post_init__(self) -> None:
        self.timeouts = Timeouts.from_settings(self.settings)
        self.keys = ProviderKeys(KeyEnvRule.from_settings(self.settings))

    async def first_answer(self, candidates: list[Provider], build: BuildRequest, facts: RequestFacts, *,
                           stream: bool) -> Answer:
        budget = RetryBudget(self.settings.retry_budget_attempts, self.settings.retry_budget_s)
        attempts = facts.attempts
        skipped: list[str] = []
        for provider in candidates:
            adapter = adapter_for(provider.api_format)
            key, problem = api_key(provider, self.keys)
            if adapter is None:
                problem = f"no adapter for api_format {provider.api_format} in this gateway"
            if problem:
                attempts.append(Attempt(provider.name, "error", 0.0, None, problem))
                continue
            assert adapter is not None
            try:
                req = build(adapter, provider, key)
            except ValueError as exc:  # this provider's format cannot carry the request
                attempts.append(Attempt(provider.name, "error", 0.0, None, str(exc)))
                continue
            answer = await self._with_retries(provider, adapter, req, RequestRedactor(req, key), budget, attempts,
                                              skipped, stream=stream)
            if answer is not None:
                _note_skipped(facts, skipped)
                return answer
            if budget.spent:
                break
        _note_skipped(facts, skipped)
        raise _all_failed(attempts, skipped, budget)

    async def _with_retries(self, provider: Provider, adapter: Adapter, req: UpstreamRequest,
                            redactor: RequestRedactor, budget: RetryBudget, attempts: list[Attempt],
                            skipped: list[str], *, stream: bool) -> Answer | None:
        breaker = self.breakers[provider.name]
        timeouts = self.timeouts.for_provider(provider)
        settings = self.settings
        for retry in range(settings.retries_per_provider + 1):
            if budget.spent:
                return None
            if not breaker.acquire():
                if retry == 0:
                    skipped.append(f"{provider.name} ({breaker.refusal()})")
                return None
            now = time.monotonic()
            budget.take(now)
            since_first = budget.since_first_ms(now)
            started = time.perf_counter()
            result = await self._attempt(provider, adapter, req, redactor, timeouts, breaker, stream=stream)
            if isinstance(result, Answer):
                status = "success" if result.status < 400 else "error"
                message = None
                if status == "error":
                    message = redactor.text(adapter.error_message(result.status, result.body or b""))
                attempts.append(Attempt(provider.name, status, _ms(started), result.status, message, since_first,
                                        resent=result.response.resent))
                return result
            attempts.append(Attempt(provider.name, "error", _ms(started), result.http_status, result.error,
                                    since_first, resent=result.resent))
            breaker.record(False)
            budget.timed_out += result.timed_out
            if result.http_status == 429:
                budget.note_rate_limited(result.retry_after_s)
            log.info("upstream_failed", provider=provider.name, status=result.http_status, error=result.error)
            if not result.retry or retry == settings.retries_per_provider:
                return None
            delay = result.retry_after_s
            if delay is None:
                delay = full_jitter(retry, settings.retry_backoff_base_s, settings.retry_backoff_cap_s, self.rng)
            elif delay > settings.retry_after_max_s:
                return None  # asked to wait longer than this gateway waits: the next provider now
            if not budget.allows_retry_after(delay, time.monotonic()):
                return None
            await self.sleep(delay)
        return None

    async def _attempt(self, provider: Provider, adapter: Adapter, req: UpstreamRequest, redactor: RequestRedactor,
                       timeouts: Timeouts, breaker: CircuitBreaker, *, stream: bool) -> Answer | Outcome:
        """One call; an error's body and message come back with the request's credentials redacted."""
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        deadline = loop.time() + timeouts.total_s
        resp: Response | None = None
        try:
            async with asyncio.timeout(timeouts.headers_s) as first_byte:
                if otel.enabled():  # a CLIENT span to the answer's head, its traceparent sent along
                    with otel.client_span(f"provider {provider.name}", req.headers, provider=provider.name):
                        resp = await self.upstream.open(req, timeouts.connect_s)
                else:
                    resp = await self.upstream.open(req, timeouts.connect_s)
            resp.watch(timeouts.idle_s, deadline)  # the body: idle gaps and the total, one timer
            if retryable(resp.status) or resp.status in PROVIDER_SETUP:
                raw = redactor.body(await resp.read())
                message = f"HTTP {resp.status}: {redactor.text(adapter.error_message(resp.status, raw))}"
                wait = retry_after_s(resp.headers)
                if wait is not None:
                    message += f" (retry after {wait:g} s)"
                resp.release()
                return Outcome(message, resp.status, retry=retryable(resp.status), retry_after_s=wait,
                               resent=resp.resent)
            body = None if (stream and resp.status < 400) else await resp.read()
            if body is not None and resp.status >= 400:
                body = redactor.body(body)  # relayed as the provider's words (pipeline.rejected)
        except TimeoutError as exc:
            if resp is not None:
                resp.close()
            return Outcome(_timeout_kind(exc, first_byte.expired(), resp is not None, timeouts), timed_out=True)
        except UpstreamHTTPError as exc:
            if resp is not None:
                resp.close()
            return Outcome(redactor.text(_describe(exc)), retry=not isinstance(exc, BadRequestHead))
        except BaseException:  # cancelled (the client left), or nobody foresaw it: never leak the connection
            if resp is not None:
                resp.close()
            raise
        if body is not None:
            breaker.record(True)  # a whole answer, or the caller's mistake: the provider works
        return Answer(provider, adapter, resp, body, started, timeouts, deadline, breaker)


def _note_skipped(facts: RequestFacts, skipped: list[str]) -> None:
    if skipped:
        facts.reason += "; skipped at forwarding: " + ", ".join(skipped)


def _all_failed(attempts: list[Attempt], skipped: list[str], budget: RetryBudget) -> Exception:
    tried = "; ".join(f"{a.provider}: {a.error or a.http_status}" for a in attempts)
    if not attempts:
        return ProvidersUnavailable("no provider could be tried: " + ("; ".join(skipped) or "none left"))
    message = f"every provider tried failed ({tried})"
    if budget.spent:
        message += f"; the request's retry budget of {budget.attempts} upstream calls is spent"
    if skipped:
        message += "; skipped: " + ", ".join(skipped)
    if budget.timed_out == len(attempts):
        return UpstreamTimeout(message)
    if all(a.http_status == 429 for a in attempts):
        wait = budget.shortest_wait_s
        headers = {"retry-after": str(max(1, math.ceil(wait)))} if wait is not None else None
        return UpstreamRateLimited(message, headers=headers)
    return UpstreamFailed(message)


def _timeout_kind(exc: BaseException, first_byte_expired: bool, answered: bool, timeouts: Timeouts) -> str:
    if first_byte_expired:
        return f"first byte timeout: no answer within {timeouts.headers_s:g} s"
    if isinstance(exc, ReadTimeout):
        return str(exc)
    if answered:
        return f"no data for {timeouts.idle_s:g} s (idle timeout) or past the {timeouts.total_s:g} s total"
    if isinstance(exc, ConnectFailed):
        return f"connect timeout: no connection within {timeouts.connect_s:g} s"
    return "timeout"


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _describe(exc: UpstreamHTTPError) -> str:
    if isinstance(exc, (ConnectFailed, Disconnected)):
        return str(exc)[:300]
    return f"{type(exc).__name__}: {exc}"[:300]
