"""Budget leases: the gateway holds a slice of each budgeted run's budget at the ledger and
reserves every request's worst case against it in memory, so a budgeted request costs no ledger
call of its own.

- A request takes its worst case out of the lease's free money; its receipt gives back the
  difference to the actual cost at once (`release`). The receipt carries the lease id, and the
  ledger moves its cost from the lease (held) to spent when the receipt arrives.
- When free money runs low the lease grows in the background (`chunk_requests` worst cases at a
  time); a request that does not fit waits for one grow with `need` = its shortfall, and gets a
  402 only when the ledger cannot grant even that: the budget has no room left for it.
- A lease lives `ttl_s` at the ledger (tens of seconds) unless renewed: the sweeper renews every
  lease in use at a third of it (a heartbeat), so a dead gateway's money comes back within one
  TTL. Leases idle for `idle_s` are given back.
- The cap holds across gateways: the ledger never grants beyond budget - spent - held, and grants
  at most a share of what is left, so several gateways share a small budget.
- A budget whose cap changes (the ledger's snapshot says so) has its lease revoked at once: the
  free money goes back and the next request must be granted under the new cap.
- A lease given back (idle, or revoked) still holds, at the ledger, the cost of its requests whose
  receipts have not arrived there yet (they ship a moment later, or much later when the ledger
  was away). Left to its TTL, that hold would lapse before those receipts are booked, and the
  ledger would grant the same money again: the cap overshot by what was unshipped. So a given-back
  lease drains: the sweeper keeps renewing it until the ledger says it holds nothing (its receipts
  booked), or for at most DRAIN_TTLS of its TTL. A dead gateway renews nothing: its money comes
  back within one TTL, as before.
- What the gateway lends from a lease (free money and reservations in flight) never exceeds what
  the ledger says the lease holds: every grant and renewal answers with the lease's amount, and
  free money above it is cut. It is above only when the lease lapsed at the ledger (a renewal came
  after its TTL, and the ledger started an empty hold): the money it held may have been granted
  to another gateway since, so it is not lent again, and requests in flight are asked for anew.
- A grant whose answer was lost (a timed-out call, or a ledger that died answering while another
  granted again) leaves the ledger holding more than the gateway lent. A drained lease renewed
  while nothing is in flight on it and every receipt written has been booked holds no cost on the
  way: whatever it still holds goes back, rather than waiting out the drain.
- A give-back that fails is retried from the drain (the lease never serves again; a new request
  takes a new lease under the budget's current cap); one the ledger answers with "no such lease"
  (it lapsed) is dropped: the ledger holds nothing on it.
- A provider that bills more than the reservation leaves the lease's free money negative: the
  next request asks the ledger for the shortfall with its own need, and is refused (402) when the
  budget has no room for it — overshoot stops at the requests already in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from services.common import budget_refusal
from services.common.budget_refusal import BudgetFigures, whose
from services.common.errors import BudgetExceeded, TollwayError
from services.common.money import dollars, from_micros
from services.common.tasks import BackgroundLoop, cancel_and_wait
from services.gateway.budgets.ledger_client import Grant, LeaseGone, LedgerBudgetClient, budget_names

log = structlog.get_logger("tollway.gateway.leases")

REFUSAL_MEMORY_S = 0.05  # how long a refusal answers for the ledger (a budget may be raised)
DRAIN_TTLS = 20  # a given-back lease is renewed until its receipts are booked, at most this many TTLs
ROUNDS = 3  # grows a request asks for itself before it gives up under heavy contention


@dataclass(slots=True)
class RunLease:
    budget: str  # 'run:<id>', 'key:<key_id>', 'provider:<name>', 'global:all'...
    lease_id: str
    tenant: str | None = None  # whose requests it serves (a run's budget belongs to one tenant)
    free: int = 0  # micros leased and not reserved by any request
    in_flight: int = 0  # requests holding a reservation
    reserved: int = 0  # micros those reservations hold
    renewed_at: float = float("-inf")  # monotonic start of the last successful grant
    last_used: float = 0.0
    growing: asyncio.Task[None] | None = field(default=None, repr=False)
    # (when, free, need, error) of the last refused grow: for a moment, while free is unchanged, a
    # need at least as large is refused without asking the ledger again (no herd of doomed calls)
    refused: tuple[float, int, int, BudgetExceeded] | None = field(default=None, repr=False)
    revoked: bool = False  # its budget's cap changed: reservations still in flight release into it
    # the budget's status in the ledger's last grant (budget_usd, spent_usd, held_usd): what a
    # refusal under contention states, without asking the ledger again
    status: dict[str, object] | None = field(default=None, repr=False)
    drained_since: float | None = None  # given back at this moment: renewed while its receipts ship
    returning: bool = False  # a give-back of its free money is on its way to the ledger


@dataclass(slots=True)
class Reservation:
    lease: RunLease
    micros: int
    done: bool = False

    @property
    def lease_id(self) -> str:
        return self.lease.lease_id


class LeaseBook:
    def __init__(self, client: LedgerBudgetClient, *, ttl_s: float, idle_s: float, chunk_requests: int,
                 monotonic: Callable[[], float] = time.monotonic,
                 receipts_booked: Callable[[], bool] = lambda: False) -> None:
        self.client = client
        self.receipts_booked = receipts_booked  # whether every receipt written has been booked by the ledger
        self.ttl_s = ttl_s
        self.idle_s = idle_s
        self.chunk_requests = max(chunk_requests, 1)
        self.monotonic = monotonic
        self.instance = "gw" + secrets.token_hex(4)
        self._seq = itertools.count(1)
        self._leases: dict[str, RunLease] = {}
        self._draining: dict[str, RunLease] = {}  # lease id -> a given-back lease still holding unbooked costs
        self._sweeper = BackgroundLoop("lease-sweeper", self.sweep, lambda: max(self.idle_s / 2, 0.05),
                                       failed_event="lease_sweep_failed", logger=log, wait_first=True)
        self.grows = 0  # ledger calls made to grow or renew (for /health and the bench)
        self.revoked = 0  # leases revoked because their budget's cap changed
        self._returns: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self._sweeper.start()

    async def close(self) -> None:
        await self._sweeper.stop()
        for lease in list(self._leases.values()):
            await cancel_and_wait(lease.growing)
        await self.sweep(everything=True)

    def lease_of(self, budget: str) -> RunLease | None:
        return self._leases.get(budget)

    @property
    def active(self) -> int:
        return len(self._leases)

    @property
    def draining(self) -> int:
        """Leases given back whose holds the ledger still keeps for receipts not booked yet."""
        return len(self._draining)

    @property
    def in_flight(self) -> int:
        """Reservations not yet released, over every lease."""
        return sum(lease.in_flight for lease in self._leases.values())

    # -- the hot path ---------------------------------------------------------------------------
    async def reserve(self, budget: str, amount: int, request_id: str, tenant: str | None = None) -> Reservation | None:
        """Take `amount` micros for one request from the lease on `budget` ('run:<id>', 'team:<team>'...);
        None when the ledger says there is no such budget. A run's leases are per `tenant`: the
        ledger refuses (403) a tenant other than the one the run's budget belongs to."""
        name = f"{budget}|{tenant}" if tenant is not None and budget.startswith("run:") else budget
        lease = self._lease(name, budget, tenant)
        chunk = amount * self.chunk_requests
        own_grows = 0
        while True:
            if lease.revoked:  # its cap changed while this request waited on it: the budget's new lease
                lease = self._lease(name, budget, tenant)
            now = self.monotonic()
            lease.last_used = now
            if lease.free >= amount and now - lease.renewed_at < self.ttl_s / 2:
                lease.free -= amount
                lease.in_flight += 1
                lease.reserved += amount
                if lease.free < chunk // 2 and lease.growing is None:
                    self._start_grow(lease, 0, chunk, request_id)
                return Reservation(lease, amount)
            if lease.growing is not None:  # another request is already asking: wait for it
                with contextlib.suppress(TollwayError, Unbudgeted):
                    await asyncio.shield(lease.growing)
                continue
            shortfall = max(amount - lease.free, 0)
            refused = lease.refused
            if (refused is not None and now - refused[0] < REFUSAL_MEMORY_S and refused[1] == lease.free
                    and shortfall >= refused[2]):
                raise _again(refused[3], budget, amount, shortfall)  # nothing changed since a smaller need
            if own_grows == ROUNDS:
                raise _contention(lease, budget, amount)
            own_grows += 1
            try:
                # want is never below need: after an over-billed answer free is negative, and the
                # shortfall is more than this request's own worst case
                await asyncio.shield(self._start_grow(lease, shortfall, max(chunk, amount, shortfall), request_id,
                                                      amount))
            except Unbudgeted:
                return None
            except BudgetExceeded as exc:
                lease.refused = (self.monotonic(), lease.free, shortfall, exc)
                raise

    def _lease(self, name: str, budget: str, tenant: str | None) -> RunLease:
        lease = self._leases.get(name)
        if lease is None:
            lease = self._leases[name] = RunLease(budget, f"{self.instance}.{next(self._seq)}", tenant)
        return lease

    def release(self, reservation: Reservation | None, actual: int) -> None:
        """The request is over and cost `actual` micros: the rest of its reservation is free again."""
        if reservation is None or reservation.done:
            return
        reservation.done = True
        lease = reservation.lease
        lease.in_flight -= 1
        lease.reserved -= reservation.micros
        lease.free += reservation.micros - actual
        if actual > reservation.micros:
            log.warning("cost_above_reservation", budget=lease.budget, reserved=str(from_micros(reservation.micros)),
                        cost=str(from_micros(actual)))
        if lease.revoked and lease.in_flight == 0 and lease.free > 0:  # the last one out gives it back
            self._return_now(lease)

    # -- growing ----------------------------------------------------------------------------------
    def _start_grow(self, lease: RunLease, need: int, want: int, request_id: str,
                    worst: int | None = None) -> asyncio.Task[None]:
        task = asyncio.create_task(self._grow(lease, need, want, request_id, worst))
        lease.growing = task
        if need == 0:  # a background top-up: nobody awaits its failure but the log
            task.add_done_callback(_log_failure)
        return task

    async def _grow(self, lease: RunLease, need: int, want: int, request_id: str, worst: int | None) -> None:
        started = self.monotonic()
        # a drained lease with nothing in flight, asked while every receipt written had been booked:
        # nothing the ledger still holds on it is a cost on the way
        quiet = lease.drained_since is not None and lease.in_flight == 0 and self.receipts_booked()
        try:
            self.grows += 1
            grant = await self.client.grow(lease.lease_id, lease.budget, need, want, request_id, lease.tenant,
                                           **({"worst": worst} if worst is not None else {}))
            if not grant.budgeted:
                self._draining.pop(lease.lease_id, None)  # no budget: nothing held to keep alive
                raise Unbudgeted(lease.budget)
            lease.free += grant.micros
            lease.renewed_at = started  # the ledger restarted its TTL after we asked
            self._hold_to(lease, grant)
            if grant.budget is not None:
                lease.status = grant.budget
            if lease.revoked and lease.in_flight == 0:  # granted under the old cap, answered after the
                self._return_now(lease)  # change: nobody may use it, and nobody in flight will return it
            if lease.drained_since is not None and grant.lease_micros == 0 and lease.in_flight == 0:
                self._draining.pop(lease.lease_id, None)  # given back and every cost on it booked: let go
            elif quiet and grant.lease_micros is not None and grant.lease_micros > max(lease.free, 0):
                # it holds more than this gateway lent from it: a grant whose answer was lost (the
                # call timed out, or the ledger died answering and another granted again) goes back
                log.warning("lease_surplus_returned", budget=lease.budget, lease_id=lease.lease_id,
                            surplus=str(from_micros(grant.lease_micros - max(lease.free, 0))))
                lease.free = grant.lease_micros
                self._return_now(lease)
        finally:
            lease.growing = None

    # -- giving back ------------------------------------------------------------------------------
    async def sweep(self, *, everything: bool = False) -> None:
        """Give back the free money of leases idle for `idle_s` (all of them with `everything`);
        renew the others at the ledger once a third of the TTL has passed (the heartbeat), and the
        given-back ones until the ledger holds nothing on them."""
        now = self.monotonic()
        await self._renew_draining(now, everything)
        for name, lease in list(self._leases.items()):
            idle = lease.in_flight == 0 and lease.growing is None and now - lease.last_used >= self.idle_s
            if not (idle or everything):
                if (lease.growing is None and lease.renewed_at != float("-inf")
                        and now - lease.renewed_at >= self.ttl_s / 3):
                    self._start_grow(lease, 0, 0, lease.lease_id)  # renew only: nothing more asked
                continue
            del self._leases[name]  # out of service: a new request takes a new lease
            self._drain(lease, now)
            await self._give_back(lease)  # what is free (none if the ledger never granted it anything)
        if everything:
            self._draining.clear()

    def revoke(self, budgets: set[str]) -> None:
        """These budgets' caps changed: their leases give their free money back now, and the next
        request on them is granted by the ledger under the new cap (none rides on the old lease)."""
        for name in [n for n, lease in self._leases.items() if lease.budget in budgets]:
            lease = self._leases.pop(name)
            self.revoked += 1
            lease.revoked = True
            self._drain(lease, self.monotonic())
            self._return_now(lease)

    # -- draining: given-back leases kept alive until their receipts are booked -------------------
    def _drain(self, lease: RunLease, now: float) -> None:
        if lease.renewed_at != float("-inf"):  # the ledger granted it something: it may hold costs
            lease.drained_since = now
            self._draining[lease.lease_id] = lease

    async def _renew_draining(self, now: float, everything: bool) -> None:
        for lease_id, lease in list(self._draining.items()):
            drained_since = lease.drained_since if lease.drained_since is not None else now
            if everything:  # shutting down: what is free goes back, the rest lapses at the ledger
                await self._give_back(lease)
            elif now - drained_since >= DRAIN_TTLS * self.ttl_s:
                del self._draining[lease_id]  # its receipts are long overdue: let it lapse
            elif lease.free > 0 and lease.growing is None and not lease.returning:
                self._return_now(lease)  # an earlier give-back failed: again
            elif lease.growing is None and now - lease.renewed_at >= self.ttl_s / 3:
                self._start_grow(lease, 0, 0, lease.lease_id)  # a renewal, as for a lease in use

    def _return_now(self, lease: RunLease) -> None:
        if lease.free > 0 and not lease.returning:
            task = asyncio.create_task(self._give_back(lease))
            self._returns.add(task)
            task.add_done_callback(self._returns.discard)

    async def _give_back(self, lease: RunLease) -> None:
        """Give the lease's free money back (the lease is out of service). A failure leaves it on the
        lease for the drain to try again; a lease the ledger no longer holds is let go."""
        amount = max(lease.free, 0)
        if amount == 0 or lease.returning:
            return
        lease.free -= amount
        lease.returning = True
        try:
            returned = await self.client.give_back(lease.lease_id, lease.budget, amount)
        except LeaseGone:  # it lapsed at the ledger: nothing of it is held, nothing to give back
            self._draining.pop(lease.lease_id, None)
            log.warning("lease_lapsed", budget=lease.budget, lease_id=lease.lease_id)
        except TollwayError as exc:  # still held at the ledger until its TTL: the drain tries again
            lease.free += amount
            log.warning("lease_return_failed", budget=lease.budget, lease_id=lease.lease_id, error=exc.message)
        else:
            if returned.lease_micros == 0 and lease.in_flight == 0:
                self._draining.pop(lease.lease_id, None)  # every cost on it booked: nothing left to keep alive
        finally:
            lease.returning = False

    def _hold_to(self, lease: RunLease, grant: Grant) -> None:
        """Lend no more than the ledger holds: free money beyond the lease's amount there (it lapsed
        and was started again empty) is cut, so reservations in flight are asked for anew."""
        if grant.lease_micros is None:
            return
        room = grant.lease_micros - lease.reserved
        if lease.free > room:
            log.warning("lease_lapsed", budget=lease.budget, lease_id=lease.lease_id,
                        lent=str(from_micros(lease.free + lease.reserved)), held=str(from_micros(grant.lease_micros)))
            lease.free = room


