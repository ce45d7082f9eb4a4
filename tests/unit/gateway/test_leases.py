"""The gateway's lease book against an in-memory ledger that grants like the real one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from services.common.budget_refusal import BudgetFigures, refusal
from services.common.errors import BudgetExceeded, DependencyUnavailable
from services.common.money import from_micros
from services.gateway.budgets.leases import LeaseBook, Reservation
from services.gateway.budgets.ledger_client import Grant, LeaseGone


@dataclass
class FakeLedger:
    """Grants min(want, budget - spent - held), refuses below need; `spend` moves held to spent."""

    budget: int | None
    spent: int = 0
    leases: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, int, int]] = field(default_factory=list)
    worsts: list[int | None] = field(default_factory=list)
    down: bool = False
    delay: float = 0.0
    status: bool = True  # a grant carries the budget's status (budget_usd, spent_usd, held_usd), as the ledger's
    during: list[Callable[[], None]] = field(default_factory=list)  # one per grow with a need, while it is asked
    need_only: bool = False  # grant the need and no more (the ledger's share of what is left is tiny)

    @property
    def held(self) -> int:
        return sum(self.leases.values())

    async def grow(self, lease_id: str, run_id: str, need: int, want: int, request_id: str,
                   tenant: str | None = None, worst: int | None = None) -> Grant:
        self.calls.append((lease_id, need, want))
        self.worsts.append(worst)
        await asyncio.sleep(self.delay)
        if self.during and need:
            self.during.pop(0)()
        if self.down:
            raise DependencyUnavailable("ledger down")
        if self.budget is None:
            return Grant(False, 0)
        if want < need:  # the real ledger answers 400, which the client turns into a 503
            raise DependencyUnavailable(f"ledger refused /leases: HTTP 400 want {want} is less than need {need}")
        available = max(self.budget - self.spent - self.held, 0)
        if need > available:
            figures = BudgetFigures("run", run_id, self.budget, self.spent, self.held)
            raise refusal(figures, max(worst or need, need), need)
        granted = need if self.need_only else min(max(want, need), available)
        self.leases[lease_id] = self.leases.get(lease_id, 0) + granted
        return Grant(True, granted, self.figures() if self.status else None, self.leases[lease_id])

    def figures(self) -> dict[str, object]:
        return {"budget_usd": from_micros(self.budget or 0), "spent_usd": from_micros(self.spent),
                "held_usd": from_micros(self.held), "remaining_usd": from_micros((self.budget or 0) - self.spent
                                                                                 - self.held)}

    async def give_back(self, lease_id: str, run_id: str, amount: int) -> Grant:
        if self.down:
            raise DependencyUnavailable("ledger down")
        returned = min(amount, self.leases.get(lease_id, 0))
        self.leases[lease_id] -= returned
        return Grant(True, returned, None, self.leases[lease_id])

    def receipt(self, lease_id: str, cost: int) -> None:
        taken = min(cost, self.leases.get(lease_id, 0))
        self.leases[lease_id] = self.leases.get(lease_id, 0) - taken
        self.spent += cost


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def timed_book(ledger: FakeLedger, ttl_s: float) -> tuple[LeaseBook, Clock]:
    """A book whose clock the test moves, idle after 2 s, leases of 10 worst cases."""
    clock = Clock()
    return LeaseBook(ledger, ttl_s=ttl_s, idle_s=2, chunk_requests=10, monotonic=clock), clock  # type: ignore[arg-type]


def book(ledger: FakeLedger, clock: Clock | None = None, chunk: int = 10) -> LeaseBook:
    return LeaseBook(ledger, ttl_s=600, idle_s=2, chunk_requests=chunk,  # type: ignore[arg-type]
                     monotonic=clock or Clock())


async def test_one_ledger_call_serves_many_requests() -> None:
    ledger = FakeLedger(budget=1_000_000)
    leases = book(ledger, chunk=10)
    for i in range(5):
        r = await leases.reserve("run", 1_000, f"r{i}")
        assert r is not None
        leases.release(r, 400)
    assert len(ledger.calls) == 1 and ledger.calls[0][1:] == (1_000, 10_000)
    lease = leases.lease_of("run")
    assert lease is not None and lease.free == 10_000 - 5 * 400 and lease.in_flight == 0


async def test_a_low_lease_grows_in_the_background_before_it_runs_out() -> None:
    ledger = FakeLedger(budget=1_000_000)
    leases = book(ledger, chunk=10)
    for i in range(6):  # 10 worst cases leased; below half left after the 6th
        await leases.reserve("run", 1_000, f"r{i}")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert [c[1] for c in ledger.calls] == [1_000, 0]  # the second asks for nothing it must have
    assert ledger.leases[next(iter(ledger.leases))] == 20_000


async def test_a_request_that_does_not_fit_the_budget_is_refused() -> None:
    ledger = FakeLedger(budget=2_500)
    leases = book(ledger)
    first = await leases.reserve("run", 1_000, "a")
    second = await leases.reserve("run", 1_000, "b")
    assert first is not None and second is not None
    with pytest.raises(BudgetExceeded):
        await leases.reserve("run", 1_000, "c")
    leases.release(first, 200)  # finished cheaper than its worst case: room again
    assert await leases.reserve("run", 1_000, "d") is not None


async def test_concurrent_requests_never_reserve_more_than_the_budget() -> None:
    ledger = FakeLedger(budget=50_000, delay=0.001)
    leases = book(ledger, chunk=4)
    results = await asyncio.gather(*[leases.reserve("run", 3_000, f"r{i}") for i in range(40)],
                                   return_exceptions=True)
    admitted = [r for r in results if not isinstance(r, BaseException)]
    assert len(admitted) == 50_000 // 3_000  # every worst case that fits, not one more
    assert all(isinstance(r, BudgetExceeded) for r in results if isinstance(r, BaseException))
    assert ledger.held <= ledger.budget


async def test_receipts_and_releases_keep_gateway_and_ledger_in_step() -> None:
    ledger = FakeLedger(budget=100_000)
    clock = Clock()
    leases = book(ledger, clock)
    costs = [700, 0, 1_000, 250]
    for i, cost in enumerate(costs):
        r = await leases.reserve("run", 1_000, f"r{i}")
        assert r is not None
        leases.release(r, cost)
        ledger.receipt(r.lease_id, cost)
    clock.t += 3  # idle: the rest goes back
    await leases.sweep()
    assert leases.lease_of("run") is None
    assert ledger.held == 0 and ledger.spent == sum(costs)


async def test_a_lease_with_requests_in_flight_is_not_given_back() -> None:
    ledger = FakeLedger(budget=100_000)
    clock = Clock()
    leases = book(ledger, clock)
    r = await leases.reserve("run", 1_000, "a")
    clock.t += 10
    await leases.sweep()
    assert leases.lease_of("run") is not None and ledger.held == 10_000
    leases.release(r, 100)
    leases.release(r, 100)  # a second release changes nothing
    lease = leases.lease_of("run")
    assert lease is not None and lease.free == 9_900


async def test_a_lease_is_renewed_before_the_ledger_could_expire_it() -> None:
    ledger = FakeLedger(budget=100_000)
    clock = Clock()
    leases = book(ledger, clock)
    await leases.reserve("run", 1_000, "a")
    clock.t += 301  # past half the 600 s TTL: renew before using the lease again
    await leases.reserve("run", 1_000, "b")
    assert len(ledger.calls) == 2 and ledger.calls[1][1] == 0


async def test_an_unbudgeted_run_needs_no_reservation() -> None:
    leases = book(FakeLedger(budget=None))
    assert await leases.reserve("run", 1_000, "a") is None


async def test_a_ledger_that_cannot_be_reached_fails_closed_once_the_lease_is_spent() -> None:
    ledger = FakeLedger(budget=100_000)
    leases = book(ledger, chunk=2)
    assert await leases.reserve("run", 1_000, "a") is not None
    ledger.down = True
    assert await leases.reserve("run", 1_000, "b") is not None  # what was leased still serves
    await asyncio.sleep(0)
    with pytest.raises(DependencyUnavailable):
        await leases.reserve("run", 1_000, "c")


async def test_a_failed_give_back_is_retried() -> None:
    ledger = FakeLedger(budget=100_000)
    clock = Clock()
    leases = book(ledger, clock)
    r = await leases.reserve("run", 1_000, "a")
    leases.release(r, 0)
    ledger.down = True
    clock.t += 3
    await leases.sweep()
    # out of service (a new request takes a new lease), its free money kept to give back again
    assert ledger.held == 10_000 and leases.lease_of("run") is None and leases.draining == 1
    ledger.down = False
    await leases.sweep()
    await turns()
    assert ledger.held == 0 and leases.draining == 0


async def test_a_raised_budget_is_seen_by_the_next_request() -> None:
    ledger = FakeLedger(budget=500)
    clock = Clock()
    leases = book(ledger, clock)
    with pytest.raises(BudgetExceeded):
        await leases.reserve("run", 1_000, "a")
    calls = len(ledger.calls)
    with pytest.raises(BudgetExceeded):  # at once: refused without asking again
        await leases.reserve("run", 1_000, "b")
    assert len(ledger.calls) == calls
    ledger.budget = 100_000
    clock.t += 1
    assert await leases.reserve("run", 1_000, "c") is not None


async def test_a_refusal_states_the_budget_spent_held_and_the_requests_own_worst_case() -> None:
    ledger = FakeLedger(budget=1_000_000, spent=980_000)
    leases = book(ledger, Clock())
    with pytest.raises(BudgetExceeded) as first:
        await leases.reserve("run", 50_000, "a")
    assert ledger.worsts == [50_000]  # the ledger is told the worst case, not only the shortfall
    assert first.value.message == ("run run's budget is $1.00; $0.98 is spent and $0.00 held for requests in"
                                   " flight; this request could cost up to $0.05")
    with pytest.raises(BudgetExceeded) as again:  # answered from memory: in its own words
        await leases.reserve("run", 70_000, "b")
    assert len(ledger.calls) == 1
    assert again.value.message.endswith("this request could cost up to $0.07")
    assert again.value.extra["worst_case_usd"] == Decimal("0.07")
    assert again.value.extra["budget_usd"] == Decimal("1")


async def test_after_a_provider_over_bills_the_next_request_asks_for_its_shortfall_and_gets_a_402_not_a_503() -> None:
    ledger = FakeLedger(budget=300)
    leases = book(ledger, chunk=1)
    first = await leases.reserve("run:r", 100, "req-1")
    assert first is not None
    leases.release(first, 400)  # the provider billed four times the worst case
    ledger.receipt(first.lease_id, 400)
    with pytest.raises(BudgetExceeded):  # no room left: a plain refusal, not lease arithmetic
        await leases.reserve("run:r", 100, "req-2")
    assert all(want >= need for _, need, want in ledger.calls)


async def test_after_an_over_bill_with_room_left_the_next_request_is_served() -> None:
    ledger = FakeLedger(budget=10_000)
    leases = book(ledger, chunk=1)
    first = await leases.reserve("run:r", 100, "req-1")
    assert first is not None
    leases.release(first, 400)
    second = await leases.reserve("run:r", 100, "req-2")
    _, need, want = ledger.calls[-1]
    assert second is not None and want == need > 100  # the shortfall, beyond this request's own 100


async def test_a_changed_cap_revokes_the_lease_and_the_next_request_asks_the_ledger_again() -> None:
    ledger = FakeLedger(budget=10_000)
    leases = book(ledger, chunk=10)
    held = await leases.reserve("run:r", 100, "req-1")
    assert held is not None and ledger.held == 1000
    leases.revoke({"run:r"})
    await asyncio.sleep(0)  # the give-back runs
    await asyncio.sleep(0)
    assert ledger.held == 100  # the free 900 went back; the reservation in flight stays held
    ledger.budget = 150  # the lowered cap
    with pytest.raises(BudgetExceeded):  # 150 - 100 held leaves no room for another 100
        await leases.reserve("run:r", 100, "req-2")
    leases.release(held, 100)
    ledger.receipt(held.lease_id, 100)
    assert leases.revoked == 1


async def test_a_lease_in_use_is_renewed_by_the_sweeper_before_its_ttl() -> None:
    ledger = FakeLedger(budget=10_000)
    leases, clock = timed_book(ledger, ttl_s=30)
    held = await leases.reserve("run:r", 100, "req-1")
    assert held is not None
    calls = len(ledger.calls)
    clock.t += 9  # under a third of the TTL: nothing to do
    await leases.sweep()
    assert len(ledger.calls) == calls
    clock.t += 2
    await leases.sweep()
    await asyncio.sleep(0)
    assert ledger.calls[-1][1:] == (0, 0)  # a renewal: nothing more asked


async def _contended(ledger: FakeLedger) -> BudgetExceeded:
    """Three requests in flight, each billed 300 for its reservation of 100; each finishes while the
    next request's grow is at the ledger, so every grant it gets is eaten before it can reserve."""
    leases = book(ledger, chunk=1)
    flying = [await leases.reserve("run:r", 100, f"in-flight-{i}") for i in range(3)]
    ledger.during = [lambda r=r: leases.release(r, 300) for r in flying]
    with pytest.raises(BudgetExceeded) as refused:
        await leases.reserve("run:r", 100, "late")
    assert [need for _, need, _ in ledger.calls[-3:]] == [100, 200, 200]  # its own need, granted three times
    return refused.value


