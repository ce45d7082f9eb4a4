"""Server-sent events passed through event by event, with the stream's cost on its receipt.

Usage is always asked of the upstream; the usage-only chunk is removed again when the client
did not ask for it. The receipt is written before the final `[DONE]` goes out. A stream that ends
without its end marker is an error: the client gets an error event, never a clean-looking end,
and the receipt says `truncated`; so does a stream that stays silent past the provider's idle
timeout, or runs past its total timeout. A client that goes away mid-stream still gets a receipt
for what was generated, and the upstream request is closed. The receipt carries the time to the
first token (`ttft_ms`); the stream's outcome goes to the provider's circuit breaker.

The upstream is read as it arrives (one idle-timeout check per read, not per line), and the
events one read completed go to the client in one write: nothing waits for more to come.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import orjson
import structlog

from services.common.selection.estimate import typical_input_tokens
from services.gateway.adapters.base import Usage
from services.gateway.cache.sse import ChunkAssembler
from services.gateway.forwarding.fallback import Answer
from services.gateway.forwarding.http1 import ReadTimeout, Response, UpstreamHTTPError
from services.gateway.pipeline import Admitted, Pipeline

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


class StreamTally:
    """What a stream has brought so far, and its one receipt."""

    __slots__ = ("pipeline", "admitted", "answer", "usage", "text_len", "recorded")

    def __init__(self, pipeline: Pipeline, admitted: Admitted, answer: Answer) -> None:
        self.pipeline = pipeline
        self.admitted = admitted
        self.answer = answer
        self.usage: Usage | None = None  # the provider's, once it has said
        self.text_len = 0  # characters of generated text (the estimate when usage never comes)
        self.recorded = False

    def record(self, status: str, error: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The stream's receipt (once): the provider's usage, else an estimate marked as one."""
        if self.recorded:
            return None
        self.recorded = True
        answer, usage = self.answer, self.usage
        answer.settle(status == "success" or (error or {}).get("type") == "client_disconnected")
        in_tokens = usage.input_tokens if usage else typical_input_tokens(self.admitted.call.payload)
        out_tokens = usage.output_tokens if usage else (self.text_len + 3) // 4
        return self.pipeline.record(self.admitted, answer.provider, status=status, http_status=answer.status,
                                    input_tokens=in_tokens, output_tokens=out_tokens, usage_estimated=usage is None,
                                    error=error, charged=True, usage=usage)


CLIENT_GONE = {"type": "client_disconnected", "message": "client went away mid-stream; billed for what was generated"}


def abandon(pipeline: Pipeline, admitted: Admitted, answer: Answer) -> None:
    """The client left before the stream's first byte was relayed: its receipt (the input the
    provider has read), its reservation freed, and the upstream request closed."""
    try:
        StreamTally(pipeline, admitted, answer).record("error", CLIENT_GONE)
    finally:
        answer.response.close()


async def relay(pipeline: Pipeline, admitted: Admitted, answer: Answer) -> AsyncGenerator[bytes, None]:
    call = admitted.call
    tally = StreamTally(pipeline, admitted, answer)
    record = tally.record
    finished = False
    resp = answer.response
    facts = admitted.facts

    parser = answer.adapter.stream_parser()
    assembler = ChunkAssembler() if admitted.cache is not None else None  # the answer, for the cache
    strip_usage = not call.client_wants_usage
    try:
        async for batch in _event_batches(resp):
            out: list[bytes] = []  # what this read brought, for the client
            for lines in batch:
                for event in parser.parse_event(lines):
                    if event.usage is not None:
                        tally.usage = event.usage
                    if event.text:
                        if facts.ttft_ms is None:
                            facts.ttft_ms = (time.perf_counter() - admitted.started) * 1000
                        tally.text_len += len(event.text)
                    if assembler is not None:
                        _feed(assembler, event.raw)
                    if event.done:
                        finished = True
                        receipt = record("success")
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
            record("error", {"type": "truncated", "message": "upstream stream ended without its end marker"})
            yield _error_event("upstream_truncated",
                               f"provider {answer.provider.name} ended the stream before it was "
                               "complete; the answer above is partial (no fallback after the first byte)")
    except StreamUnreadable as exc:
        record("error", {"type": "truncated", "message": f"upstream stream unreadable: {exc}"})
        yield _error_event("upstream_truncated",
                           f"provider {answer.provider.name} sent a stream that cannot be read ({exc}); the "
                           "answer above is partial (no fallback after the first byte)")
    except StreamStalled as exc:
        record("error", {"type": "truncated", "message": f"upstream stream stalled: {exc}"})
        yield _error_event("upstream_timeout",
                           f"provider {answer.provider.name} stopped mid-stream: {exc}; the answer above is "
                           "partial (no fallback after the first byte)")
    except (UpstreamHTTPError, TimeoutError) as exc:
        record("error", {"type": "truncated", "message": f"upstream stream failed: {exc!r}"[:300]})
        yield _error_event("upstream_truncated",
                           f"provider {answer.provider.name} failed mid-stream; the answer above is "
                           "partial (no fallback after the first byte)")
    except (asyncio.CancelledError, GeneratorExit):
        record("error", CLIENT_GONE)
        raise
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
