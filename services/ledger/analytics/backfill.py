"""Series backfill: add the receipts booked before the series tables existed to the series, as
their ingest would have (migration 0010_series_backfill.sql lists them; each store's
`backfill_series` takes a batch, adds it through the ingest's own series method and strikes it
off the list in one transaction, so no receipt is ever counted twice — run it again, run two at
once, let ingest go on meanwhile). Run by `tollway db backfill-series` and by the ledger at start
(TOLLWAY_SERIES_BACKFILL_BATCH)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from services.common import jsonio
from services.common.errors import TollwayError
from services.common.stored_rows import UnreadableRow, report
from services.common.tasks import cancel_and_wait
from services.ledger.receipts.parse import Receipt, parse_receipt

if TYPE_CHECKING:
    from services.ledger.store.base import LedgerStore

log = structlog.get_logger("tollway.ledger.backfill")
MAX_BATCH = 5_000


@dataclass(frozen=True)
class BackfillStep:
    """One batch: receipts added to the series, receipts left out (unreadable, or pruned since
    they were listed), and whether any are still to do."""

    added: int
    skipped: int
    more: bool


@dataclass
class BackfillTotals:
    added: int = 0
    skipped: int = 0
    remaining: int = 0  # of those listed at the start, less those this run did (others may do some too)
    batches: int = 0


def stored_receipts(rows: Iterable[tuple[str, int, str]]) -> tuple[list[Receipt], int]:
    """Receipts from stored (request_id, ts_us, body) rows, as ingest parsed them; a body that does
    not parse (written by hand, or by a release older than its fields) is reported and counted."""
    out, unreadable = [], 0
    for request_id, ts_us, body in rows:
        try:
            out.append(parse_receipt(jsonio.loads_exact(body), now_us=int(ts_us)))
        except (TollwayError, KeyError, TypeError, ValueError) as exc:
            report(UnreadableRow("receipts", request_id, f"body: {type(exc).__name__}"))
            unreadable += 1
    return out, unreadable


async def backfill_series(store: LedgerStore, batch: int,
                          progress: Callable[[BackfillStep, BackfillTotals], None] | None = None,
                          pause_s: float = 0.0) -> BackfillTotals:
    """Batches of `batch` until none is left, `pause_s` between them; `progress` is told after each
    batch that did something. A batch that found nothing free while some remain (another ledger
    holds them, on PostgreSQL) waits a little and asks again."""
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch must be 1 ... {MAX_BATCH}, not {batch}")
    listed = await store.series_backfill_pending()  # counted once: a count a batch would cost O(left)
    totals = BackfillTotals(remaining=listed)
    while True:
        step = await store.backfill_series(batch)
        totals.added += step.added
        totals.skipped += step.skipped
        totals.remaining = max(0, listed - totals.added - totals.skipped) if step.more else 0
        if step.added or step.skipped:
            totals.batches += 1
            if progress is not None:
                progress(step, totals)
        if not step.more:
            return totals
        await asyncio.sleep(pause_s if step.added or step.skipped else max(pause_s, 0.05))


class Backfiller:
    """The ledger's own run at start, in the background: batches of `batch` (0: never), a pause of
    `pause_s` between them so that the request path has the database most of the time; `then`
    (the retention pruner's start) once it is over, so that receipts older than the raw-receipt
    retention reach the longer-kept series before they are pruned."""

    def __init__(self, store: LedgerStore, batch: int, pause_s: float = 0.05):
        self.store, self.batch, self.pause_s = store, batch, pause_s
        self._task: asyncio.Task[None] | None = None

    def start(self, then: Callable[[], None] = lambda: None) -> None:
        if self.batch > 0:
            self._task = asyncio.create_task(self._run(then), name="ledger-series-backfill")
        else:
            then()

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _run(self, then: Callable[[], None]) -> None:
        def logged(step: BackfillStep, totals: BackfillTotals) -> None:
            log.info("series_backfill_progress", added=totals.added, skipped=totals.skipped, remaining=totals.remaining)

        try:
            totals = await backfill_series(self.store, self.batch, logged, self.pause_s)
        except Exception as exc:  # a failed batch wrote nothing; the next start goes on from there
            log.warning("series_backfill_failed", error=f"{type(exc).__name__}: {exc}")
        else:
            if totals.batches:
                log.info("series_backfill_done", added=totals.added, skipped=totals.skipped)
        then()