async def test_a_request_that_others_beat_to_the_lease_three_times_states_the_ledgers_figures() -> None:
    ledger = FakeLedger(budget=1_000_000, spent=400_000, need_only=True)
    refused = await _contended(ledger)
    held = ledger.held  # the last grant's figures: nothing has changed at the ledger since
    assert held == 800
    assert refused.message == (
        "run r's budget is $1.00; $0.40 is spent and $0.0008 held for requests in flight; this request could cost"
        " up to $0.0001. The budget had room: the ledger granted this request's need 3 times, and each time other"
        " requests in flight took it first (figures as of the last grant); it fits once they finish")
    assert {k: refused.extra[k] for k in ("budget_usd", "spent_usd", "held_usd", "remaining_usd", "worst_case_usd",
                                          "budget", "run_id")} == {
        "budget_usd": Decimal("1"), "spent_usd": Decimal("0.4"), "held_usd": Decimal("0.0008"),
        "remaining_usd": Decimal("0.5992"), "worst_case_usd": Decimal("0.0001"), "budget": "run:r", "run_id": "r"}


async def test_without_figures_in_the_grants_the_contention_refusal_names_the_budget_and_worst_case() -> None:
    refused = await _contended(FakeLedger(budget=1_000_000, status=False, need_only=True))
    assert refused.message == ("run r's budget has room, but it is held for requests in flight; this request could"
                               " cost up to $0.0001 and does not fit until they finish")
    assert "spent_usd" not in refused.extra and refused.extra["worst_case_usd"] == Decimal("0.0001")


