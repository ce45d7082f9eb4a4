"""What one request may choose from over a prepared catalog: a pool (pool.py) minus the few
providers the caller excluded or the context marks unavailable. The strategies' fast paths ask
it for short lists that surely hold the first few of their order; taking `gone` providers out of
a pool deepens a shortlist by as many layers, so it still holds them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.common.selection.catalog import Entry
from services.common.selection.pool import Pool


@dataclass(frozen=True, slots=True)
class View:
    pool: Pool
    removed: frozenset[int] = frozenset()  # catalog places taken out of the pool

    def gone(self, pool: Pool) -> int:
        return sum(1 for p in self.removed if p in pool.where) if self.removed else 0

    def __len__(self) -> int:
        return len(self.pool) - self.gone(self.pool)

    def of(self, pool: Pool) -> View:
        """A part of this view's pool, with the same providers taken out."""
        return View(pool, self.removed)

    def _left(self, entries: list[Entry]) -> list[Entry]:
        removed = self.removed
        return [e for e in entries if e.pos not in removed] if removed else entries

    def entries(self) -> list[Entry]:
        """Everyone left, in tie-break order."""
        return self._left(self.pool.entries)

    def first(self, n: int) -> list[Entry]:
        """The first `n` left in tie-break order."""
        return self._left(self.pool.entries[:n + self.gone(self.pool)])[:n]

    def by_name(self) -> list[Entry]:
        return self._left(self.pool.by_name())

    def cheapest(self, want: int, kind: str = "cost") -> list[Entry]:
        """A superset of the `want` first left by `kind`'s order (shortlist.py), in tie-break order."""
        return self._left(self.pool.shortlist(kind, want + self.gone(self.pool)))

    def across(self, groups: Iterable[Pool], want: int,
               pick: Callable[[View, int], list[Entry]] | None = None) -> list[Entry]:
        """A superset of the `want` first left by group (in the order given), then cost (or the
        order `pick` gives a superset of the first few of, within a group), then tie-break order."""
        found: list[Entry] = []
        for group in groups:
            part = self.of(group)
            left = len(part)
            if left:
                found += pick(part, want) if pick else part.cheapest(want)
                want -= left
                if want <= 0:
                    break
        return found

    def leading(self, kind: str, want: int) -> list[Entry]:
        """A superset of the `want` first left by the pool's `kind` groups, then cost, then tie-break."""
        return self.across((group for _, group in self.pool.groups(kind)), want)

    def latency_range(self) -> list[float]:
        """The lowest and the highest known latency left, or nothing when none is known."""
        groups = self.pool.groups("latency")
        known = (v for v, group in groups if v != math.inf and len(self.of(group)))
        lowest = next(known, None)
        if lowest is None:
            return []
        return [lowest, next(v for v, group in reversed(groups) if v != math.inf and len(self.of(group)))]

    def names(self) -> list[str]:
        """The names of everyone left, in tie-break order."""
        names = self.pool.kept("names", lambda: [e.provider.name for e in self.pool.entries])
        return [e.provider.name for e in self.entries()] if self.gone(self.pool) else names
