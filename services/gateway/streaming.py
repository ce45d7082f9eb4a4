"""Server-sent events passed through event by event, with the stream's cost on its receipt.

Usage is always asked of the upstream; the usage-only chunk is removed again when the client
did not ask for it. The receipt is written before the final `[DONE]` goes out. A stream that ends
without its end marker is an error: the client gets an error event, never a clean-looking end,
and the receipt says `truncated`; so does a stream that stays silent past the provider's idle
timeout, or runs past its total timeout. A client that goes away mid-stream still gets a receipt
for what was generated, and the upstream request is closed. The receipt carries the time to the
first token (`ttft_ms`); the stream's outcome goes to the provider's circuit breaker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import structlog

from services.common.selection.estimate import typical_input_tokens
from services.gateway.adapters.base import Usage
from services.gateway.cache.sse import ChunkAssembler
from services.gateway.forwarding.fallback import Answer
from services.gateway.pipeline import Admitted, Pipeline

log = structlog.get_logger("tollway.gateway.stream")


def _error_event(kind: str, message: str) -> bytes:
    return b"data: " + orjson.dumps({"error": {"type": kind, "message": message}}) + b"\n\n"


class StreamStalled(Exception):
    """The upstream stream went silent past its idle timeout, or ran past its total timeout."""


async def _events(resp: aiohttp.ClientResponse, idle_s: float, deadline: float) -> AsyncIterator[list[bytes]]:
    """Group the upstream's lines into SSE events (separated by a blank line); each line must come
    within `idle_s` and all of them before `deadline` (event-loop time)."""
    loop = asyncio.get_running_loop()
    lines: list[bytes] = []
    while True:
        wait = min(idle_s, deadline - loop.time())
        try:
            async with asyncio.timeout(wait):
                line = await resp.content.readline()
        except TimeoutError:
            why = "total timeout" if wait < idle_s else f"no data for {idle_s:g} s (idle timeout)"
            raise StreamStalled(why) from None
        if not line:
            break
        lines.append(line)
        if line in (b"\n", b"\r\n"):
            yield lines
            lines = []
    if lines and any(line.strip() for line in lines):
        yield lines


async def relay(pipeline: Pipeline, admitted: Admitted, answer: Answer) -> AsyncIterator[bytes]:
    call = admitted.call
    usage: Usage | None = None
    text_len = 0
    finished = False
    recorded = False
    resp = answer.response
    facts = admitted.facts

    def record(status: str, error: dict[str, str] | None = None) -> dict[str, Any] | None:
        nonlocal recorded
        if recorded:
            return None
        recorded = True
        answer.settle(status == "success" or (error or {}).get("type") == "client_disconnected")
        estimated = usage is None
        in_tokens = usage.input_tokens if usage else typical_input_tokens(call.payload)
        out_tokens = usage.output_tokens if usage else (text_len + 3) // 4
        return pipeline.record(admitted, answer.provider, status=status, http_status=answer.status,
                               input_tokens=in_tokens, output_tokens=out_tokens, usage_estimated=estimated,
                               error=error, charged=True, usage=usage)

    parser = answer.adapter.stream_parser()
    assembler = ChunkAssembler() if admitted.cache is not None else None  # the answer, for the cache
    try:
        async for lines in _events(resp, answer.timeouts.idle_s, answer.deadline):
            for event in parser.parse_event(lines):
                if event.usage is not None:
                    usage = event.usage
                if event.text and facts.ttft_ms is None:
                    facts.ttft_ms = (time.perf_counter() - admitted.started) * 1000
                text_len += len(event.text)
                if assembler is not None:
                    _feed(assembler, event.raw)
                if event.done:
                    finished = True
                    receipt = record("success")
                    if assembler is not None and receipt is not None:
                        await pipeline.remember(admitted, assembler.body(), receipt, answer.provider)
                    yield event.raw
                    break
                if not event.raw or (event.usage_only and not call.client_wants_usage):
                    continue
                yield event.raw
            if finished:
                break
        if not finished:
            record("error", {"type": "truncated", "message": "upstream stream ended without its end marker"})
            yield _error_event("upstream_truncated",
                               f"provider {answer.provider.name} ended the stream before it was "
                               "complete; the answer above is partial (no fallback after the first byte)")
    except StreamStalled as exc:
        record("error", {"type": "truncated", "message": f"upstream stream stalled: {exc}"})
        yield _error_event("upstream_timeout",
                           f"provider {answer.provider.name} stopped mid-stream: {exc}; the answer above is "
                           "partial (no fallback after the first byte)")
    except (aiohttp.ClientError, TimeoutError) as exc:
        record("error", {"type": "truncated", "message": f"upstream stream failed: {exc!r}"[:300]})
        yield _error_event("upstream_truncated",
                           f"provider {answer.provider.name} failed mid-stream; the answer above is "
                           "partial (no fallback after the first byte)")
    except (asyncio.CancelledError, GeneratorExit):
        record("error", {"type": "client_disconnected",
                         "message": "client went away mid-stream; billed for what was generated"})
        raise
    finally:
        resp.close()


def _feed(assembler: ChunkAssembler, raw: bytes) -> None:
    """Give the assembler the OpenAI chunk in an SSE event (comments and [DONE] carry none)."""
    for line in raw.splitlines():
        if line.startswith(b"data:") and line[5:].strip() not in (b"", b"[DONE]"):
            try:
                chunk = orjson.loads(line[5:].strip())
            except orjson.JSONDecodeError:
                continue
            if isinstance(chunk, dict):
                assembler.feed(chunk)