async def test_a_revoked_lease_is_renewed_until_its_receipts_are_booked_then_let_go() -> None:
    """Its hold covers costs whose receipts have not reached the ledger: let lapse at its TTL, the
    ledger would grant that money again under the lowered cap."""
    ledger = FakeLedger(budget=10_000)
    leases, clock = timed_book(ledger, ttl_s=3)
    done = await leases.reserve("run:r", 100, "req-1")
    assert done is not None
    lease_id = done.lease_id
    leases.release(done, 100)  # answered and its receipt written; not shipped yet
    leases.revoke({"run:r"})
    await turns()
    assert ledger.held == 100 and leases.draining == 1  # the free 900 went back; the unbooked 100 stays
    for _ in range(3):  # each third of the TTL, while the receipt has not arrived: a renewal
        clock.t += 1.1
        await leases.sweep()
        await turns()
        assert ledger.calls[-1] == (lease_id, 0, 0) and leases.draining == 1
    calls = len(ledger.calls)
    ledger.receipt(lease_id, 100)  # booked: the lease holds nothing now
    clock.t += 1.1
    await leases.sweep()
    await turns()
    assert len(ledger.calls) == calls + 1 and leases.draining == 0  # told it holds nothing: let go
    clock.t += 5
    await leases.sweep()
    assert len(ledger.calls) == calls + 1


