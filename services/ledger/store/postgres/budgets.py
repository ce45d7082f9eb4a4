"""Budgets, spend, holds, leases and run owners on PostgreSQL.

Every grant (a hold placed, a lease grown) first locks its budget's row (`SELECT ... FOR UPDATE`)
and only then reads what is spent and held, in READ COMMITTED: each statement after the lock sees
every grant committed before it, so grants on one budget from any number of ledgers take turns
and never add up past the cap."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from services.common.stored_rows import readable
from services.ledger.budgets.config import BudgetTerms
from services.ledger.budgets.events import costs_by_period, raised
from services.ledger.budgets.holds import Hold, HoldOutcome, fits
from services.ledger.budgets.leases import LeaseOutcome, grant
from services.ledger.budgets.model import RUN, BudgetKey, BudgetState, Burn, ThresholdEvent
from services.ledger.budgets.periods import Window, bucket_of, windows_back
from services.ledger.budgets.runway import DAY_US, HOUR_US, since
from services.ledger.store.sqlite.budgets import _cap, _id, _micros, event_of, terms_of_row, thresholds_text

Conn = Any  # an asyncpg connection inside a transaction
WHERE = "WHERE scope = $1 AND scope_id = $2"


# -- budget rows -----------------------------------------------------------------------------------

async def lock(conn: Conn, key: BudgetKey) -> bool:
    """Lock the budget's row until the transaction ends; whether there is one."""
    return await conn.fetchval(f"SELECT true FROM budgets {WHERE} FOR UPDATE", key.scope, key.scope_id) is not None


async def row(conn: Conn, key: BudgetKey) -> tuple[int, BudgetTerms] | None:
    found = await conn.fetchrow(f"SELECT budget_micros, period, tz, thresholds FROM budgets {WHERE}",
                                key.scope, key.scope_id)
    return None if found is None else budget_of(key, *found)


def budget_of(key: BudgetKey, budget_micros: object, period: object, tz: object,
              thresholds: object) -> tuple[int, BudgetTerms]:
    """A stored budget's (budget_micros, period, tz, thresholds), read (or UnreadableRow)."""
    return _micros(key, budget_micros, "budget_micros", least=0), terms_of_row(key, period, tz, thresholds)


async def put(conn: Conn, key: BudgetKey, budget_micros: int, terms: BudgetTerms, now_us: int) -> None:
    await conn.execute(
        "INSERT INTO budgets (scope, scope_id, budget_micros, created_us, updated_us, period, tz, thresholds)"
        " VALUES ($1, $2, $3, $4, $4, $5, $6, $7) ON CONFLICT (scope, scope_id) DO UPDATE SET"
        " budget_micros = excluded.budget_micros, updated_us = excluded.updated_us, period = excluded.period,"
        " tz = excluded.tz, thresholds = excluded.thresholds",
        key.scope, key.scope_id, budget_micros, now_us, terms.period, terms.tz, thresholds_text(terms))


async def remove(conn: Conn, key: BudgetKey) -> bool:
    gone = await conn.execute(f"DELETE FROM budgets {WHERE}", key.scope, key.scope_id)
    await conn.execute(f"DELETE FROM budget_events {WHERE}", key.scope, key.scope_id)
    await conn.execute(f"DELETE FROM holds {WHERE}", key.scope, key.scope_id)
    return bool(gone == "DELETE 1")


async def all_ids(conn: Conn) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key in readable(await conn.fetch("SELECT scope, scope_id FROM budgets ORDER BY scope, scope_id"), _id):
        out.setdefault(key.scope, []).append(key.scope_id)
    return out


async def caps(conn: Conn) -> dict[str, int]:
    return dict(readable(await conn.fetch("SELECT scope, scope_id, budget_micros FROM budgets"), _cap))


async def ids(conn: Conn, scope: str) -> list[str]:
    rows = await conn.fetch("SELECT scope, scope_id FROM budgets WHERE scope = $1 ORDER BY scope_id", scope)
    return [key.scope_id for key in readable(rows, _id)]


async def events(conn: Conn, key: BudgetKey, terms: BudgetTerms, period_start_us: int) -> tuple[ThresholdEvent, ...]:
    rows = await conn.fetch("SELECT threshold, at_us, spent_micros, budget_micros, period_start_us FROM budget_events"
                            f" {WHERE} AND period_start_us = $3 ORDER BY threshold", key.scope, key.scope_id,
                            period_start_us)
    return tuple(event_of(key, row, terms) for row in rows)


