"""Server-sent events passed through event by event, with the stream's cost on its receipt.

Usage is always asked of the upstream; the usage-only chunk is removed again when the client
did not ask for it. The receipt is written before the final `[DONE]` goes out. A stream that ends
without its end marker is an error: the client gets an error event, never a clean-looking end,
and the receipt says `truncated`; so does a stream that stays silent past the provider's idle
timeout, or runs past its total timeout. A client that goes away mid-stream still gets a receipt
for what was generated, and the upstream request is closed; so does a stream that breaks in a way
nobody foresaw (a chunk no parser expected): every end goes through the request's settlement.
The receipt carries the time to the first token (`ttft_ms`); the stream's outcome goes to the
provider's circuit breaker when the settlement closes.

The upstream is read as it arrives (one idle-timeout check per read, not per line), and the
events one read completed go to the client in one write: nothing waits for more to come.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator

import orjson
import structlog

from services.gateway.cache.sse import ChunkAssembler
from services.gateway.forwarding.fallback import Answer
from services.gateway.forwarding.http1 import ReadTimeout, Response, UpstreamHTTPError
from services.gateway.pipeline import Admitted, Pipeline
from services.gateway.receipts.build import Receipt
from services.gateway.settlement import CLIENT_GONE, Outcome

log = structlog.get_logger("tollway.gateway.stream")

MAX_LINE_BYTES = 16 * 1024 * 1024  # an SSE line still unfinished past this ends the stream


def _error_event(kind: str, message: str) -> bytes:
    return b"data: " + orjson.dumps({"error": {"type": kind, "message": message}}) + b"\n\n"


class StreamStalled(Exception):
    """The upstream stream went silent past its idle timeout, or ran past its total timeout."""


class StreamUnreadable(Exception):
    """The upstream stream cannot be read as SSE: a line longer than MAX_LINE_BYTES."""


async def _event_batches(resp: Response) -> AsyncIterator[list[list[bytes]]]:
    """The upstream's SSE events, each as its lines (the blank line that ends it included),
    grouped by the read that completed them. The response's own watch (idle gaps, total) bounds
    the reads. An event the stream ended in the middle of comes last."""
    lines: list[bytes] = []  # the event being read
    partial = b""  # the start of a line whose end has not come yet
    while True:
        try:
            data = await resp.readany()
        except ReadTimeout as exc:
            raise StreamStalled(str(exc)) from None
        if not data:
            break
        if partial:
            data = partial + data
        events: list[list[bytes]] = []
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            line = data[start:end + 1]
            start = end + 1
            lines.append(line)
            if line == b"\n" or line == b"\r\n":
                events.append(lines)
                lines = []
        partial = data[start:]
        if len(partial) > MAX_LINE_BYTES:
            raise StreamUnreadable(f"a line longer than {MAX_LINE_BYTES} bytes")
        if events:
            yield events
    if partial:
        lines.append(partial)
    if lines and any(line.strip() for line in lines):
        yield [lines]


def _truncated(message: str) -> Outcome:
    return Outcome("error", 200, {"type": "truncated", "message": message})


async def relay(pipeline: Pipeline, admitted: Admitted, answer: Answer) -> AsyncGenerator[bytes, None]:
    """The stream's events to the client; its receipt (through the request's settlement) before
    the end marker goes out, or with what was generated when it ends any other way. A stream is
    billed (`charged`) however it ends: the provider generated what it sent."""
    call = admitted.call
    settlement = admitted.settlement
    finished = False
    resp = answer.response
    facts = admitted.facts

    def record(outcome: Outcome) -> Receipt | None:
        return settlement.settle(answer.provider, outcome, usage=settlement.usage, charged=True)

    parser = answer.adapter.stream_parser()
    assembler = ChunkAssembler() if admitted.cache is not None else None  # the answer, for the cache
    strip_usage = not call.client_wants_usage
    try:
        async for batch in _event_batches(resp):
            out: list[bytes] = []  # what this read brought, for the client
            for lines in batch:
                for event in parser.parse_event(lines):
                    if event.usage is not None:
                        settlement.usage = event.usage
                    if event.text:
                        if facts.ttft_ms is None:
                            facts.ttft_ms = (time.perf_counter() - admitted.started) * 1000
                        settlement.text_chars += len(event.text)
                    if assembler is not None:
                        _feed(assembler, event.raw)
                    if event.done:
                        finished = True
                        receipt = record(Outcome("success", answer.status))
                        if assembler is not None and receipt is not None:
                            await pipeline.remember(admitted, assembler.body(), receipt, answer.provider)
                        out.append(event.raw)
                        break
                    if event.raw and not (strip_usage and event.usage_only):
                        out.append(event.raw)
                if finished:
                    break
            if out:
                yield out[0] if len(out) == 1 else b"".join(out)
            if finished:
                break
        if not finished:
            record(_truncated("upstream stream ended without its end marker"))
            yield _error_event("upstream_truncated",
                               f"provider {answer.provider.name} ended the stream before it was "
                               "complete; the answer above is partial (no fallback after the first byte)")
    except StreamUnreadable as exc:
        record(_truncated(f"upstream stream unreadable: {exc}"))
        yield _error_event("upstream_truncated",
                           f"provider {answer.provider.name} sent a stream that cannot be read ({exc}); the "
                           "answer above is partial (no fallback after the first byte)")
    except StreamStalled as exc:
        record(_truncated(f"upstream stream stalled: {exc}"))
        yield _error_event("upstream_timeout",
                           f"provider {answer.provider.name} stopped mid-stream: {exc}; the answer above is "
                           "partial (no fallback after the first byte)")
    except (UpstreamHTTPError, TimeoutError) as exc:
        record(_truncated(f"upstream stream failed: {exc!r}"[:300]))
        yield _error_event("upstream_truncated",
                           f"provider {answer.provider.name} failed mid-stream; the answer above is "
                           "partial (no fallback after the first byte)")
    except (asyncio.CancelledError, GeneratorExit):
        record(Outcome("error", 499, dict(CLIENT_GONE)))
        raise
    except Exception as exc:  # noqa: BLE001 - a chunk no parser expected: the stream ends, settled
        log.error("stream_failed_unexpectedly", provider=answer.provider.name, request_id=call.request_id,
                  error=f"{type(exc).__name__}: {exc}"[:300])
        record(_truncated(f"upstream stream unreadable: {type(exc).__name__}: {exc}"[:300]))
        yield _error_event("upstream_truncated",
                           f"provider {answer.provider.name} sent a stream that cannot be read; the answer "
                           "above is partial (no fallback after the first byte)")
    finally:
        if finished:
            resp.done_reading()  # the end marker came: the connection stays if the answer's end follows
        else:
            resp.close()  # cut short, stalled, or the client left: the upstream request is cancelled


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