async def test_an_idle_lease_given_back_drains_too_and_a_receipt_that_never_comes_is_given_up_on() -> None:
    ledger = FakeLedger(budget=10_000)
    leases, clock = timed_book(ledger, ttl_s=3)
    done = await leases.reserve("run:r", 100, "req-1")
    assert done is not None
    leases.release(done, 100)
    clock.t += 2.5  # idle: given back, 100 still unbooked
    await leases.sweep()
    assert ledger.held == 100 and leases.active == 0 and leases.draining == 1
    for _ in range(60):  # the receipt never arrives: renewed for DRAIN_TTLS x the TTL, then let lapse
        clock.t += 1.1
        await leases.sweep()
        await turns()
    assert leases.draining == 0
    renewals = [c for c in ledger.calls if c == (done.lease_id, 0, 0)]
    assert 50 <= len(renewals) <= 60  # about 60 s of renewals, a third of the TTL apart


async def test_a_lease_never_granted_anything_does_not_drain() -> None:
    ledger = FakeLedger(budget=10_000, down=True)
    leases = book(ledger)
    with pytest.raises(DependencyUnavailable):
        await leases.reserve("run:r", 100, "req-1")
    leases.revoke({"run:r"})
    assert leases.draining == 0


@dataclass
class LateAnswer(FakeLedger):
    """Grants at once, but its answer to a grow with a need is held until `gate` opens."""

    gate: asyncio.Event | None = None

    async def grow(self, lease_id: str, run_id: str, need: int, want: int, request_id: str,
                   tenant: str | None = None, worst: int | None = None) -> Grant:
        grant = await super().grow(lease_id, run_id, need, want, request_id, tenant, worst)
        if self.gate is not None and need:
            await self.gate.wait()
        return grant