async def bucket_total(conn: Conn, key: BudgetKey, start_us: int, end_us: int) -> int:
    """What `key` spent in [start_us, end_us) (bucket starts)."""
    value = await conn.fetchval(f"SELECT COALESCE(SUM(spent_micros), 0)::bigint FROM spend_buckets {WHERE}"
                                " AND bucket_us >= $3 AND bucket_us < $4", key.scope, key.scope_id, start_us, end_us)
    return int(value)


async def burn(conn: Conn, key: BudgetKey, now_us: int) -> Burn:
    hour, day = since(now_us, HOUR_US), since(now_us, DAY_US)
    end = bucket_of(now_us) + 1
    return Burn(await bucket_total(conn, key, hour, end), hour, await bucket_total(conn, key, day, end), day, now_us)


async def record_crossings(conn: Conn, key: BudgetKey, spent_before: int, items: Sequence[tuple[int, int]],
                           now_us: int) -> list[ThresholdEvent]:
    """`crossings` of one budget, read here (none: nothing)."""
    found = await row(conn, key)
    return [] if found is None else await crossings(conn, {key: (*found, spent_before, items)}, now_us)


Crossing = tuple[int, BudgetTerms, int, Sequence[tuple[int, int]]]  # budget, terms, one-off spend before, items

EVENTS = ("SELECT e.scope, e.scope_id, e.threshold, e.at_us, e.spent_micros, e.budget_micros, e.period_start_us"
          " FROM budget_events e JOIN unnest($1::text[], $2::text[], $3::bigint[]) AS k(scope, scope_id, start)"
          " ON e.scope = k.scope AND e.scope_id = k.scope_id AND e.period_start_us = k.start")
TOTALS = ("SELECT k.i, COALESCE((SELECT SUM(b.spent_micros) FROM spend_buckets b WHERE b.scope = k.scope"
          " AND b.scope_id = k.scope_id AND b.bucket_us >= k.first AND b.bucket_us < k.until), 0)::bigint"
          " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) WITH ORDINALITY AS k(scope, scope_id,"
          " first, until, i)")


async def crossings(conn: Conn, budgets: dict[BudgetKey, Crossing], now_us: int) -> list[ThresholdEvent]:
    """Record the thresholds reached in each period of each budget as its items ((timestamp,
    cost), already in the buckets) join its spend before them (a one-off budget's total; a periodic
    one's from its buckets); each once per period, whichever ledger reaches it first (a row
    another ledger recorded meanwhile is not raised again). Budgets in key order; three statements
    at most, however many budgets."""
    periods = [(key, start, costs) for key in sorted(budgets, key=lambda k: (k.scope, k.scope_id))
               for start, costs in costs_by_period(budgets[key][1], budgets[key][3], now_us).items()]
    if not periods:
        return []
    windows = [(key, window) for key, start, _ in periods
               if (window := budgets[key][1].window(start)) is not None]
    totals = dict(await conn.fetch(TOTALS, [k.scope for k, _ in windows], [k.scope_id for k, _ in windows],
                                   [w.start_us for _, w in windows], [w.end_us for _, w in windows])) if windows else {}
    already: dict[tuple[BudgetKey, int], list[int]] = {}
    for r in await conn.fetch(EVENTS, [k.scope for k, _, _ in periods], [k.scope_id for k, _, _ in periods],
                              [start for _, start, _ in periods]):
        key = BudgetKey(r[0], r[1])
        event = event_of(key, tuple(r)[2:], budgets[key][1])
        already.setdefault((key, event.period_start_us), []).append(event.threshold)
    raised_now: list[ThresholdEvent] = []
    n = 0  # the periods with a window, counted from 1 as WITH ORDINALITY does
    for key, start, costs in periods:
        budget, terms, spent_before, _ = budgets[key]
        if terms.periodic:
            n += 1
            before = int(totals.get(n, 0)) - sum(costs)
        else:
            before = spent_before
        raised_now += raised(key, budget, terms, start, before, costs, already.get((key, start), []), now_us)
    if not raised_now:
        return []
    fresh = await conn.fetch(
        "INSERT INTO budget_events (scope, scope_id, threshold, at_us, spent_micros, budget_micros, period_start_us)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::bigint[], $6::bigint[],"
        " $7::bigint[]) ON CONFLICT DO NOTHING RETURNING scope, scope_id, threshold, period_start_us",
        [e.key.scope for e in raised_now], [e.key.scope_id for e in raised_now], [e.threshold for e in raised_now],
        [e.at_us for e in raised_now], [e.spent_micros for e in raised_now], [e.budget_micros for e in raised_now],
        [e.period_start_us for e in raised_now])
    kept = {tuple(r) for r in fresh}
    return [e for e in raised_now if (e.key.scope, e.key.scope_id, e.threshold, e.period_start_us) in kept]


