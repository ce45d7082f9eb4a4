"""The agent's name (X-Tollway-Agent) is UTF-8 text: a name in any script reaches the receipt as
written, in the run's file and at the ledger; a header that is not UTF-8 is a 400 naming it and
nothing is sent upstream."""

from __future__ import annotations

import json

from tests.e2e.conftest import register, wait_until

RUN = "agent-names"
AGENT = "agent-Zoë-東京-🤖"


def _chat(http, swarm, agent: bytes):
    return http.post(swarm.url("gateway") + "/v1/chat/completions",
                     headers={"X-Tollway-Run": RUN, "X-Tollway-Agent": agent},
                     json={"model": "agents-model", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})


def _upstream_calls(http, swarm) -> dict:
    return http.get(swarm.url("simulator") + "/requests").json()


def test_a_non_ascii_agent_reaches_the_receipt_on_disk_and_at_the_ledger(swarm, http):
    register(http, swarm, {"name": "agents-sim", "model": "agents-model", "context_window": 4096,
                           "input_per_mtok": "10", "output_per_mtok": "30", "endpoint": swarm.url("simulator")})
    swarm.wait_for_model("agents-model")

    resp = _chat(http, swarm, AGENT.encode("utf-8"))  # a header carries bytes: the name's UTF-8
    assert resp.status_code == 200, resp.text
    request_id = resp.headers["x-tollway-request-id"]

    on_disk = [json.loads(line) for line in (swarm.costs / f"{RUN}.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["agent"] for r in on_disk if r["request_id"] == request_id] == [AGENT]

    def at_ledger() -> list[str]:
        book = http.get(swarm.url("ledger") + f"/receipts/{RUN}").json()
        return [r["agent"] for r in book["receipts"] if r["request_id"] == request_id]

    wait_until(lambda: bool(at_ledger()), 10, "the ledger holds the receipt")
    assert at_ledger() == [AGENT]


def test_an_agent_header_that_is_not_utf8_is_a_400_naming_it(swarm, http):
    register(http, swarm, {"name": "agents-sim", "model": "agents-model", "context_window": 4096,
                           "input_per_mtok": "10", "output_per_mtok": "30", "endpoint": swarm.url("simulator")})
    swarm.wait_for_model("agents-model")
    before = _upstream_calls(http, swarm)
    resp = _chat(http, swarm, b"agent-\xff\xfe")
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["field"] == "X-Tollway-Agent"
    assert _upstream_calls(http, swarm) == before