async def test_a_grant_made_before_a_cap_change_and_answered_after_it_admits_nobody() -> None:
    """A request waiting on a grow when the cap is lowered must not take the old cap's grant: it
    asks the ledger again, under the new cap, and that grant goes back."""
    ledger = LateAnswer(budget=100_000)
    leases = book(ledger, chunk=10)
    first = await leases.reserve("run:r", 100, "req-1")
    assert first is not None and ledger.held == 1000
    ledger.gate = asyncio.Event()
    waiting = asyncio.create_task(leases.reserve("run:r", 5000, "req-2"))  # more than the lease's 900
    await turns()
    assert ledger.held > 5000  # granted under the old cap; the answer is on its way
    ledger.budget = ledger.spent + ledger.held  # the lowered cap: nothing left beyond what is held
    leases.revoke({"run:r"})
    ledger.gate.set()
    with pytest.raises(BudgetExceeded):
        await waiting
    await turns()
    assert ledger.held > 5000  # kept while req-1 is in flight on the revoked lease...
    leases.release(first, 100)
    await turns()
    assert ledger.held == 100  # ...then the late grant and the free money go back: req-1's unbooked cost stays


async def turns(n: int = 5) -> None:
    """A few turns of the loop: a renewal task started by the sweep runs to its end."""
    for _ in range(n):
        await asyncio.sleep(0)


@dataclass
class LapsingLedger(FakeLedger):
    """A ledger that can let a lease lapse (its TTL passed unrenewed) and answers a give-back on a
    lapsed lease as the real one does: a 404, which the client turns into an error."""

    gone: set[str] = field(default_factory=set)
    give_back_gate: asyncio.Event | None = None

    def lapse(self, lease_id: str) -> None:
        self.leases.pop(lease_id, None)
        self.gone.add(lease_id)

    async def grow(self, lease_id: str, run_id: str, need: int, want: int, request_id: str,
                   tenant: str | None = None, worst: int | None = None) -> Grant:
        self.gone.discard(lease_id)  # a renewal of a lapsed lease starts a new, empty hold
        return await super().grow(lease_id, run_id, need, want, request_id, tenant, worst)

    async def give_back(self, lease_id: str, run_id: str, amount: int) -> Grant:
        if self.give_back_gate is not None:
            await self.give_back_gate.wait()
        if lease_id in self.gone or lease_id not in self.leases:
            raise LeaseGone(f"no lease {lease_id} (unknown or expired)")
        return await super().give_back(lease_id, run_id, amount)


async def test_a_lease_the_ledger_let_lapse_serves_none_of_its_old_free_money() -> None:
    """Renewing a lapsed lease starts an empty hold: the gateway must not go on spending what the
    ledger no longer holds for it (another gateway may have been granted that money)."""
    ledger = LapsingLedger(budget=10_000)
    leases, clock = timed_book(ledger, ttl_s=3)
    first = await leases.reserve("run:r", 100, "req-1")
    assert first is not None and ledger.held == 1000
    leases.release(first, 100)
    ledger.receipt(first.lease_id, 100)
    ledger.lapse(first.lease_id)  # the renewal came too late: the ledger holds nothing on it
    ledger.spent = 9_950  # and another gateway spent the rest: 50 left, less than a request's 100
    clock.t += 1.6  # past half the TTL: the next request renews before it uses the lease
    with pytest.raises(BudgetExceeded):
        await leases.reserve("run:r", 100, "req-2")
    lease = leases.lease_of("run:r")
    assert lease is not None and ledger.held == 50 and lease.free <= 50  # lends only what is held


