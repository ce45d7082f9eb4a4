"""Who may serve one request over a prepared catalog, and why the others may not, the way
`partition` says it (catalog order, each with the first reason `why_not` finds), without a pass
over every provider per request.

The request's own requirements (the models that may serve it, the model asked, the features,
a pinned provider, the step of context windows that holds it) pick a pool, kept by the catalog
with the reasons of who it leaves out; who the caller excludes or the context marks unavailable
is then taken out of it (a View), and their reasons, which come first in `why_not`, merged in.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Iterable

from services.common.selection.candidate import Job
from services.common.selection.catalog import MAX_POOLS, Catalog, Entry
from services.common.selection.eligibility import too_small, unfit
from services.common.selection.pool import Pool
from services.common.selection.view import View

Exclusions = list[tuple[str, str]]
FEW_REMOVED = 8  # taken out of a pool per request; more, and a pool without them is kept


def _needed(job: Job) -> int:
    return max(job.request.requirements.context_window, job.input_tokens + job.output_tokens)


def _pool(catalog: Catalog, job: Job, models: frozenset[str] | None) -> tuple[Hashable, Pool]:
    req = job.request.requirements
    key = (models, req.model, job.features, req.provider, catalog.window_step(_needed(job)))
    return key, _kept(catalog, key, lambda: (e for e in catalog.entries
                                             if e.provider.active and unfit(e, job, models) is None))


def _left_out(catalog: Catalog, pool: Pool, job: Job,
              models: frozenset[str] | None) -> tuple[list[int], list[str], list[str | None]]:
    """Who the pool leaves out: catalog places, names and reasons (None: too small a context
    window, whose words name the tokens needed: the same for every request of the pool)."""
    places = [e.pos for e in catalog.entries if e.pos not in pool.where]
    needed = _needed(job)
    names, reasons = [], []
    for p in places:
        e = catalog.entries[p]
        why = "inactive" if not e.provider.active else unfit(e, job, models) or "not eligible"
        names.append(e.provider.name)
        reasons.append(None if why == too_small(e.provider.context_window, needed) else why)
    return places, names, reasons


def _outside(catalog: Catalog, pool: Pool, job: Job, models: frozenset[str] | None) -> tuple[list[int], Exclusions]:
    places, names, reasons = pool.kept("left out", lambda: _left_out(catalog, pool, job, models))
    if None not in reasons:
        return places, pool.kept("exclusions", lambda: list(zip(names, reasons, strict=True)))
    needed = _needed(job)
    entries = catalog.entries
    return places, [(n, r if r is not None else too_small(entries[p].provider.context_window, needed))
                    for p, n, r in zip(places, names, reasons, strict=True)]


def eligible(catalog: Catalog, job: Job, models: frozenset[str] | None) -> tuple[View, Exclusions]:
    """The request's view of the catalog and the exclusions, in catalog order."""
    key, pool = _pool(catalog, job, models)
    places, excluded = _outside(catalog, pool, job, models)
    exclude, unavailable = job.request.exclude, job.ctx.unavailable
    if not exclude and not unavailable:
        return View(pool), list(excluded)
    places, excluded = list(places), list(excluded)
    removed: set[int] = set()
    for name in exclude | unavailable.keys():
        for pos in catalog.positions.get(name, ()):
            if not catalog.entries[pos].provider.active:
                continue  # "inactive" comes first
            why = (name, "excluded by the caller" if name in exclude else unavailable[name])
            i = bisect_left(places, pos)
            if i < len(places) and places[i] == pos:
                excluded[i] = why
            else:
                places.insert(i, pos)
                excluded.insert(i, why)
            if pos in pool.where:
                removed.add(pos)
    gone = frozenset(removed)
    if len(gone) <= FEW_REMOVED:
        return View(pool, gone), excluded
    # many (the same ones each time, as the router's unhealthy are): a pool without them, kept
    return View(_kept(catalog, (key, gone), lambda: (e for e in pool.entries if e.pos not in gone))), excluded


def _kept(catalog: Catalog, key: Hashable, entries: Callable[[], Iterable[Entry]]) -> Pool:
    pool = catalog.pools.get(key)
    if pool is None:
        if len(catalog.pools) >= MAX_POOLS:
            catalog.pools.clear()
        pool = catalog.pools[key] = Pool(catalog, entries())
    return pool
