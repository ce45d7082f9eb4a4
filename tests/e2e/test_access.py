"""Access on real processes: with TOLLWAY_ADMIN_KEY set, management needs it and the services
still work together (the gateway sends it to the ledger for leases, receipts and snapshots)."""

import json
import secrets
import time
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import database_env, wait_until
from tests.e2e.swarm import Swarm

PROVIDER_SECRET = "sk-live-" + secrets.token_hex(12)  # a provider's API key, in the gateway's environment


SWARM_BACKENDS = ("sqlite", "postgres")  # keys and tenants on either backend of the ledger


@pytest.fixture(scope="module")
def guarded(tmp_path_factory, swarm_backend):
    with database_env(swarm_backend) as env:
        s = Swarm(tmp_path_factory.mktemp("guarded"), admin_key="adm-" + secrets.token_hex(8),
                  extra_env={"TOLLWAY_REQUIRE_KEYS": "true", "TOLLWAY_PROVIDER_KEY_GUARDED": PROVIDER_SECRET,
                             **env})
        s.start_all()
        yield s
        s.stop_all()


def guarded_provider(swarm: Swarm) -> dict:
    return {"name": "guarded-sim", "model": "guarded-model", "context_window": 4096,
            "input_per_mtok": "1000", "output_per_mtok": "2000", "endpoint": swarm.url("simulator")}


def register_guarded_model(http: httpx.Client, swarm: Swarm) -> None:
    resp = http.post(swarm.url("router") + "/register", headers=swarm.admin, json=guarded_provider(swarm))
    assert resp.status_code in (200, 201), resp.text
    swarm.wait_for_model("guarded-model")