async def state(conn: Conn, key: BudgetKey, now_us: int, *, with_burn: bool = False) -> BudgetState | None:
    found = await row(conn, key)
    if found is None:
        return None
    budget, terms = found
    window = terms.window(now_us)
    # spent and held in ONE statement: an ingest committing between two reads would move a
    # receipt's cost from held to spent unseen by both, and a grant would see room that is not there
    spent_sql = ("(SELECT COALESCE(SUM(spent_micros), 0)::bigint FROM spend_buckets WHERE scope = $1"
                 " AND scope_id = $2 AND bucket_us >= $4 AND bucket_us < $5)" if window is not None else
                 "COALESCE((SELECT spent_micros FROM spend WHERE scope = $1 AND scope_id = $2), 0)")
    bounds = (window.start_us, window.end_us) if window is not None else ()
    spent, held = await conn.fetchrow(
        f"SELECT {spent_sql}, (SELECT COALESCE(SUM(amount_micros), 0)::bigint FROM holds WHERE scope = $1"
        " AND scope_id = $2 AND expires_us > $3)", key.scope, key.scope_id, now_us, *bounds)
    return BudgetState(key=key, budget_micros=budget, spent_micros=_micros(key, spent, "spend"),
                       held_micros=_micros(key, held, "holds"),
                       events=await events(conn, key, terms, window.start_us if window else 0), terms=terms,
                       window=window, burn=await burn(conn, key, now_us) if with_burn else None)


async def history(conn: Conn, key: BudgetKey, now_us: int,
                  count: int) -> list[tuple[Window, int, tuple[ThresholdEvent, ...]]] | None:
    """As the SQLite store's `history`."""
    found = await row(conn, key)
    if found is None:
        return None
    _, terms = found
    if not terms.periodic:
        return [(Window(0, now_us), await spent_total(conn, key), await events(conn, key, terms, 0))]
    return [(w, await bucket_total(conn, key, w.start_us, w.end_us), await events(conn, key, terms, w.start_us))
            for w in windows_back(terms.period, terms.zone, now_us, count)]


async def version(conn: Conn, name: str = "budget_version") -> int:
    return int(await conn.fetchval("SELECT value FROM meta WHERE key = $1", name))


async def bump_version(conn: Conn, name: str = "budget_version") -> int:
    return int(await conn.fetchval("UPDATE meta SET value = value + 1 WHERE key = $1 RETURNING value", name))


# -- spend -----------------------------------------------------------------------------------------

async def spent_total(conn: Conn, key: BudgetKey) -> int:
    value = await conn.fetchval(f"SELECT spent_micros FROM spend {WHERE}", key.scope, key.scope_id)
    return int(value) if value is not None else 0


# -- holds and leases ------------------------------------------------------------------------------

async def get_hold(conn: Conn, hold_id: str, now_us: int, *, for_update: bool = False) -> Hold | None:
    row = await conn.fetchrow("SELECT scope, scope_id, amount_micros, expires_us FROM holds"
                              f" WHERE hold_id = $1 AND expires_us > $2{' FOR UPDATE' if for_update else ''}",
                              hold_id, now_us)
    if row is None:
        return None
    scope, scope_id, held, expires = row
    return Hold(hold_id, BudgetKey(scope, scope_id), int(held), int(expires))


async def insert_hold(conn: Conn, hold: Hold, now_us: int) -> None:
    """A new hold (an expired one under the same id is dropped first)."""
    await conn.execute("DELETE FROM holds WHERE hold_id = $1 AND expires_us <= $2", hold.hold_id, now_us)
    await conn.execute("INSERT INTO holds (hold_id, scope, scope_id, amount_micros, created_us, expires_us)"
                       " VALUES ($1, $2, $3, $4, $5, $6)", hold.hold_id, hold.key.scope, hold.key.scope_id,
                       hold.amount_micros, now_us, hold.expires_us)


