"""A caller's request id reused across a gateway restart is never billed and then dropped: the
receipt's key is the gateway's own id, the caller's is `client_request_id`, and the ledger counts
both requests, so the run's file, the ledger and the budget agree to the microdollar."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.e2e.conftest import register, wait_until

SWARM_BACKENDS = ("sqlite", "postgres")  # receipts on either backend of the ledger and router

RUN = "reused-ids"


def _chat(http, swarm, client_id: str):
    return http.post(swarm.url("gateway") + "/v1/chat/completions",
                     headers={"X-Tollway-Run": RUN, "X-Request-ID": client_id},
                     json={"model": "ids-model", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})


def test_a_request_id_reused_after_a_restart_is_billed_once_per_call_and_never_dropped(swarm, http):
    register(http, swarm, {"name": "ids-sim", "model": "ids-model", "context_window": 4096,
                           "input_per_mtok": "10", "output_per_mtok": "30", "endpoint": swarm.url("simulator")})
    assert http.post(swarm.url("ledger") + "/budget", json={"run_id": RUN, "budget_usd": "1"}).status_code in (200, 201)
    swarm.wait_for_model("ids-model")
    swarm.wait_for_budget(RUN)

    first = _chat(http, swarm, "dup-1")
    assert first.status_code == 200, first.text
    again = _chat(http, swarm, "dup-1")  # the same process still remembers it: refused before any call
    assert again.status_code == 409 and again.json()["error"]["field"] == "request_id"

    swarm.stop("gateway")
    swarm.start("gateway")
    swarm.wait_for_model("ids-model")
    swarm.wait_for_budget(RUN)
    after = _chat(http, swarm, "dup-1")  # a new process: served, and counted as its own request
    assert after.status_code == 200, after.text
    assert after.headers["x-request-id"] == "dup-1"
    ids = {first.headers["x-tollway-request-id"], after.headers["x-tollway-request-id"]}
    assert len(ids) == 2 and "dup-1" not in ids

    lines = (swarm.costs / f"{RUN}.jsonl").read_text().splitlines()
    on_disk = [json.loads(line, parse_float=Decimal) for line in lines]
    mine = [r for r in on_disk if r.get("client_request_id") == "dup-1"]
    assert {r["request_id"] for r in mine} == ids and all(r["status"] == "success" for r in mine)
    total = sum((r["cost_usd"] for r in on_disk), Decimal(0))

    def ledger_has_both() -> bool:
        book = http.get(swarm.url("ledger") + f"/receipts/{RUN}").json()
        return {r["request_id"] for r in book["receipts"]} >= ids

    wait_until(ledger_has_both, 10, "the ledger holds both requests' receipts")
    status = http.get(swarm.url("ledger") + f"/budget/{RUN}").json()
    assert Decimal(str(status["spent_usd"])) == total > 0  # the budget saw both calls' cost
