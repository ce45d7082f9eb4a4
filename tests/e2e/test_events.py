"""GET /events on real processes: a request routed through the gateway arrives as a `receipt`
event once shipped; Last-Event-ID resumes after it; a tenant's key sees only its own events; a
budget lowered under what a run spent raises `budget_threshold` events for the run's owner."""

from __future__ import annotations

import json
import secrets
import signal
from decimal import Decimal

import httpx
import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.sse_reader import Frame, events
from tests.e2e.swarm import Swarm

MODEL = "events-model"


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory):
    s = Swarm(tmp_path_factory.mktemp("events"), admin_key="adm-" + secrets.token_hex(8),
              extra_env={"TOLLWAY_EVENTS_HEARTBEAT_S": "0.5"})
    s.start_all()
    with httpx.Client(timeout=30) as http:
        provider = {"name": "events-sim", "model": MODEL, "context_window": 4096, "input_per_mtok": "1",
                    "output_per_mtok": "2", "endpoint": s.url("simulator")}
        assert http.post(s.url("router") + "/register", headers=s.admin, json=provider).status_code in (200, 201)
    s.wait_for_model(MODEL)
    yield s
    s.stop_all()


@pytest.fixture(scope="module")
def keys(swarm: Swarm) -> dict[str, dict]:
    made = {org: httpx.post(swarm.url("ledger") + "/keys", headers=swarm.admin, json={"org": org}).json()
            for org in ("acme", "beta")}
    for key in made.values():  # the gateway follows keys by long-poll: usable within moments
        wait_until(lambda key=key: chat(swarm, key, "warm-up").status_code == 200, what="the key admitted")
    return made


def bearer(key: dict) -> dict[str, str]:
    return {"authorization": f"Bearer {key['secret']}"}


def chat(swarm: Swarm, key: dict, run: str) -> httpx.Response:
    body = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(swarm.url("gateway") + "/v1/chat/completions", json=body, timeout=30,
                      headers={**bearer(key), "x-tollway-run": run})


def routed(swarm: Swarm, key: dict, run: str) -> dict:
    """Route one request; the receipt the gateway wrote for it."""
    assert chat(swarm, key, run).status_code == 200
    return json.loads((swarm.costs / f"{run}.jsonl").read_text().splitlines()[-1])


def receipts(frames: list[Frame]) -> list[str]:
    return [f.data["request_id"] for f in frames if f.event == "receipt"]


def test_a_routed_request_arrives_as_its_receipt_and_resume_gives_only_later_events(
        swarm: Swarm, keys: dict[str, dict]) -> None:
    with events(swarm.url("ledger"), swarm.admin) as reader:
        first = routed(swarm, keys["acme"], "ev-resume")
        event = reader.until_receipts([first["request_id"]])[-1]
    assert event.data == first  # the receipt as the gateway wrote it, as ingested
    later = [routed(swarm, keys["acme"], "ev-resume")["request_id"] for _ in range(2)]
    with events(swarm.url("ledger"), {**swarm.admin, "last-event-id": str(event.id)}) as reader:
        resumed = reader.until_receipts(later)
    got = receipts(resumed)  # other receipts (the keys' warm-ups) may ship in between: not ours to order
    assert [r for r in got if r in later] == later and first["request_id"] not in got
    assert all(f.id is not None and f.id > event.id for f in resumed)
    assert [f.id for f in resumed] == sorted({f.id for f in resumed})  # strictly increasing


def test_a_tenant_key_sees_only_its_own_events(swarm: Swarm, keys: dict[str, dict]) -> None:
    with events(swarm.url("ledger"), swarm.admin) as admin, events(swarm.url("ledger"), bearer(keys["beta"])) as beta:
        mine = routed(swarm, keys["beta"], "ev-tenant")["request_id"]
        theirs = [routed(swarm, keys["acme"], "ev-tenant")["request_id"] for _ in range(2)]
        seen_by_admin = admin.until_receipts([*theirs, mine])
        newest = max(f.id for f in seen_by_admin if f.id is not None)
        seen_by_beta = beta.read_until(lambda f: f.id is not None and f.id >= newest)  # a heartbeat carries it
    assert {*theirs, mine} <= set(receipts(seen_by_admin))
    assert receipts(seen_by_beta) == [mine]
    assert {f.data.get("org") for f in seen_by_beta if f.event} == {"beta"}


def test_a_budget_under_what_a_run_spent_raises_threshold_events_for_its_owner(
        swarm: Swarm, keys: dict[str, dict]) -> None:
    spent = routed(swarm, keys["acme"], "ev-budget")
    wait_until(lambda: httpx.get(swarm.url("ledger") + "/receipts/ev-budget", headers=swarm.admin).json()["count"] == 1,
               what="the receipt shipped")
    with events(swarm.url("ledger"), bearer(keys["acme"]), kinds="budget_threshold") as acme, \
            events(swarm.url("ledger"), bearer(keys["beta"]), kinds="budget_threshold") as beta:
        resp = httpx.post(swarm.url("ledger") + "/budget", headers=swarm.admin,
                          json={"run_id": "ev-budget", "budget_usd": format(Decimal(str(spent["cost_usd"])), "f")})
        assert resp.status_code == 201, resp.text
        crossed = acme.read_until(lambda f: f.event == "budget_threshold" and f.data["threshold"] == 100)
        last = crossed[-1].id
        assert beta.read_until(lambda f: f.id is not None and f.id >= last) == []
    assert [(f.data["scope"], f.data["scope_id"], f.data["threshold"], f.data["level"]) for f in crossed] == [
        ("run", "ev-budget", 75, "caution"), ("run", "ev-budget", 90, "warning"),
        ("run", "ev-budget", 100, "critical")]


def test_bad_kinds_and_unknown_keys_are_refused(swarm: Swarm) -> None:
    bad = httpx.get(swarm.url("ledger") + "/events", params={"kinds": "receipt,nope"}, headers=swarm.admin)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "kinds"
    unknown = httpx.get(swarm.url("ledger") + "/events", headers={"authorization": "Bearer tw-nope"})
    assert unknown.status_code == 401


def test_a_ledger_stopping_ends_its_streams_and_stops_cleanly(swarm: Swarm) -> None:
    """Last in this module: it stops the ledger. A held stream does not keep a stop waiting."""
    with events(swarm.url("ledger"), swarm.admin) as reader:
        proc = swarm.procs["ledger"]
        proc.send_signal(signal.SIGTERM)
        with pytest.raises((EOFError, httpx.RemoteProtocolError, httpx.ReadError)):
            while True:
                reader.next_frame()
        proc.wait(timeout=8)  # uvicorn's graceful stop (within its 5 s), not the harness's kill
    swarm.procs.pop("ledger")
    log = swarm.log("ledger")
    assert "Application shutdown complete." in log and "Cancel 1 running task(s)" not in log
