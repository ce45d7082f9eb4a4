"""Try the ranked providers in order until one answers; record every attempt.

A provider that refuses the connection, times out, answers 429 or 5xx, or drops the
connection before its answer is complete, is skipped for the next alternative. Any other 4xx is
the caller's mistake and is returned as is (another provider would refuse it too).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import aiohttp
import structlog

from services.common.errors import UpstreamFailed, UpstreamTimeout
from services.common.registry.provider import Provider
from services.gateway.adapters.base import Adapter
from services.gateway.adapters.registry import adapter_for
from services.gateway.forwarding.upstream import UpstreamClient
from services.gateway.receipts.build import Attempt

log = structlog.get_logger("tollway.gateway.forward")


def retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


@dataclass(slots=True)
class Answer:
    provider: Provider
    adapter: Adapter
    response: aiohttp.ClientResponse
    body: bytes | None  # read for non-streaming answers, None for streams
    started: float

    @property
    def status(self) -> int:
        return self.response.status


def api_key(provider: Provider) -> tuple[str | None, str | None]:
    """The provider's key from the gateway's environment: (key, problem). Never logged."""
    if not provider.api_key_env:
        return None, None
    key = os.environ.get(provider.api_key_env)
    if not key:
        return None, f"environment variable {provider.api_key_env} is not set on the gateway"
    return key, None


async def first_answer(candidates: list[Provider], payload: dict, upstream: UpstreamClient,
                       attempts: list[Attempt], *, stream: bool) -> Answer:
    timed_out = False
    for provider in candidates:
        started = time.perf_counter()
        adapter = adapter_for(provider.api_format)
        key, problem = api_key(provider)
        if adapter is None:
            problem = f"no adapter for api_format {provider.api_format} in this gateway"
        if problem:
            attempts.append(Attempt(provider.name, "error", 0.0, None, problem))
            continue
        assert adapter is not None
        req = adapter.build_request(provider, payload, key, stream=stream)
        try:
            resp = await upstream.open(req)
            if retryable(resp.status):
                raw = await resp.read()
                resp.release()
                message = adapter.error_message(resp.status, raw)
                attempts.append(Attempt(provider.name, "error", _ms(started), resp.status, message))
                log.info("upstream_retryable", provider=provider.name, status=resp.status)
                continue
            body = None if (stream and resp.status < 400) else await resp.read()
        except TimeoutError:
            timed_out = True
            attempts.append(Attempt(provider.name, "error", _ms(started), None, "timeout"))
            log.info("upstream_timeout", provider=provider.name)
            continue
        except aiohttp.ClientError as exc:
            attempts.append(Attempt(provider.name, "error", _ms(started), None, _describe(exc)))
            log.info("upstream_unreachable", provider=provider.name, error=_describe(exc))
            continue
        status = "success" if resp.status < 400 else "error"
        attempts.append(Attempt(provider.name, status, _ms(started), resp.status,
                                None if status == "success" else adapter.error_message(resp.status, body or b"")))
        return Answer(provider, adapter, resp, body, started)
    tried = "; ".join(f"{a.provider}: {a.error or a.http_status}" for a in attempts)
    message = f"every provider tried failed ({tried})" if attempts else "no provider to try"
    if timed_out and all(a.error == "timeout" for a in attempts):
        raise UpstreamTimeout(message)
    raise UpstreamFailed(message)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror if exc.os_error else exc}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected before answering"
    return f"{type(exc).__name__}: {exc}"[:300]
