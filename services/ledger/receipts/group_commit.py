"""Group commit for receipt ingest: batches that arrive while one ingest transaction runs are
written together in the next one (one transaction, one commit), then each caller gets its own
batch's answer.

A transaction's fixed costs (the commit's fsync, a dozen statements, the hot rollup rows locked
until commit) are paid once per group instead of once per batch. Nothing is acknowledged before
its group commits; a group that fails fails every batch in it (each caller retries, idempotently).
Order and idempotency are the store's: the group is the batches concatenated in arrival order,
so a receipt sent in two batches of one group is new in the first and a duplicate in the second.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from services.ledger.receipts.parse import Receipt
from services.ledger.store.base import IngestResult

Write = Callable[[Sequence[Receipt], int], Awaitable[IngestResult]]


class GroupCommit:
    def __init__(self, write: Write, max_receipts: int):
        self._write = write
        self._max = max_receipts
        self._waiting: list[tuple[Sequence[Receipt], int, asyncio.Future[IngestResult]]] = []
        self._draining = False
        self._task: asyncio.Future[None] | None = None

    async def ingest(self, batch: Sequence[Receipt], now_us: int) -> IngestResult:
        future: asyncio.Future[IngestResult] = asyncio.get_running_loop().create_future()
        self._waiting.append((batch, now_us, future))
        if not self._draining:
            self._draining = True
            self._task = asyncio.ensure_future(self._drain())
        return await asyncio.shield(future)  # a caller gone away does not cancel the others' write

    async def _drain(self) -> None:
        try:
            while self._waiting:
                group = self._take()
                try:
                    result = await self._write([r for batch, _, _ in group for r in batch],
                                               max(now for _, now, _ in group))
                except BaseException as exc:  # noqa: BLE001 - handed to every caller of the group
                    for _, _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, _, future), share in zip(group, split(result, [b for b, _, _ in group]), strict=True):
                    if not future.done():
                        future.set_result(share)
        finally:
            self._draining = False

    def _take(self) -> list[tuple[Sequence[Receipt], int, asyncio.Future[IngestResult]]]:
        """The waiting batches up to max_receipts in all (always at least one batch)."""
        n, size = 0, 0
        while n < len(self._waiting) and (n == 0 or size + len(self._waiting[n][0]) <= self._max):
            size += len(self._waiting[n][0])
            n += 1
        group, self._waiting = self._waiting[:n], self._waiting[n:]
        return group


def split(result: IngestResult, batches: Sequence[Sequence[Receipt]]) -> list[IngestResult]:
    """Each batch's share of a group's result: the receipts it made new (by identity: the store
    returns the very objects it accepted), the rest its duplicates; the group's threshold events go
    to its first batch, so each is announced once."""
    fresh = Counter(id(r) for r in result.new)
    out = []
    for i, batch in enumerate(batches):
        new = []
        for r in batch:
            if fresh[id(r)] > 0:
                fresh[id(r)] -= 1
                new.append(r)
        out.append(IngestResult(accepted=len(new), duplicates=len(batch) - len(new),
                                events=list(result.events) if i == 0 else [], new=new))
    return out
