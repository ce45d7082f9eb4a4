"""A provider that closes every kept-alive connection right after its answer, unannounced (the
simulator's `close=1`), on real processes: N requests in a row, plain and streamed, reach it
exactly N times (the gateway never sends one again on its own), each gets its answer, and the
gateway's /health upstream counters tell the same story: one fresh connection per call, none
resent."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import register, wait_until
from tests.e2e.swarm import Swarm

N = 20


def upstream(swarm: Swarm) -> dict[str, int]:
    return httpx.get(swarm.url("gateway") + "/health").json()["upstream"]


def calls(swarm: Swarm, spec: str) -> int:
    return httpx.get(swarm.url("simulator") + "/requests").json()["by_spec"].get(spec, 0)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_provider_closing_each_kept_connection_is_called_once_per_request(swarm, http, stream):
    spec = f"close=1,tps=0,tokens=5,seed={int(stream)}"  # a spec of its own per case: counted apart
    model = f"m-close-{'stream' if stream else 'plain'}"
    register(http, swarm, {"name": f"closing-sim-{int(stream)}", "model": model, "context_window": 8192,
                           "input_per_mtok": "1", "output_per_mtok": "1",
                           "endpoint": swarm.url("simulator") + f"/sim/{spec}"})
    swarm.wait_for_model(model)
    before = upstream(swarm)
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stream": stream}
    for i in range(N):
        resp = http.post(swarm.url("gateway") + "/v1/chat/completions", json=body)
        assert resp.status_code == 200, (i, resp.text)
        if stream:
            assert resp.text.rstrip().endswith("data: [DONE]"), (i, resp.text[-300:])
        else:
            assert json.loads(resp.text)["choices"][0]["message"]["content"], i
    assert calls(swarm, spec) == N  # never N + a request sent again
    after = upstream(swarm)
    assert after["resent_on_fresh_connection"] == before["resent_on_fresh_connection"]
    # the provider closes every connection after one answer: each call had a fresh one, no more
    assert after["connections_opened"] - before["connections_opened"] == N
    wait_until(lambda: upstream(swarm)["idle"] == 0, 2.0, "the closed connections leaving the idle pool")
