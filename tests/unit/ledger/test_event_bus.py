"""The ledger's event bus and its SSE framing: ids, the ring, gaps, tenants, heartbeats."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from services.ledger.events import sse
from services.ledger.events.bus import EventBus, Gap


def test_ids_follow_the_start_id_one_by_one() -> None:
    bus = EventBus(8, start_id=1000)
    ids = [bus.publish("receipt", {"n": n}, "org:a").id for n in range(3)]
    assert ids == [1001, 1002, 1003] and bus.latest_id == 1003 and bus.published == 3
    assert orjson.loads(bus.after(1001)[0].data) == {"n": 1}  # type: ignore[index]


def test_without_a_start_id_ids_begin_at_the_wall_clock_so_they_grow_across_restarts() -> None:
    first = EventBus()
    first.publish("receipt", {})
    assert EventBus().start_id >= first.latest_id - 1
    assert first.start_id > 1_700_000_000_000_000  # microseconds since the epoch


def test_after_gives_what_follows_and_nothing_when_current() -> None:
    bus = EventBus(8, start_id=0)
    assert bus.after(0) == []
    for n in range(5):
        bus.publish("receipt", {"n": n})
    assert [e.id for e in bus.after(2)] == [3, 4, 5]  # type: ignore[union-attr]
    assert [e.id for e in bus.after(0)] == [1, 2, 3, 4, 5]  # type: ignore[union-attr]
    assert bus.after(5) == []


@pytest.mark.parametrize("last", [3, -1, 99])  # fell off the ring; not an id of ours; ahead of us
def test_an_id_the_ring_cannot_follow_is_a_gap(last: int) -> None:
    bus = EventBus(4, start_id=0)
    for n in range(10):
        bus.publish("receipt", {"n": n})
    assert [e.id for e in bus.after(6)] == [7, 8, 9, 10]  # type: ignore[union-attr]
    assert bus.after(last) == Gap(last, oldest=7, latest=10)


def test_an_old_id_on_an_empty_bus_is_a_gap() -> None:
    bus = EventBus(4, start_id=500)
    assert bus.after(123) == Gap(123, oldest=None, latest=500)


def test_a_ring_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        EventBus(0)


def test_frames_are_sse_and_split_payload_lines() -> None:
    assert sse.frame(7, "receipt", b'{"a":1}') == b'id: 7\nevent: receipt\ndata: {"a":1}\n\n'
    assert sse.frame(8, "alert", b'{\n"a": 1}') == b'id: 8\nevent: alert\ndata: {\ndata: "a": 1}\n\n'


@pytest.mark.parametrize(("value", "parsed"), [(None, None), ("", None), (" 42 ", 42), ("nope", -1)])
def test_last_event_id_parsing(value: str | None, parsed: int | None) -> None:
    assert sse.parse_last_event_id(value) == parsed


def parse(chunks: list[bytes]) -> list[dict[str, str]]:
    """The frames of an SSE byte stream, each as its fields (comments as `comment`)."""
    frames = []
    for block in b"".join(chunks).decode().split("\n\n"):
        if not block:
            continue
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            key = name or "comment"
            fields[key] = fields[key] + "\n" + value.strip() if key in fields else value.strip()
        frames.append(fields)
    return frames


async def take(stream: object, n: int) -> list[bytes]:
    chunks = []
    async for chunk in stream:  # type: ignore[attr-defined]
        chunks.append(chunk)
        if len(chunks) == n:
            break
    await stream.aclose()  # type: ignore[attr-defined]
    return chunks


async def test_a_stream_resumes_after_its_last_id_and_filters_tenant_and_kind() -> None:
    bus = EventBus(16, start_id=0)
    bus.publish("receipt", {"n": 1}, "org:a")
    bus.publish("receipt", {"n": 2}, "org:b")
    bus.publish("budget_threshold", {"n": 3}, "org:a")
    bus.publish("alert", {"n": 4}, None)  # nobody's: only unscoped readers see it
    everything = parse(await take(sse.stream(bus, tenant=None, kinds=None, last_id=1, heartbeat_s=60), 2))
    assert everything[0]["retry"] == "2000"
    assert [f["id"] for f in everything[1:]] == ["2", "3", "4"]
    tenant_a = parse(await take(sse.stream(bus, tenant="org:a", kinds=None, last_id=0, heartbeat_s=60), 2))
    assert [(f["id"], f["event"]) for f in tenant_a[1:]] == [("1", "receipt"), ("3", "budget_threshold")]
    receipts = parse(await take(sse.stream(bus, tenant=None, kinds={"receipt"}, last_id=0, heartbeat_s=60), 2))
    assert [orjson.loads(f["data"]) for f in receipts[1:]] == [{"n": 1}, {"n": 2}]


async def test_without_a_last_id_a_stream_starts_live() -> None:
    bus = EventBus(16, start_id=0)
    bus.publish("receipt", {"old": True})
    stream = sse.stream(bus, tenant=None, kinds=None, last_id=None, heartbeat_s=60)
    assert await stream.__anext__() == sse.OPENING
    waiting = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    bus.publish("receipt", {"new": True})
    frames = parse([await waiting])
    await stream.aclose()
    assert frames == [{"id": "2", "event": "receipt", "data": '{"new":true}'}]


async def test_a_gap_is_one_reset_then_live_events() -> None:
    bus = EventBus(2, start_id=0)
    for n in range(5):
        bus.publish("receipt", {"n": n})
    stream = sse.stream(bus, tenant=None, kinds=None, last_id=1, heartbeat_s=60)
    await stream.__anext__()
    reset = parse([await stream.__anext__()])[0]
    assert reset["event"] == "reset" and reset["id"] == "5"
    assert orjson.loads(reset["data"]) == {"reason": "unknown_last_event_id", "last_event_id": 1,
                                           "oldest_event_id": 4, "latest_event_id": 5}
    bus.publish("receipt", {"n": 5})
    assert parse([await stream.__anext__()])[0]["id"] == "6"
    await stream.aclose()


async def test_a_quiet_stream_heartbeats_with_the_id_it_has_been_past() -> None:
    bus = EventBus(16, start_id=0)
    bus.publish("receipt", {}, "org:other")  # not this reader's: skipped, but the cursor moves past it
    stream = sse.stream(bus, tenant="org:mine", kinds=None, last_id=0, heartbeat_s=0)
    await stream.__anext__()
    beat = parse([await stream.__anext__()])[0]
    await stream.aclose()
    assert beat == {"comment": "heartbeat", "id": "1"}


async def test_a_closing_bus_ends_its_streams() -> None:
    bus = EventBus(16, start_id=0)
    stream = sse.stream(bus, tenant=None, kinds=None, last_id=None, heartbeat_s=60)
    await stream.__anext__()
    waiting = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    bus.signal.closing = True
    bus.signal.bump()
    with pytest.raises(StopAsyncIteration):
        await waiting
