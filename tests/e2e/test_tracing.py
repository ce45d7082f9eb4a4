"""W3C trace context through real processes. With OpenTelemetry on (TOLLWAY_OTEL_ENABLED, spans
exported over OTLP/HTTP to a real local collector): a client's traceparent is continued by the
gateway's server span, its provider call is a client span whose traceparent the provider receives,
the receipt carries the trace, the ledger's ingest links to it, the router continues it too, and
the gateway's log lines carry the trace id. With it off: the caller's traceparent still reaches the
provider unchanged, the receipt and the logs."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import wait_until
from tests.e2e.otlp_collector import CLIENT, SERVER, Collector, collector, provider
from tests.e2e.swarm import Swarm

MODEL = "traced-model"


def traceparent() -> tuple[str, str, str]:
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return trace_id, span_id, f"00-{trace_id}-{span_id}-01"


def start(root, fake_provider: str, env: dict[str, str]) -> Swarm:
    s = Swarm(root, extra_env=env)
    s.start_all()
    body = {"name": "traced-provider", "model": MODEL, "context_window": 4096, "input_per_mtok": "1",
            "output_per_mtok": "2", "endpoint": fake_provider}
    assert httpx.post(s.url("router") + "/register", json=body).status_code in (200, 201)
    s.wait_for_model(MODEL)
    return s


def chat(swarm: Swarm, run: str, header: str) -> httpx.Response:
    return httpx.post(swarm.url("gateway") + "/v1/chat/completions", timeout=30,
                      json={"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
                      headers={"x-tollway-run": run, "traceparent": header})


def receipt(swarm: Swarm, run: str) -> dict:
    return json.loads((swarm.costs / f"{run}.jsonl").read_text().splitlines()[-1])


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Swarm, Collector, list[str | None]]]:
    with collector() as (found, otlp), provider() as (seen, fake):
        s = start(tmp_path_factory.mktemp("traced"), fake, {
            "TOLLWAY_OTEL_ENABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": otlp,
            "OTEL_BSP_SCHEDULE_DELAY": "100"})  # export every 0.1 s
        yield s, found, seen
        s.stop_all()


def test_a_traceparent_runs_through_gateway_provider_receipt_ledger_and_router(traced) -> None:
    swarm, spans, provider_saw = traced
    trace_id, parent, header = traceparent()
    assert chat(swarm, "traced-run", header).status_code == 200
    wait_until(lambda: any(s.service == "tollway-gateway" and s.kind == CLIENT for s in spans.of_trace(trace_id)),
               timeout=10, what="the gateway's spans exported")
    server = next(s for s in spans.of_trace(trace_id) if s.service == "tollway-gateway" and s.kind == SERVER)
    assert server.name == "POST /v1/chat/completions" and server.parent_span_id == parent
    assert server.attributes["http.response.status_code"] == 200
    call = next(s for s in spans.of_trace(trace_id) if s.service == "tollway-gateway" and s.kind == CLIENT)
    assert call.name == "provider traced-provider" and call.parent_span_id == server.span_id
    assert provider_saw[-1] == f"00-{trace_id}-{call.span_id}-01"  # the provider continues the client span
    written = receipt(swarm, "traced-run")
    assert (written["trace_id"], written["span_id"]) == (trace_id, server.span_id)
    wait_until(lambda: bool(spans.linking(trace_id)), timeout=10, what="the ledger's ingest span linked")
    ingest = spans.linking(trace_id)[0]
    assert ingest.service == "tollway-ledger" and ingest.name == "POST /receipts"
    assert (trace_id, server.span_id) in ingest.links
    # the router continues a caller's trace the same way
    selected = httpx.post(swarm.url("router") + "/select", json={"requirements": {"model": MODEL}},
                          headers={"traceparent": header})
    assert selected.status_code == 200, selected.text

    def router_spans() -> list:
        return [s for s in spans.of_trace(trace_id) if s.service == "tollway-router" and s.kind == SERVER]

    wait_until(lambda: bool(router_spans()), timeout=10, what="the router's span exported")
    routed = router_spans()[0]
    assert routed.name == "POST /select" and routed.parent_span_id == parent
    # every gateway log line of the request carries the trace id
    lines = gateway_lines(swarm, trace_id)
    assert {line.get("trace_id") for line in lines} == {trace_id}


def test_a_request_without_traceparent_starts_a_trace(traced) -> None:
    swarm, spans, provider_saw = traced
    assert httpx.post(swarm.url("gateway") + "/v1/chat/completions", timeout=30,
                      json={"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
                      headers={"x-tollway-run": "untraced-run"}).status_code == 200
    written = receipt(swarm, "untraced-run")
    assert len(written["trace_id"]) == 32 and provider_saw[-1].split("-")[1] == written["trace_id"]
    wait_until(lambda: any(s.kind == SERVER and s.span_id == written["span_id"]
                           for s in spans.of_trace(written["trace_id"])), timeout=10, what="the root span exported")
    root = next(s for s in spans.of_trace(written["trace_id"]) if s.span_id == written["span_id"])
    assert root.parent_span_id == ""


def gateway_lines(swarm: Swarm, trace_id: str) -> list[dict]:
    """The gateway's log lines that mention `trace_id`, once the request's own line is there (it is
    written as the answer goes out, so it may trail the client's read of the answer)."""
    def lines() -> list[dict]:
        return [json.loads(line) for line in swarm.log("gateway").splitlines() if trace_id in line]

    wait_until(lambda: any(line.get("event") == "request" and line.get("path") == "/v1/chat/completions"
                           for line in lines()), timeout=10, what=f"the gateway's request line for trace {trace_id}")
    return lines()


@pytest.fixture(scope="module")
def untraced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Swarm, list[str | None]]]:
    with provider() as (seen, fake):
        s = start(tmp_path_factory.mktemp("untraced"), fake, {})
        yield s, seen
        s.stop_all()


def test_without_tracing_the_callers_traceparent_still_reaches_provider_receipt_and_logs(untraced) -> None:
    swarm, provider_saw = untraced
    trace_id, parent, header = traceparent()
    assert chat(swarm, "plain-run", header).status_code == 200
    assert provider_saw[-1] == header  # passed on unchanged: no span of ours in between
    written = receipt(swarm, "plain-run")
    assert (written["trace_id"], written["span_id"]) == (trace_id, parent)
    lines = gateway_lines(swarm, trace_id)
    assert {line.get("trace_id") for line in lines} == {trace_id}
    assert "otel_enabled" not in swarm.log("gateway")
    assert chat(swarm, "plain-run", "00-not-a-valid-header-01").status_code == 200  # a bad header: no trace
    assert "trace_id" not in receipt(swarm, "plain-run") and provider_saw[-1] is None
