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
    s = Swarm(tmp_path_factory.mktemp("guarded"), admin_key="adm-" + secrets.token_hex(8),
              extra_env={"TOLLWAY_REQUIRE_KEYS": "true"})
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
                           headers={"x-tollway-run": "g", "authorization": f"Bearer {guarded.admin_key}"})
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


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def wait_until(check, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_virtual_keys_gate_the_client_api_and_scope_what_they_read(guarded: Swarm) -> None:
    gateway = guarded.url("gateway") + "/v1/chat/completions"
    chat = {"model": "guarded-model", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(timeout=30) as http:
        http.post(guarded.url("router") + "/register", headers=guarded.admin,
                  json={"name": "guarded-sim", "model": "guarded-model", "context_window": 4096,
                        "input_per_mtok": "1000", "output_per_mtok": "2000", "endpoint": guarded.url("simulator")})
        guarded.wait_for_model("guarded-model")
        made = [http.post(guarded.url("ledger") + "/keys", headers=guarded.admin, json=body).json()
                for body in ({"org": "acme", "user": "ann"}, {"org": "beta", "models": ["other-model"]})]
        acme, beta = made
        no_key = http.post(gateway, json=chat)
        assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "unauthorized"
        assert http.post(gateway, json=chat, headers=bearer("tw-unknown")).status_code == 401
        # the gateway learns new keys from the ledger's long-poll: usable within moments
        assert wait_until(lambda: http.post(gateway, json=chat, headers={**bearer(acme["secret"]),
                                                                         "x-tollway-run": "t"}).status_code == 200)
        forbidden = http.post(gateway, json=chat, headers={**bearer(beta["secret"]), "x-tollway-run": "t"})
        assert forbidden.status_code == 403 and "guarded-model" in forbidden.json()["error"]["message"]
        receipts = [json.loads(line) for line in (guarded.costs / "t.jsonl").read_text().splitlines()]
        assert {(r["key_id"], r["org"], r["user"]) for r in receipts} == {(acme["key_id"], "acme", "ann")}
        # tenant isolation at the ledger: beta sees none of acme's receipts in the same run
        assert wait_until(lambda: http.get(guarded.url("ledger") + "/receipts/t",
                                           headers=bearer(acme["secret"])).json()["count"] >= 1)
        assert http.get(guarded.url("ledger") + "/receipts/t", headers=bearer(beta["secret"])).json()["count"] == 0
        assert http.get(guarded.url("ledger") + "/receipts/t").status_code == 401
        # revoking reaches the gateway within a long-poll round trip
        assert http.delete(guarded.url("ledger") + f"/keys/{acme['key_id']}", headers=guarded.admin).status_code == 200
        assert wait_until(lambda: http.post(gateway, json=chat, headers=bearer(acme["secret"])).status_code == 401)
    for service in ("router", "ledger", "gateway", "simulator"):
        log = guarded.log(service)
        assert acme["secret"] not in log and beta["secret"] not in log, f"{service} logged a key"
    assert acme["secret"] not in (guarded.costs / "t.jsonl").read_text()
