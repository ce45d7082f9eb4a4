"""A pool: the entries of one catalog that pass one set of request filters, in the catalog's
tie-break order, with what the strategies ask of them prepared on first use and kept: the
shortlists of who can be cheapest (shortlist.py), groups by latency or context window, the
entries by name, the part above the success-rate floor, sub-pools by region or by model.

Pools belong to their catalog, so all of it is thrown away with the snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from decimal import Decimal
from operator import attrgetter
from typing import Any

from services.common.selection.catalog import Catalog, Entry
from services.common.selection.observed import below_floor
from services.common.selection.shortlist import Key, layers

MAX_DEPTH = 16  # past this many layers a shortlist is the whole pool

# a shortlist's measures, and which of them decide by themselves (see shortlist.py)
KINDS: dict[str, tuple[Callable[[Entry, bool], Key], tuple[int, ...]]] = {
    # prices (exact integers when every price is a whole number of units, else the Decimals)
    "cost": (lambda e, whole: (e.in_units, e.out_units) if whole
             else (e.provider.input_per_token, e.provider.output_per_token), (0, 1)),
    "dearest": (lambda e, whole: (-e.in_units, -e.out_units) if whole  # type: ignore[operator]
                else (-e.provider.input_per_token, -e.provider.output_per_token), (0, 1)),
    # a lower latency never worsens a balanced score, but need not improve it either
    "balanced": (lambda e, whole: (e.latency_key, e.in_units, e.out_units) if whole
                 else (e.latency_key, e.provider.input_per_token, e.provider.output_per_token), (1, 2)),
}
GROUPS: dict[str, Callable[[Entry], Any]] = {
    "latency": attrgetter("latency_key"),
    "window": attrgetter("provider.context_window"),
}


class Pool:
    def __init__(self, catalog: Catalog, entries: Iterable[Entry]) -> None:
        self.catalog = catalog
        self.entries = list(entries)
        self.where = frozenset(e.pos for e in self.entries)
        self._memo: dict[Hashable, Any] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def kept(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """`build()`, once per `key` for the life of the pool."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = build()
            return value

    def sub(self, key: Hashable, keep: Callable[[Entry], bool]) -> Pool:
        """The part of this pool that `keep` keeps (named by `key`, kept)."""
        return self.kept(("sub", key), lambda: Pool(self.catalog, (e for e in self.entries if keep(e))))

    def shortlist(self, kind: str, depth: int) -> list[Entry]:
        """A superset of the first `depth` of this pool in any order `kind`'s dominance respects."""
        if depth >= len(self.entries) or depth > MAX_DEPTH:
            return self.entries
        return self.kept((kind, depth), lambda: self._layers(kind, depth))

    def _layers(self, kind: str, depth: int) -> list[Entry]:
        measure, strict = KINDS[kind]
        whole = self.catalog.exact_prices
        keys = [measure(e, whole) for e in self.entries]
        return [self.entries[i] for i in layers(keys, strict if whole else (), depth)]

    def groups(self, kind: str) -> list[tuple[Any, Pool]]:
        """The pool split by one measure (latency, context window), lowest first."""
        return self.kept(("groups", kind), lambda: self._groups(GROUPS[kind]))

    def _groups(self, measure: Callable[[Entry], Any]) -> list[tuple[Any, Pool]]:
        split: dict[Any, list[Entry]] = {}
        for e in self.entries:
            split.setdefault(measure(e), []).append(e)
        return [(value, Pool(self.catalog, split[value])) for value in sorted(split)]

    def by_name(self) -> list[Entry]:
        return self.kept("by_name", lambda: sorted(self.entries, key=attrgetter("provider.name")))

    def healthy(self) -> Pool:
        """Who is not under the success-rate floor."""
        observed = self.catalog.observed
        return self.sub("healthy", lambda e: not below_floor(e.latency, observed))

    def below_floor(self) -> Pool:
        """Who is under the success-rate floor."""
        observed = self.catalog.observed
        return self.sub("below floor", lambda e: below_floor(e.latency, observed))

    def in_region(self, region: str | None) -> tuple[Pool, Pool]:
        """(those in `region`, the others)."""
        return (self.sub(("region", region), lambda e: e.provider.region == region),
                self.sub(("not region", region), lambda e: e.provider.region != region))

    def of_models(self, models: frozenset[str]) -> Pool:
        return self.sub(("models", models), lambda e: e.provider.model in models)

    def model_prices(self) -> dict[str, list[tuple[Decimal, int]]]:
        """Each model's (price per input plus output token, catalog place), cheapest first."""
        return self.kept("model_prices", self._model_prices)

    def _model_prices(self) -> dict[str, list[tuple[Decimal, int]]]:
        prices: dict[str, list[tuple[Decimal, int]]] = {}
        for e in self.entries:
            p = e.provider
            prices.setdefault(p.model, []).append((p.input_per_token + p.output_per_token, e.pos))
        for listed in prices.values():
            listed.sort()
        return prices
