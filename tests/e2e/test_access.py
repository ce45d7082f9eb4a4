"""Access on real processes: with TOLLWAY_ADMIN_KEY set, management needs it and the services
still work together (the gateway sends it to the ledger for leases, receipts and snapshots)."""

import json
import secrets
import time
from decimal import Decimal

import httpx
import pytest

from tests.e2e.swarm import Swarm


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    s = Swarm(tmp_path_factory.mktemp("guarded"), admin_key="adm-" + secrets.token_hex(8))
    s.start_all()
    yield s
    s.stop_all()


def test_management_needs_the_admin_key_and_the_swarm_still_works(guarded: Swarm) -> None:
    provider = {"name": "guarded-sim", "model": "guarded-model", "context_window": 4096,
                "input_per_mtok": "1000", "output_per_mtok": "2000", "endpoint": guarded.url("simulator")}
    with httpx.Client(timeout=30) as http:
        assert http.post(guarded.url("router") + "/register", json=provider).status_code == 401
        wrong = http.post(guarded.url("router") + "/register", json=provider, headers={"x-admin-key": "nope"})
        assert wrong.status_code == 403 and wrong.json()["error"]["type"] == "forbidden"
        assert http.post(guarded.url("ledger") + "/budget", json={"run_id": "g", "budget_usd": 1}).status_code == 401
        assert http.post(guarded.url("router") + "/register", json=provider,
                         headers=guarded.admin).status_code in (200, 201)
        assert http.post(guarded.url("ledger") + "/budget", json={"run_id": "g", "budget_usd": 1},
                         headers=guarded.admin).status_code in (200, 201)
        guarded.wait_for_model("guarded-model")
        guarded.wait_for_budget("g")
        chat = {"model": "guarded-model", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        answer = http.post(guarded.url("gateway") + "/v1/chat/completions", json=chat,
                           headers={"x-tollway-run": "g"})
        assert answer.status_code == 200, answer.text
        cost = Decimal(str(json.loads((guarded.costs / "g.jsonl").read_text().splitlines()[-1])["cost_usd"]))
        deadline = time.monotonic() + 10
        status = {}
        while time.monotonic() < deadline:  # the receipt reached the ledger: shipping carries the key
            status = json.loads(http.get(guarded.url("ledger") + "/budget/g").text, parse_float=Decimal)
            if status["spent_usd"] == cost and status["held_usd"] == 0:
                break
            time.sleep(0.1)
        assert status["spent_usd"] == cost > 0 and status["held_usd"] == 0
    for service in ("router", "ledger", "gateway"):
        assert guarded.admin_key not in guarded.log(service), f"{service} logged the admin key"
