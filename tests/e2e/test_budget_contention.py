"""The gateway's own 402 under contention, through the official `openai` SDK: the budget has room,
but the money the ledger grants a request's lease is taken by requests in flight before it can
reserve, three grants running. The refusal states the budget, spent and held as the ledger's last
grant said them (no extra ledger call), beside the request's worst case, in the words and fields
of the ledger's own refusal (services/common/budget_refusal.py).

To make it happen on real processes: the ledger grants a lease only what its request needs
(TOLLWAY_LEASE_SHARE tiny, TOLLWAY_LEASE_REQUESTS=1), and the provider over-bills every answer
(the simulator reports 20,000 prompt-cache tokens the request does not carry), so requests that
finish while another request's grant is on its way take that grant back out of the lease."""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal

import httpx
import openai
import pytest

from tests.e2e.conftest import running
from tests.e2e.swarm import Swarm

MODEL = "contended-model"
RUN = "contended-run"
BUDGET = Decimal("1000")
CONTENTION = re.compile(
    rf"^run {RUN}'s budget is \$(?P<budget>[0-9.]+); \$(?P<spent>[0-9.]+) is spent and \$(?P<held>[0-9.]+) held"
    r" for requests in flight; this request could cost up to \$(?P<worst>[0-9.]+)\. The budget had room: the"
    r" ledger granted this request's need 3 times, and each time other requests in flight took it first"
    r" \(figures as of the last grant\); it fits once they finish$")


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    env = {"TOLLWAY_LEASE_SHARE": "0.000001", "TOLLWAY_LEASE_REQUESTS": "1"}
    with running(Swarm(tmp_path_factory.mktemp("contention"), extra_env=env)) as s:
        resp = httpx.post(s.url("router") + "/register", timeout=10, json={
            "name": "over-biller", "model": MODEL, "context_window": 8192, "input_per_mtok": "1",
            "output_per_mtok": "1", "endpoint": s.url("simulator") + "/sim/tps=0,cache_read=20000"})
        assert resp.status_code in (200, 201), resp.text
        s.wait_for_model(MODEL)
        resp = httpx.post(s.url("ledger") + "/budget", json={"run_id": RUN, "budget_usd": str(BUDGET)}, timeout=10)
        assert resp.status_code < 300, resp.text
        s.wait_for_budget(RUN)
        yield s


async def _load(swarm: Swarm, workers: int, seconds: float) -> tuple[int, list[openai.APIStatusError]]:
    """`workers` callers in a loop until `seconds` pass or a few contention refusals are in; the
    answers and every error the SDK raised."""
    client = openai.AsyncOpenAI(base_url=swarm.url("gateway") + "/v1", api_key="unused", max_retries=0,
                                default_headers={"X-Tollway-Run": RUN}, timeout=30)
    answered, errors = 0, []
    end = time.monotonic() + seconds

    async def worker(i: int) -> None:
        nonlocal answered
        n = 0
        while time.monotonic() < end and len(errors) < 5:
            n += 1
            try:
                await client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}],
                                                     max_tokens=10 + (i * 13 + n) % 200)
                answered += 1
            except openai.APIStatusError as exc:
                errors.append(exc)

    try:
        await asyncio.gather(*(worker(i) for i in range(workers)))
    finally:
        await client.close()
    return answered, errors


def test_a_contention_refusal_states_the_budget_spent_and_held_of_the_last_grant(swarm: Swarm):
    answered, errors = asyncio.run(_load(swarm, workers=32, seconds=60))
    assert errors, f"no request was refused in 60 s ({answered} answered): no contention to check"
    assert answered > len(errors)
    for exc in errors:
        assert type(exc) is openai.APIStatusError and exc.status_code == 402, exc  # budget refusals only
        assert exc.code == "insufficient_quota" and exc.type == "budget_exceeded"
        said = CONTENTION.search(exc.body["message"])
        assert said and exc.body["message"] in exc.message, exc.message  # what the SDK's caller reads
        figures = {k: Decimal(v) for k, v in said.groupdict().items()}
        body = exc.body
        assert figures["budget"] == BUDGET == body["budget_usd"]
        # the words and the fields say the same figures, exactly
        assert (figures["spent"], figures["held"], figures["worst"]) == (
            Decimal(str(body["spent_usd"])), Decimal(str(body["held_usd"])), Decimal(str(body["worst_case_usd"])))
        assert figures["held"] > 0 and figures["spent"] + figures["held"] < BUDGET  # room: not the plain refusal
        assert Decimal(str(body["remaining_usd"])) == BUDGET - figures["spent"] - figures["held"]
        assert body["budget"] == f"run:{RUN}" and body["run_id"] == RUN
    # the figures are the ledger's as it answered a grant: its spent only grows, so never above it now
    now = httpx.get(swarm.url("ledger") + f"/budget/{RUN}", timeout=10).json()
    assert max(Decimal(str(e.body["spent_usd"])) for e in errors) <= Decimal(str(now["spent_usd"]))
