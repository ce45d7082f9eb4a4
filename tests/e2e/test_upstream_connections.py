"""Keep-alive to providers on real processes: sequential requests, plain and streamed, reuse the
gateway's connections to the provider instead of opening one each (a stream's connection is kept
once its end marker and the answer's end have come)."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import register
from tests.e2e.swarm import Swarm


def opened(swarm: Swarm) -> int:
    return httpx.get(swarm.url("gateway") + "/health").json()["upstream"]["connections_opened"]


def test_sequential_requests_plain_and_streamed_reuse_their_connections(swarm, http):
    register(http, swarm, {"name": "keepalive-sim", "model": "m-keepalive", "context_window": 8192,
                           "input_per_mtok": "1", "output_per_mtok": "1",
                           "endpoint": swarm.url("simulator") + "/sim/tps=0,tokens=5"})
    swarm.wait_for_model("m-keepalive")
    before = opened(swarm)
    body = {"model": "m-keepalive", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5}
    for i in range(10):
        assert http.post(swarm.url("gateway") + "/v1/chat/completions", json=body).status_code == 200
        streamed = http.post(swarm.url("gateway") + "/v1/chat/completions", json={**body, "stream": True})
        assert streamed.status_code == 200 and "data: [DONE]" in streamed.text, i
    assert opened(swarm) - before <= 2  # 20 requests: one connection (two if the provider closed one)