async def release(conn: Conn, hold_ids: list[str], now_us: int) -> int:
    """Remove these holds; how many of them had not expired."""
    rows = await conn.fetch("DELETE FROM holds WHERE hold_id = ANY($1::text[]) RETURNING expires_us > $2",
                            sorted(set(hold_ids)), now_us)
    return sum(1 for (live,) in rows if live)


async def place_hold(conn: Conn, hold_id: str, key: BudgetKey, amount_micros: int, now_us: int,
                     ttl_us: int) -> HoldOutcome:
    budgeted = await lock(conn, key)
    existing = await get_hold(conn, hold_id, now_us)
    if existing is not None:
        same = existing.key == key and existing.amount_micros == amount_micros
        return HoldOutcome("existing" if same else "conflict", existing, await state(conn, existing.key, now_us))
    current = await state(conn, key, now_us) if budgeted else None
    if current is None:
        return HoldOutcome("unbudgeted")
    if await conn.fetchval("SELECT true FROM receipts WHERE request_id = $1", hold_id):
        return HoldOutcome("settled", state=current)
    if not fits(current.budget_micros, current.spent_micros, current.held_micros, amount_micros):
        return HoldOutcome("refused", state=current)
    hold = Hold(hold_id, key, amount_micros, now_us + ttl_us)
    await insert_hold(conn, hold, now_us)
    return HoldOutcome("held", hold, await state(conn, key, now_us))


async def grow_lease(conn: Conn, lease_id: str, key: BudgetKey, need_micros: int, want_micros: int, now_us: int,
                     ttl_us: int, share: float, tenant: str | None) -> LeaseOutcome:
    budgeted = await lock(conn, key)
    existing = await get_hold(conn, lease_id, now_us, for_update=True)
    if existing is not None and existing.key != key:
        return LeaseOutcome("conflict", lease_micros=existing.amount_micros)
    current = await state(conn, key, now_us) if budgeted else None
    if current is None:
        return LeaseOutcome("unbudgeted")
    if key.scope == RUN and tenant is not None and await claim_run(conn, key.scope_id, tenant, now_us) != tenant:
        return LeaseOutcome("foreign")
    granted = grant(current, need_micros, want_micros, share)
    if granted is None:
        return LeaseOutcome("refused", state=current, lease_micros=existing.amount_micros if existing else 0)
    expires = now_us + ttl_us
    if existing is None:
        await insert_hold(conn, Hold(lease_id, key, granted, expires), now_us)
    else:
        await conn.execute("UPDATE holds SET amount_micros = amount_micros + $1, expires_us = $2 WHERE hold_id = $3",
                           granted, expires, lease_id)
    total = granted + (existing.amount_micros if existing else 0)
    # the state after it, without reading it again under the lock: only this grant moved (held by
    # `granted`; an existing lease was unexpired, so it was in `current` already)
    return LeaseOutcome("granted", granted, total, expires, replace(current, held_micros=current.held_micros + granted))


async def return_lease(conn: Conn, lease_id: str, amount_micros: int, now_us: int) -> LeaseOutcome | None:
    existing = await get_hold(conn, lease_id, now_us, for_update=True)
    if existing is None:
        return None
    returned = min(amount_micros, existing.amount_micros)
    await conn.execute("UPDATE holds SET amount_micros = amount_micros - $1 WHERE hold_id = $2", returned, lease_id)
    return LeaseOutcome("granted", -returned, existing.amount_micros - returned, existing.expires_us,
                        await state(conn, existing.key, now_us))


# -- run owners ------------------------------------------------------------------------------------

async def claim_run(conn: Conn, run_id: str, tenant: str, now_us: int) -> str:
    await conn.execute("INSERT INTO run_owners (run_id, tenant, claimed_us) VALUES ($1, $2, $3)"
                       " ON CONFLICT (run_id) DO NOTHING", run_id, tenant, now_us)
    return await run_owner(conn, run_id) or tenant


async def run_owner(conn: Conn, run_id: str) -> str | None:
    value = await conn.fetchval("SELECT tenant FROM run_owners WHERE run_id = $1", run_id)
    return None if value is None else str(value)


async def hold_figures(conn: Conn, now_us: int) -> tuple[int, int]:
    """Unexpired holds and leases, and the money they hold (for /metrics)."""
    row = await conn.fetchrow("SELECT COUNT(*), COALESCE(SUM(amount_micros), 0) FROM holds WHERE expires_us > $1",
                              now_us)
    return int(row[0]), int(row[1])
