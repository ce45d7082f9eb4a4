"""Budgets hold against a lowered cap, a provider that bills more than the request's bound, two
gateways on a small budget and a gateway that dies holding a lease. Real processes: router,
ledger, simulator and two gateways; leases live 3 s here so that a dead gateway's money comes
back within the test."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import register, wait_until
from tests.e2e.swarm import Swarm, free_port

LEASE_TTL_S = 3.0


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    s = Swarm(tmp_path_factory.mktemp("adversaries"), extra_env={"TOLLWAY_LEASE_TTL_S": str(LEASE_TTL_S)})
    s.ports["gateway2"] = free_port()
    s.start_all()
    s.start("gateway", name="gateway2")
    http = httpx.Client(timeout=10)
    register(http, s, {"name": "adv-sim", "model": "adv-model", "context_window": 16_000,
                       "input_per_mtok": "10", "output_per_mtok": "30", "endpoint": s.url("simulator")})
    # bills 3,000 prompt tokens the request never carried (as prompt-cache writes, at the input price)
    register(http, s, {"name": "liar-sim", "model": "liar-model", "context_window": 16_000,
                       "input_per_mtok": "10", "output_per_mtok": "30",
                       "endpoint": s.url("simulator") + "/sim/cache_write=3000"})
    for gateway in ("gateway", "gateway2"):
        wait_until(lambda g=gateway: {"adv-model", "liar-model"} <= {
            m["id"] for m in httpx.get(s.url(g) + "/v1/models").json()["data"]}, 10, f"{gateway} lists the models")
    yield s
    s.stop_all()


def set_budget(swarm: Swarm, run: str, amount: str) -> None:
    r = httpx.post(swarm.url("ledger") + "/budget", json={"run_id": run, "budget_usd": amount})
    assert r.status_code in (200, 201), r.text


def budget_status(swarm: Swarm, run: str) -> dict[str, Decimal]:
    body = httpx.get(swarm.url("ledger") + f"/budget/{run}").json()
    return {k: Decimal(str(v)) for k, v in body.items() if k.endswith("_usd")}


def knows(swarm: Swarm, gateway: str, run: str) -> None:
    """Until `gateway` has the ledger's current budget snapshot (and so this run's cap)."""
    def caught_up() -> bool:
        snap = httpx.get(swarm.url("ledger") + "/budgets/snapshot").json()
        health = httpx.get(swarm.url(gateway) + "/health").json()
        return run in snap["run_ids"] and health["budgets"]["version"] >= snap["version"]
    wait_until(caught_up, 10, f"{gateway} has the ledger's budget snapshot")


def chat(swarm: Swarm, gateway: str, run: str, model: str = "adv-model") -> httpx.Response:
    return httpx.post(swarm.url(gateway) + "/v1/chat/completions", timeout=10, headers={"X-Tollway-Run": run},
                      json={"model": model, "max_tokens": 20, "messages": [{"role": "user", "content": "hello"}]})


def run_file(swarm: Swarm, run: str) -> list[dict[str, Any]]:
    path = swarm.costs / f"{run}.jsonl"
    return [json.loads(line, parse_float=Decimal) for line in path.read_text().splitlines()] if path.exists() else []


def load(until: Callable[[], bool], send: Callable[[], httpx.Response], clients: int) -> list[httpx.Response]:
    """`clients` threads sending back to back until `until()`; every answer."""
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def worker() -> None:
        while not until():
            resp = send()
            with lock:
                answers.append(resp)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def settled_spend(swarm: Swarm, run: str) -> Decimal:
    """The ledger's spent once every receipt on disk has reached it (== the file's sum)."""
    total = sum((r["cost_usd"] for r in run_file(swarm, run)), Decimal(0))
    wait_until(lambda: budget_status(swarm, run)["spent_usd"] == total, 10,
               f"the ledger's spent for {run} equals its receipts' ${total}")
    return total


def test_a_lowered_cap_stops_spending_at_once(swarm):
    run = "lowered"
    set_budget(swarm, run, "10")
    knows(swarm, "gateway", run)
    stop_at = time.monotonic() + 2.0
    load(lambda: time.monotonic() > stop_at, lambda: chat(swarm, "gateway", run), clients=8)
    spent = budget_status(swarm, run)["spent_usd"]
    new_cap = spent + Decimal("0.002")
    set_budget(swarm, run, str(new_cap))
    knows(swarm, "gateway", run)  # the gateway has seen the lower cap: from here nothing may pass it
    seen_at = len(run_file(swarm, run))
    stop_at = time.monotonic() + 2.0
    answers = load(lambda: time.monotonic() > stop_at, lambda: chat(swarm, "gateway", run), clients=8)
    final = settled_spend(swarm, run)
    after = run_file(swarm, run)[seen_at:]
    biggest = max((r["cost_usd"] for r in run_file(swarm, run)), default=Decimal(0))
    refused = [a for a in answers if a.status_code == 402]
    print(f"lowered cap: new cap ${new_cap}, final ${final}, over by ${max(final - new_cap, 0)}, "
          f"{len(after)} receipts after, {len(refused)} refused, largest request ${biggest}")
    assert refused, "no request was refused after the cap was lowered"
    assert all(f"run {run}'s budget" in a.json()["error"]["message"] for a in refused)
    # what was in flight when the snapshot arrived may finish; nothing admitted after may pass the cap
    assert final <= new_cap + 8 * biggest, (final, new_cap, len(after))


def test_a_provider_that_over_bills_overshoots_by_at_most_the_requests_in_flight(swarm):
    run = "liar"
    cap = Decimal("0.01")
    set_budget(swarm, run, str(cap))
    knows(swarm, "gateway", run)
    threads_done: list[httpx.Response] = []
    clients = 20

    def one() -> None:
        for _ in range(5):
            threads_done.append(chat(swarm, "gateway", run, "liar-model"))

    threads = [threading.Thread(target=one) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    answers = threads_done
    final = settled_spend(swarm, run)
    receipts = run_file(swarm, run)
    worst = max(r["cost_usd"] for r in receipts if r["status"] == "success")
    statuses = {a.status_code for a in answers}
    print(f"over-billing provider: cap ${cap}, final ${final}, largest request ${worst}, "
          f"{sum(a.status_code == 200 for a in answers)} served, {sum(a.status_code == 402 for a in answers)} refused")
    assert statuses <= {200, 402}, statuses  # never a 503 about lease arithmetic
    assert 402 in statuses
    # each success over-billed ~30x its bound; the overshoot stops at the requests in flight
    assert final <= cap + clients * worst, (final, cap, worst)
    refusal = next(a for a in answers if a.status_code == 402).json()["error"]
    assert "'s budget" in refusal["message"] and "this request could cost up to $" in refusal["message"]


def test_two_gateways_share_a_small_budget(swarm):
    run = "shared"
    set_budget(swarm, run, "0.01")
    for gateway in ("gateway", "gateway2"):
        knows(swarm, gateway, run)
    served = {"gateway": 0, "gateway2": 0}
    for _ in range(6):  # taking turns, one request at a time
        for gateway in served:
            if chat(swarm, gateway, run).status_code == 200:
                served[gateway] += 1
    print(f"two gateways on $0.01: served {served}")
    assert served["gateway"] >= 3 and served["gateway2"] >= 3, served  # neither starved while money was left


def test_a_dead_gateways_lease_comes_back_within_its_ttl(swarm):
    run = "orphan"
    set_budget(swarm, run, "0.01")
    knows(swarm, "gateway2", run)
    assert chat(swarm, "gateway2", run).status_code == 200
    held = budget_status(swarm, run)["held_usd"]
    assert held > 0  # gateway2 holds a lease
    swarm.stop("gateway2", signal.SIGKILL)
    seconds = wait_until(lambda: budget_status(swarm, run)["held_usd"] == 0, LEASE_TTL_S + 3,
                         "the dead gateway's lease expires at the ledger")
    print(f"dead gateway: its lease (${held}) back after {seconds:.2f} s (TTL {LEASE_TTL_S} s)")
    assert seconds <= LEASE_TTL_S + 1.5
    knows(swarm, "gateway", run)
    assert chat(swarm, "gateway", run).status_code == 200  # the money serves the living gateway