async def test_a_lapsed_lease_with_a_request_in_flight_asks_again_for_that_request_too() -> None:
    ledger = LapsingLedger(budget=10_000)
    leases, clock = timed_book(ledger, ttl_s=3)
    flying = await leases.reserve("run:r", 100, "req-1")
    assert flying is not None
    ledger.lapse(flying.lease_id)
    clock.t += 1.6
    second = await leases.reserve("run:r", 100, "req-2")
    assert second is not None
    lease = leases.lease_of("run:r")
    assert lease is not None and lease.reserved == 200
    assert lease.free + lease.reserved <= ledger.held  # both requests are held again, not only the new one


async def one_booked_request() -> tuple[LapsingLedger, LeaseBook, Clock, Reservation]:
    """A lease of 1,000 (TTL 30 s) that served one request of 100, answered and booked."""
    ledger = LapsingLedger(budget=100_000)
    leases, clock = timed_book(ledger, ttl_s=30)
    first = await leases.reserve("run:r", 100, "req-1")
    assert first is not None
    leases.release(first, 100)
    ledger.receipt(first.lease_id, 100)
    return ledger, leases, clock, first


async def test_an_idle_lease_whose_give_back_fails_never_serves_again() -> None:
    """Swept as idle, its free money on the way back, the cap is lowered and the give-back fails:
    the lease is retried as a give-back, never put back in service under the old cap."""
    ledger, leases, clock, first = await one_booked_request()
    ledger.give_back_gate = asyncio.Event()
    clock.t += 2.5
    sweeping = asyncio.create_task(leases.sweep())  # idle: its 900 goes back...
    await turns()
    ledger.budget = ledger.spent + 50  # ...while the cap is lowered to 50 above what is spent
    leases.revoke({"run:r"})
    ledger.down = True  # and the give-back fails
    ledger.give_back_gate.set()
    await sweeping
    ledger.down = False
    with pytest.raises(BudgetExceeded):  # 50 left (the 900 is still held, not lent again) < 100
        await leases.reserve("run:r", 100, "req-2")
    clock.t += 1.1
    await leases.sweep()
    await turns()
    assert ledger.held == 0  # the retried give-back returned the 900
    assert leases.draining == 0 and leases.lease_of("run:r") is not None


async def test_a_give_back_of_a_lapsed_lease_is_not_retried() -> None:
    ledger, leases, clock, first = await one_booked_request()
    ledger.lapse(first.lease_id)
    clock.t += 2.5
    await leases.sweep()
    await turns()
    calls = len(ledger.calls)
    for _ in range(3):
        clock.t += 1.1
        await leases.sweep()
        await turns()
    assert leases.draining == 0 and leases.active == 0 and len(ledger.calls) == calls


async def test_a_lost_grant_still_held_goes_back_once_every_receipt_is_booked() -> None:
    """A grow the ledger granted but whose answer never came (timed out, or the ledger died
    answering and another granted again): the ledger holds more than the gateway lent. Once the
    lease is drained, nothing is in flight and every receipt is booked, the surplus goes back."""
    ledger = FakeLedger(budget=100_000)
    clock = Clock()
    booked = {"all": False}
    leases = LeaseBook(ledger, ttl_s=3, idle_s=2, chunk_requests=10, monotonic=clock,  # type: ignore[arg-type]
                       receipts_booked=lambda: booked["all"])
    first = await leases.reserve("run:r", 100, "req-1")
    assert first is not None
    ledger.leases[first.lease_id] += 5_000  # the lost grant
    leases.release(first, 100)
    clock.t += 2.5
    await leases.sweep()  # idle: its 900 goes back; the 100 whose receipt is on its way stays
    await turns()
    assert ledger.held == 5_100 and leases.draining == 1
    clock.t += 1.1
    await leases.sweep()  # a renewal while the receipt is unbooked: nothing more goes back
    await turns()
    assert ledger.held == 5_100 and leases.draining == 1
    ledger.receipt(first.lease_id, 100)
    booked["all"] = True
    clock.t += 1.1
    await leases.sweep()  # the next renewal finds every receipt booked: the 5,000 goes back
    await turns()
    assert ledger.held == 0
    clock.t += 1.1
    await leases.sweep()
    await turns()
    assert leases.draining == 0