def test_management_needs_the_admin_key_and_the_swarm_still_works(guarded: Swarm) -> None:
    provider = guarded_provider(guarded)
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
            status = json.loads(http.get(guarded.url("ledger") + "/budget/g", headers=guarded.admin).text,
                                parse_float=Decimal)
            if status["spent_usd"] == cost and status["held_usd"] == 0:
                break
            time.sleep(0.1)
        assert status["spent_usd"] == cost > 0 and status["held_usd"] == 0
    for service in ("router", "ledger", "gateway"):
        assert guarded.admin_key not in guarded.log(service), f"{service} logged the admin key"


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def test_virtual_keys_gate_the_client_api_and_scope_what_they_read(guarded: Swarm) -> None:
    gateway = guarded.url("gateway") + "/v1/chat/completions"
    chat = {"model": "guarded-model", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(timeout=30) as http:
        register_guarded_model(http, guarded)
        made = [http.post(guarded.url("ledger") + "/keys", headers=guarded.admin, json=body).json()
                for body in ({"org": "acme", "user": "ann"}, {"org": "beta", "models": ["other-model"]})]
        acme, beta = made
        no_key = http.post(gateway, json=chat)
        assert no_key.status_code == 401 and no_key.json()["error"]["type"] == "unauthorized"
        assert http.post(gateway, json=chat, headers=bearer("tw-unknown")).status_code == 401
        # the gateway learns new keys from the ledger's long-poll: usable within moments (each key
        # may come in a snapshot of its own: the first admitted says nothing of the second yet)
        wait_until(lambda: http.post(gateway, json=chat, headers={**bearer(acme["secret"]),
                                                                  "x-tollway-run": "t"}).status_code == 200,
                   what="the new key admitted")
        as_beta = {**bearer(beta["secret"]), "x-tollway-run": "t"}
        wait_until(lambda: http.post(gateway, json=chat, headers=as_beta).status_code != 401, what="beta's key known")
        forbidden = http.post(gateway, json=chat, headers=as_beta)
        assert forbidden.status_code == 403 and "guarded-model" in forbidden.json()["error"]["message"]
        receipts = [json.loads(line) for line in (guarded.costs / "t.jsonl").read_text().splitlines()]
        assert {(r["key_id"], r["org"], r["user"]) for r in receipts} == {(acme["key_id"], "acme", "ann")}
        # tenant isolation at the ledger: beta sees none of acme's receipts in the same run
        wait_until(lambda: http.get(guarded.url("ledger") + "/receipts/t",
                                    headers=bearer(acme["secret"])).json()["count"] >= 1, what="acme's receipt shipped")
        assert http.get(guarded.url("ledger") + "/receipts/t", headers=bearer(beta["secret"])).json()["count"] == 0
        assert http.get(guarded.url("ledger") + "/receipts/t").status_code == 401
        # revoking reaches the gateway within a long-poll round trip
        assert http.delete(guarded.url("ledger") + f"/keys/{acme['key_id']}", headers=guarded.admin).status_code == 200
        wait_until(lambda: http.post(gateway, json=chat, headers=bearer(acme["secret"])).status_code == 401,
                   what="the revoked key refused")
    for service in ("router", "ledger", "gateway", "simulator"):
        log = guarded.log(service)
        assert acme["secret"] not in log and beta["secret"] not in log, f"{service} logged a key"
    assert acme["secret"] not in (guarded.costs / "t.jsonl").read_text()


def test_a_team_budget_stops_its_keys_and_no_one_else(guarded: Swarm) -> None:
    gateway = guarded.url("gateway") + "/v1/chat/completions"
    chat = {"model": "guarded-model", "max_tokens": 10, "messages": [{"role": "user", "content": "hello there"}]}
    with httpx.Client(timeout=30) as http:
        register_guarded_model(http, guarded)
        ml, web = (http.post(guarded.url("ledger") + "/keys", headers=guarded.admin,
                             json={"team": t, "org": "acme"}).json() for t in ("ml", "web"))
        assert http.post(guarded.url("ledger") + "/budget", headers=guarded.admin,
                         json={"scope": "team", "scope_id": "ml", "budget_usd": "0.1"}).status_code == 201
        version = http.get(guarded.url("ledger") + "/budgets/snapshot", headers=guarded.admin).json()["version"]
        wait_until(lambda: httpx.get(guarded.url("gateway") + "/health").json()["budgets"]["version"] >= version,
                   what="the gateway learned the team budget")
        as_ml = {**bearer(ml["secret"]), "x-tollway-run": "team-run"}
        as_web = {**bearer(web["secret"]), "x-tollway-run": "team-run"}
        codes = [http.post(gateway, json=chat, headers=as_ml).status_code for _ in range(12)]
        assert codes[-1] == 402 and 402 in codes
        assert http.post(gateway, json=chat, headers=as_web).status_code == 200
        deadline = time.monotonic() + 10
        status = {}
        while time.monotonic() < deadline:  # the ledger agrees: never over, and the leases given back
            status = json.loads(http.get(guarded.url("ledger") + "/budgets/team/ml", headers=bearer(ml["secret"])).text,
                                parse_float=Decimal)
            if status["held_usd"] == 0:
                break
            time.sleep(0.2)
        assert status["held_usd"] == 0 and 0 < status["spent_usd"] <= Decimal("0.1")
        assert http.get(guarded.url("ledger") + "/budgets/team/ml", headers=bearer(web["secret"])).status_code == 404
    lines = [json.loads(x) for x in (guarded.costs / "team-run.jsonl").read_text().splitlines()]
    ml_lines = [r for r in lines if r.get("team") == "ml" and r["status"] == "success"]
    assert ml_lines and all(len(r["lease_ids"]) == 1 for r in ml_lines)  # the run has no budget: one lease
    refused = [r for r in lines if r["status"] == "budget_exceeded"]
    assert refused and refused[0]["team"] == "ml"


def test_provider_secrets_never_leave_the_gateway(guarded: Swarm) -> None:
    with httpx.Client(timeout=30) as http:
        assert http.post(guarded.url("router") + "/register", headers=guarded.admin,
                         json={"name": "keyed-sim", "model": "keyed-model", "context_window": 4096,
                               "input_per_mtok": "1", "output_per_mtok": "1", "endpoint": guarded.url("simulator"),
                               "api_key_env": "TOLLWAY_PROVIDER_KEY_GUARDED"}).status_code in (200, 201)
        guarded.wait_for_model("keyed-model")
        chat = {"model": "keyed-model", "max_tokens": 3, "messages": [{"role": "user", "content": "hi"}]}
        admin = {"authorization": f"Bearer {guarded.admin_key}"}
        answers = [http.post(guarded.url("gateway") + "/v1/chat/completions", json=chat, headers=admin),
                   http.post(guarded.url("gateway") + "/route", headers=admin,
                             json={"requirements": {"model": "keyed-model"}, "payload": chat})]
        assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
        reads = [http.get(guarded.url("router") + path) for path in ("/providers", "/providers/keyed-sim",
                                                                      "/registry/snapshot", "/stats")]
        reads += [http.get(guarded.url("gateway") + path, headers=guarded.admin)
                  for path in ("/v1/models", "/health", "/admin/limits")]
        reads += [http.get(guarded.url("ledger") + "/receipts/default", headers=guarded.admin)]
        assert all(r.status_code == 200 for r in reads), [(r.url, r.status_code) for r in reads]
        assert "TOLLWAY_PROVIDER_KEY_GUARDED" in reads[1].text  # the reference is shown, the key never
        for r in [*answers, *reads]:
            assert PROVIDER_SECRET not in r.text, r.url
    for service in ("router", "ledger", "gateway"):
        assert PROVIDER_SECRET not in guarded.log(service), f"{service} logged a provider key"
    for receipts in guarded.costs.glob("*.jsonl"):
        assert PROVIDER_SECRET not in receipts.read_text()


def test_a_run_budget_belongs_to_its_first_tenant(guarded: Swarm) -> None:
    """Key B naming A's budgeted run is refused before any call, is never charged to it and is not
    shown it; A goes on being served and sees its own budget."""
    gateway = guarded.url("gateway") + "/v1/chat/completions"
    chat = {"model": "guarded-model", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(timeout=30) as http:
        register_guarded_model(http, guarded)
        a, b = (http.post(guarded.url("ledger") + "/keys", headers=guarded.admin, json={"org": org}).json()
                for org in ("tenant-a", "tenant-b"))
        assert http.post(guarded.url("ledger") + "/budget", headers=guarded.admin,
                         json={"run_id": "run-a", "budget_usd": "1"}).status_code == 201
        guarded.wait_for_budget("run-a")
        as_a, as_b = ({**bearer(k["secret"]), "x-tollway-run": "run-a"} for k in (a, b))
        wait_until(lambda: http.post(gateway, json=chat, headers=as_a).status_code == 200, what="A served on run-a")
        calls_before = http.get(guarded.url("simulator") + "/requests").json()
        refused = http.post(gateway, json=chat, headers=as_b)
        assert refused.status_code == 403, refused.text
        assert "another tenant" in refused.json()["error"]["message"]
        assert http.get(guarded.url("simulator") + "/requests").json() == calls_before  # no upstream call
        assert http.post(gateway, json=chat, headers=as_a).status_code == 200
        wait_until(lambda: http.get(guarded.url("ledger") + "/budget/run-a",
                                    headers=bearer(a["secret"])).status_code == 200, what="A reads its run's budget")
        assert http.get(guarded.url("ledger") + "/budget/run-a", headers=bearer(b["secret"])).status_code == 404
        receipts = [json.loads(line) for line in (guarded.costs / "run-a.jsonl").read_text().splitlines()]
        charged_b = [r for r in receipts if r.get("org") == "tenant-b" and r["cost_usd"] > 0]
        assert charged_b == []
