"""Stored rows a service cannot read back (written by an older release, or by hand): a listing
leaves such a row out and logs it once, by its id, never its values; reading that one row alone
is an `UnreadableRow` error. Every other row is still served. Used by the ledger's and the
router's stores."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import structlog

from services.common.errors import TollwayError

log = structlog.get_logger("tollway.store")

T = TypeVar("T")
R = TypeVar("R")
_REPORTED: set[tuple[str, str]] = set()
_REPORTED_MAX = 10_000  # past this many distinct rows, each is logged every time it is skipped


class UnreadableRow(TollwayError):
    """One stored row cannot be read back; `why` names the column, never its value."""

    status = 500
    type = "unreadable_row"

    def __init__(self, table: str, row_id: str, why: str, *, service: str = "ledger") -> None:
        super().__init__(f"{table} row {row_id[:128]!r} is stored in a form this {service} cannot read"
                         f" ({why}); every other row is served; see the {service}'s log")
        self.table, self.row_id, self.why = table, row_id[:128], why


def report(row: UnreadableRow) -> None:
    """Log an unreadable row, once per row in this process."""
    seen = (row.table, row.row_id)
    if seen in _REPORTED:
        return
    if len(_REPORTED) < _REPORTED_MAX:
        _REPORTED.add(seen)
    log.error("stored_row_unreadable", table=row.table, row_id=row.row_id, why=row.why)


def readable(items: Iterable[T], read: Callable[[T], R]) -> list[R]:
    """`read` of every item, leaving out (and reporting) those it finds unreadable."""
    out: list[R] = []
    for item in items:
        try:
            out.append(read(item))
        except UnreadableRow as exc:
            report(exc)
    return out
