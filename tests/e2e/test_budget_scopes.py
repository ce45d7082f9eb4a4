"""Provider, model and global budgets through the real gateway: each stops spending with a 402
while the run's own budget still has room; a provider whose budget is spent is routed around
when another serves the model. Real processes (router, ledger, simulator, gateway)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import register, wait_until
from tests.e2e.swarm import Swarm

PRICES = {"context_window": 4096, "input_per_mtok": "1000", "output_per_mtok": "2000"}


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    s = Swarm(tmp_path_factory.mktemp("budget-scopes"))
    s.start_all()
    http = httpx.Client(timeout=10)
    register(http, s, {"name": "solo-sim", "model": "solo-model", "endpoint": s.url("simulator"), **PRICES})
    register(http, s, {"name": "pair-a", "model": "pair-model", "endpoint": s.url("simulator"), **PRICES})
    register(http, s, {"name": "pair-b", "model": "pair-model", "endpoint": s.url("simulator"),
                       **PRICES, "output_per_mtok": "2100"})  # dearer: pair-a is first by cost
    register(http, s, {"name": "race-sim", "model": "race-model", "endpoint": s.url("simulator"), **PRICES})
    s.wait_for_model("solo-model")
    s.wait_for_model("pair-model")
    s.wait_for_model("race-model")
    yield s
    s.stop_all()


def ledger(swarm: Swarm, method: str, path: str, **kwargs: Any) -> Any:
    resp = httpx.request(method, swarm.url("ledger") + path, timeout=10, **kwargs)
    assert resp.status_code in (200, 201), resp.text
    return json.loads(resp.text, parse_float=Decimal)


def known(swarm: Swarm, budget: str) -> None:
    """Until the gateway has the ledger's snapshot holding `budget` ('provider:solo-sim'...)."""
    scope, _, scope_id = budget.partition(":")

    def caught_up() -> bool:
        snap = httpx.get(swarm.url("ledger") + "/budgets/snapshot").json()
        ids = snap["run_ids"] if scope == "run" else snap["scoped"].get(scope, [])
        health = httpx.get(swarm.url("gateway") + "/health").json()
        return scope_id in ids and health["budgets"]["version"] >= snap["version"]
    wait_until(caught_up, 10, f"the gateway knows {budget}")


def chat(swarm: Swarm, run: str, model: str) -> httpx.Response:
    return httpx.post(swarm.url("gateway") + "/v1/chat/completions", timeout=10, headers={"X-Tollway-Run": run},
                      json={"model": model, "max_tokens": 10, "messages": [{"role": "user", "content": "hello"}]})


def receipts(swarm: Swarm, run: str) -> list[dict[str, Any]]:
    return [json.loads(line, parse_float=Decimal) for line in (swarm.costs / f"{run}.jsonl").read_text().splitlines()]


def until_refused(swarm: Swarm, run: str, model: str, most: int = 60) -> list[httpx.Response]:
    answers = []
    for _ in range(most):
        answers.append(chat(swarm, run, model))
        if answers[-1].status_code != 200:
            break
    return answers


def settled(swarm: Swarm, path: str, total: Decimal) -> dict[str, Any]:
    """The budget at `path` once its spent equals `total` (every receipt shipped)."""
    wait_until(lambda: ledger(swarm, "GET", path)["spent_usd"] == total, 10, f"{path} spent reaches ${total}")
    return ledger(swarm, "GET", path)  # type: ignore[no-any-return]


def test_a_provider_budget_stops_spending_while_the_run_has_room(swarm):
    ledger(swarm, "POST", "/budget", json={"run_id": "prov-run", "budget_usd": "100"})
    ledger(swarm, "POST", "/budget", json={"scope": "provider", "scope_id": "solo-sim", "budget_usd": "0.2"})
    known(swarm, "provider:solo-sim")
    known(swarm, "run:prov-run")
    answers = until_refused(swarm, "prov-run", "solo-model")
    assert [a.status_code for a in answers[:-1]] == [200] * (len(answers) - 1) and len(answers) > 3
    refused = answers[-1]
    assert refused.status_code == 402, refused.text
    assert refused.json()["error"]["type"] == "budget_exceeded" and "provider solo-sim" in refused.json()["error"][
        "message"]
    paid = sum((r["cost_usd"] for r in receipts(swarm, "prov-run")), Decimal(0))
    provider = settled(swarm, "/budgets/provider/solo-sim", paid)
    assert provider["spent_usd"] <= Decimal("0.2")
    run = ledger(swarm, "GET", "/budget/prov-run")
    assert run["spent_usd"] == paid and run["remaining_usd"] > Decimal(90)  # a lease may hold some of it
    assert receipts(swarm, "prov-run")[-1]["status"] == "budget_exceeded"


