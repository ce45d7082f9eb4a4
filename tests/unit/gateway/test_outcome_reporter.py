"""Outcome reports from receipts: one per attempt that reached the upstream, the provider's
failures counted as failures, the caller's 4xx left out; shipped in batches, kept when the
router is away, bounded when it stays away."""

from __future__ import annotations

import httpx
import jsonschema
import orjson

from services.common import contracts
from services.gateway.outcomes.reporter import OutcomeReporter, outcomes_of

STAMP = "2026-11-23T10:30:00.123Z"


def receipt(*attempts: dict, error: dict | None = None) -> dict:
    r = {"request_id": "req-1", "timestamp": STAMP, "attempts": list(attempts)}
    if error:
        r["error"] = error
    return r


def attempt(provider: str, status: str, http_status: int | None, latency_ms: float) -> dict:
    return {"provider": provider, "status": status, "http_status": http_status, "latency_ms": latency_ms}


def test_each_attempt_that_reached_the_upstream_is_an_outcome():
    r = receipt(attempt("down", "error", None, 2.5), attempt("busy", "error", 429, 30.0),
                attempt("broken", "error", 503, 40.0), attempt("ok", "success", 200, 120.0))
    assert outcomes_of(r) == [
        {"provider": "down", "latency_ms": 2.5, "success": False, "at": STAMP},
        {"provider": "busy", "latency_ms": 30.0, "success": False, "at": STAMP},
        {"provider": "broken", "latency_ms": 40.0, "success": False, "at": STAMP},
        {"provider": "ok", "latency_ms": 120.0, "success": True, "at": STAMP},
    ]
    jsonschema.validate({"outcomes": outcomes_of(r)}, contracts.schema("outcome_batch"))


def test_the_callers_mistakes_and_the_gateways_own_problems_are_not_reported():
    assert outcomes_of(receipt(attempt("p", "error", 400, 15.0))) == []  # the caller's 4xx
    assert outcomes_of(receipt(attempt("p", "error", None, 0.0))) == []  # no key on the gateway
    assert outcomes_of(receipt()) == []  # refused before any attempt (budget)


def test_a_stream_cut_short_counts_against_the_provider_that_cut_it():
    r = receipt(attempt("p", "success", 200, 80.0), error={"type": "truncated", "message": "..."})
    assert outcomes_of(r)[0]["success"] is False
    r = receipt(attempt("p", "success", 200, 80.0), error={"type": "client_disconnected", "message": "..."})
    assert outcomes_of(r)[0]["success"] is True


def recorder(statuses: list[int]) -> tuple[httpx.AsyncClient, list[dict]]:
    seen: list[dict] = []

    def handle(request: httpx.Request) -> httpx.Response:
        status = statuses.pop(0) if statuses else 202
        if status == 202:
            seen.append(orjson.loads(request.content))
        return httpx.Response(status, json={})

    return httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://router"), seen


async def test_batches_are_sent_and_emptied():
    reporter = OutcomeReporter("http://router", interval_s=1, batch_size=2)
    for i in range(5):
        reporter.observe(receipt(attempt(f"p{i}", "success", 200, 10.0 + i)))
    client, seen = recorder([])
    await reporter.flush(client)
    assert [len(b["outcomes"]) for b in seen] == [2, 2, 1]
    assert [o["provider"] for b in seen for o in b["outcomes"]] == ["p0", "p1", "p2", "p3", "p4"]
    assert reporter.sent == 5 and not reporter.buffer


async def test_a_flush_sends_what_was_there_when_it_began_not_what_arrives_meanwhile():
    reporter = OutcomeReporter("http://router", interval_s=1, batch_size=2)
    for i in range(3):
        reporter.observe(receipt(attempt(f"p{i}", "success", 200, 10.0)))
    seen: list[list[str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append([o["provider"] for o in orjson.loads(request.content)["outcomes"]])
        reporter.observe(receipt(attempt(f"late{len(seen)}", "success", 200, 10.0)))  # busy gateway
        return httpx.Response(202, json={})

    await reporter.flush(httpx.AsyncClient(transport=httpx.MockTransport(handle), base_url="http://router"))
    assert seen == [["p0", "p1"], ["p2"]]  # two posts, not one per outcome arriving meanwhile
    assert [o["provider"] for o in reporter.buffer] == ["late1", "late2"]  # for the next flush


async def test_a_failed_batch_goes_back_in_order_and_is_sent_later():
    reporter = OutcomeReporter("http://router", interval_s=1, batch_size=10)
    for i in range(3):
        reporter.observe(receipt(attempt(f"p{i}", "success", 200, 10.0)))
    client, seen = recorder([503])
    try:
        await reporter.flush(client)
    except httpx.HTTPStatusError:
        pass
    assert [o["provider"] for o in reporter.buffer] == ["p0", "p1", "p2"] and reporter.sent == 0
    await reporter.flush(client)
    assert [o["provider"] for o in seen[0]["outcomes"]] == ["p0", "p1", "p2"]


async def test_a_batch_the_router_refuses_is_dropped_not_retried_forever():
    reporter = OutcomeReporter("http://router", interval_s=1, batch_size=10)
    reporter.observe(receipt(attempt("p", "success", 200, 10.0)))
    client, seen = recorder([400])
    await reporter.flush(client)
    assert not reporter.buffer and seen == []


def test_the_buffer_keeps_the_newest_when_the_router_stays_away():
    reporter = OutcomeReporter("http://router", interval_s=1, batch_size=10, capacity=3)
    for i in range(5):
        reporter.observe(receipt(attempt(f"p{i}", "success", 200, 10.0)))
    assert [o["provider"] for o in reporter.buffer] == ["p2", "p3", "p4"] and reporter.dropped == 2
