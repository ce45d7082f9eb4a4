"""How the relay reads an upstream stream: SSE events whatever the reads cut them into, the events
one read completed together, a body timeout as a stalled stream, and a line too long to hold.
(The idle and total timeouts themselves: tests/integration/gateway/http1.)"""

from __future__ import annotations

import asyncio
import random

import pytest

from services.gateway import streaming
from services.gateway.forwarding.http1 import ReadTimeout
from services.gateway.streaming import StreamStalled, StreamUnreadable, _event_batches

STREAM = (b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
          b": keep-alive comment\n\n"
          b'data: {"choices":[{"delta":{"content":"Hi"}}]}\r\n\r\n'
          b"event: message\ndata: {\"a\":1}\ndata: {\"b\":2}\n\n"
          b"\n"
          b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
          b"data: [DONE]\n\n"
          b"data: cut mid-")
EVENTS = [  # as reading it line by line finds them: a blank line ends each, an unfinished one comes last
    [b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n', b"\n"],
    [b": keep-alive comment\n", b"\n"],
    [b'data: {"choices":[{"delta":{"content":"Hi"}}]}\r\n', b"\r\n"],
    [b"event: message\n", b'data: {"a":1}\n', b'data: {"b":2}\n', b"\n"],
    [b"\n"],  # a lone blank line: an empty event, passed on
    [b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n', b"\n"],
    [b"data: [DONE]\n", b"\n"],
    [b"data: cut mid-"],
]


class Reads:
    """A response whose body arrives in the given pieces (each after `delay` seconds, if any)."""

    def __init__(self, pieces: list[bytes], timeout_after: int | None = None) -> None:
        self.pieces = list(pieces)
        self.timeout_after = timeout_after
        self.count = 0

    async def readany(self) -> bytes:
        if self.timeout_after is not None and self.count >= self.timeout_after:
            raise ReadTimeout("no data for 0.05 s (idle timeout)")
        self.count += 1
        await asyncio.sleep(0)
        return self.pieces.pop(0) if self.pieces else b""


async def batches(reads: Reads) -> list[list[list[bytes]]]:
    return [batch async for batch in _event_batches(reads)]  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(40))
async def test_events_are_the_same_however_the_reads_cut_the_stream(seed):
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(STREAM)), rng.randint(1, 30)))
    pieces = [STREAM[a:b] for a, b in zip([0, *cuts], [*cuts, len(STREAM)], strict=True)]
    assert [event for batch in await batches(Reads(pieces)) for event in batch] == EVENTS


async def test_the_events_one_read_completed_come_together_and_nothing_waits_for_more():
    one, two, three = b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"
    got = await batches(Reads([one + two + three[:4], three[4:], b": x\n", b"\n"]))
    assert got == [[[b"data: 1\n", b"\n"], [b"data: 2\n", b"\n"]], [[b"data: 3\n", b"\n"]], [[b": x\n", b"\n"]]]


async def test_an_empty_stream_gives_no_events():
    assert await batches(Reads([])) == []
    assert await batches(Reads([b"\n\n"])) == [[[b"\n"], [b"\n"]]]


async def test_a_body_timeout_is_a_stalled_stream_after_the_events_before_it():
    reads = Reads([b"data: 1\n\n", b"data: 2\n\n"], timeout_after=1)
    got = []
    with pytest.raises(StreamStalled, match="idle timeout"):
        async for batch in _event_batches(reads):  # type: ignore[arg-type]
            got.append(batch)
    assert got == [[[b"data: 1\n", b"\n"]]]


async def test_a_line_too_long_to_hold_makes_the_stream_unreadable(monkeypatch):
    monkeypatch.setattr(streaming, "MAX_LINE_BYTES", 64)
    assert await batches(Reads([b"data: " + b"x" * 60 + b"\n\n"])) == [[[b"data: " + b"x" * 60 + b"\n", b"\n"]]]
    with pytest.raises(StreamUnreadable):
        await batches(Reads([b"data: " + b"x" * 40, b"x" * 40, b"\n\n"]))