def _again(refused: BudgetExceeded, budget: str, worst: int, shortfall: int) -> BudgetExceeded:
    """The ledger's refusal of a moment ago, in this request's words: its own worst case."""
    scope, _, scope_id = budget.partition(":")
    figures = BudgetFigures.of_error(scope, scope_id, refused.extra)
    if figures is None:
        return refused
    return budget_refusal.refusal(figures, worst, shortfall, extra=budget_names(budget))


def _contention(lease: RunLease, budget: str, worst: int) -> BudgetExceeded:
    """The ledger granted this request's grows, but other requests in flight took the money
    first every time: the 402 states the budget as the ledger's last grant left it."""
    scope, _, scope_id = budget.partition(":")
    figures = BudgetFigures.of_error(scope, scope_id, lease.status) if lease.status else None
    if figures is None:  # a ledger that sends no status with its grants
        return BudgetExceeded(f"{whose(scope, scope_id)} has room, but it is held for requests in flight; this"
                              f" request could cost up to {dollars(worst)} and does not fit until they finish",
                              extra={**budget_names(budget), "worst_case_usd": from_micros(worst)})
    return budget_refusal.contention(figures, worst, ROUNDS, extra=budget_names(budget))


class Unbudgeted(Exception):
    """The ledger has no budget for this run (the gateway's snapshot was behind): no lease."""


def _log_failure(task: asyncio.Task[None]) -> None:
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None and not isinstance(exc, Unbudgeted):
        log.warning("lease_grow_failed", error=getattr(exc, "message", repr(exc)))