def test_a_spent_provider_is_routed_around_when_another_serves_the_model(swarm):
    ledger(swarm, "POST", "/budget", json={"scope": "provider", "scope_id": "pair-a", "budget_usd": "0"})
    known(swarm, "provider:pair-a")
    answers = [chat(swarm, "around", "pair-model") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert {r["provider"] for r in receipts(swarm, "around")} == {"pair-b"}
    ledger(swarm, "POST", "/budget", json={"scope": "model", "scope_id": "pair-model", "budget_usd": "0"})
    known(swarm, "model:pair-model")
    blocked = chat(swarm, "around", "pair-model")
    assert blocked.status_code == 402 and "model pair-model" in blocked.json()["error"]["message"]
    ledger(swarm, "DELETE", "/budgets/model/pair-model")
    ledger(swarm, "DELETE", "/budgets/provider/pair-a")


def test_a_global_budget_stops_all_spending_while_the_run_has_room(swarm):
    ledger(swarm, "POST", "/budget", json={"run_id": "glob-run", "budget_usd": "100"})
    known(swarm, "run:glob-run")
    before = ledger(swarm, "POST", "/budget", json={"scope": "global", "budget_usd": "100",
                                                    "period": "monthly"})["spent_usd"]
    cap = before + Decimal("0.2")
    ledger(swarm, "POST", "/budget", json={"scope": "global", "budget_usd": str(cap), "period": "monthly"})
    wait_until(lambda: Decimal(str(httpx.get(swarm.url("ledger") + "/budgets/snapshot").json()["caps"][
        "global:all"])) == cap, 5, "the snapshot has the global cap")
    known(swarm, "global:all")
    answers = until_refused(swarm, "glob-run", "pair-model")
    refused = answers[-1]
    assert refused.status_code == 402 and "the global budget" in refused.json()["error"]["message"], refused.text
    assert len(answers) > 3
    paid = sum((r["cost_usd"] for r in receipts(swarm, "glob-run")), Decimal(0))
    glob = settled(swarm, "/budgets/global/all", before + paid)
    assert glob["spent_usd"] <= cap and glob["period"] == "monthly" and "runway" in glob
    run = ledger(swarm, "GET", "/budget/glob-run")
    assert run["remaining_usd"] > Decimal(90)  # a lease may hold some of it
    ledger(swarm, "DELETE", "/budgets/global/all")
    known(swarm, "run:glob-run")
    assert chat(swarm, "glob-run", "pair-model").status_code == 200


def test_a_monthly_model_budget_holds_under_80_concurrent_requests(swarm):
    # monthly, not daily: a test running over local midnight would see its spend reset
    ledger(swarm, "POST", "/budget", json={"scope": "model", "scope_id": "race-model", "budget_usd": "0.5",
                                           "period": "monthly", "tz": "America/New_York"})
    known(swarm, "model:race-model")

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*[client.post(
                swarm.url("gateway") + "/v1/chat/completions", headers={"X-Tollway-Run": f"race-{i % 4}"},
                json={"model": "race-model", "max_tokens": 10, "messages": [{"role": "user", "content": f"q{i}"}]})
                for i in range(80)])

    codes = [r.status_code for r in asyncio.run(fire())]
    assert set(codes) == {200, 402} and codes.count(200) >= 5, codes
    paid = sum((r["cost_usd"] for i in range(4) for r in receipts(swarm, f"race-{i}")), Decimal(0))
    model = settled(swarm, "/budgets/model/race-model", paid)
    assert model["spent_usd"] <= Decimal("0.5") and model["tz"] == "America/New_York"
