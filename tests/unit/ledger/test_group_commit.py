"""Group commit: batches arriving while a write runs share the next write; each caller gets its
own batch's answer; a failed group fails each of its callers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.ledger.receipts.group_commit import GroupCommit
from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import IngestResult


def receipt(request_id: str) -> Receipt:
    return Receipt(request_id=request_id, run_id="r", ts_us=1, provider="p", input_tokens=1, output_tokens=1,
                   cost_micros=1, body=b"{}")


class Book:
    """A store's ingest in memory: idempotent by request_id; the first write waits to be released."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.writes: list[list[str]] = []
        self.gate = asyncio.Event()
        self.fail: Exception | None = None

    async def write(self, batch: Sequence[Receipt], now_us: int) -> IngestResult:
        self.writes.append([r.request_id for r in batch])
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        new = []
        for r in batch:
            if r.request_id not in self.seen:
                self.seen.add(r.request_id)
                new.append(r)
        return IngestResult(accepted=len(new), duplicates=len(batch) - len(new), new=new)


async def test_batches_queued_behind_a_write_share_the_next_one() -> None:
    book = Book()
    group = GroupCommit(book.write, max_receipts=100)
    first = asyncio.create_task(group.ingest([receipt("a")], 1))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(group.ingest(b, 2)) for b in
              ([receipt("b"), receipt("a")], [receipt("c"), receipt("b")], [receipt("d")])]
    await asyncio.sleep(0)
    book.gate.set()
    results = [await first] + [await t for t in queued]
    assert book.writes == [["a"], ["b", "a", "c", "b", "d"]]  # one write for the three queued batches
    assert [(r.accepted, r.duplicates) for r in results] == [(1, 0), (1, 1), (1, 1), (1, 0)]
    assert [[x.request_id for x in r.new] for r in results] == [["a"], ["b"], ["c"], ["d"]]


async def test_a_group_holds_at_most_max_receipts_but_always_one_batch() -> None:
    book = Book()
    group = GroupCommit(book.write, max_receipts=3)
    first = asyncio.create_task(group.ingest([receipt("x")], 1))
    await asyncio.sleep(0)
    queued = [asyncio.create_task(group.ingest([receipt(f"{i}a"), receipt(f"{i}b")], 1)) for i in range(3)]
    big = asyncio.create_task(group.ingest([receipt(f"big{i}") for i in range(5)], 1))
    await asyncio.sleep(0)
    book.gate.set()
    await asyncio.gather(first, *queued, big)
    assert [len(w) for w in book.writes] == [1, 2, 2, 2, 5]


async def test_a_failed_group_fails_each_caller_and_the_next_group_still_runs() -> None:
    book = Book()
    group = GroupCommit(book.write, max_receipts=100)
    book.fail = RuntimeError("database away")
    first = asyncio.create_task(group.ingest([receipt("a")], 1))
    await asyncio.sleep(0)
    book.gate.set()
    with pytest.raises(RuntimeError, match="database away"):
        await first
    book.fail = None
    assert (await group.ingest([receipt("a")], 2)).accepted == 1
