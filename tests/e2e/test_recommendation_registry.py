"""The cheaper-provider recommendation reads the router's registry over HTTP (real router and
ledger processes, TOLLWAY_LEDGER_ROUTER_URL): the provider of another model with the capabilities
the requests used, priced at its registered prices to the microdollar, is recommended, and one
lacking a feature, too small a context window, or soft-deleted, is not, however cheap. The router stopped, the
ledger falls back to comparing providers of one model name and says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from services.common import jsonio
from tests.e2e.swarm import Swarm, free_port

ADMIN = "registry-e2e-admin"
RUN = "registry-run"


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    root: Path = tmp_path_factory.mktemp("registry")
    s = Swarm(root, admin_key=ADMIN)
    s.ports.update(router=free_port(), ledger=free_port())
    s.extra_env["TOLLWAY_LEDGER_ROUTER_URL"] = s.url("router")
    s.start("router")
    s.start("ledger")
    yield s
    s.stop_all()


def register(swarm: Swarm, name: str, model: str, prices: tuple[str, str], features: list[str], context: int) -> None:
    resp = httpx.post(swarm.url("router") + "/register", headers=swarm.admin, json={
        "name": name, "model": model, "context_window": context, "input_per_mtok": prices[0],
        "output_per_mtok": prices[1], "features": features, "endpoint": "http://127.0.0.1:9/v1"})
    assert resp.status_code in (200, 201), resp.text


def booked(n: int, provider: str, prices: tuple[str, str], input_tokens: int, output_tokens: int) -> dict:
    i, o = (Decimal(input_tokens) * Decimal(prices[0]) / 10**6, Decimal(output_tokens) * Decimal(prices[1]) / 10**6)
    at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {"request_id": f"rg-{n:04d}", "run_id": RUN, "agent": "t", "timestamp": at,
            "provider": provider, "model": "big-model", "input_tokens": input_tokens, "output_tokens": output_tokens,
            "input_cost_usd": i, "output_cost_usd": o, "cost_usd": i + o,
            "prices": {"input_per_mtok": Decimal(prices[0]), "output_per_mtok": Decimal(prices[1])},
            "latency_ms": 5.0, "status": "success", "fallback": False, "attempts": [], "strategy": "cost",
            "reason": "e2e", "stream": False, "usage_estimated": False}


def recommendations(swarm: Swarm) -> dict:
    resp = httpx.get(swarm.url("ledger") + "/analytics/recommendations", params={"run": RUN}, headers=swarm.admin,
                     timeout=30)
    assert resp.status_code == 200, resp.text
    return jsonio.loads_exact(resp.content)


def test_a_cheaper_provider_with_the_same_capabilities_from_the_router(swarm: Swarm) -> None:
    both = ["function_calling", "vision"]
    register(swarm, "rg-dear", "big-model", ("10", "30"), both, 128_000)
    register(swarm, "rg-able", "other-model", ("1", "3"), [*both, "json_mode"], 8_000)
    register(swarm, "rg-blind", "text-model", ("0.1", "0.2"), ["function_calling"], 128_000)  # no vision
    register(swarm, "rg-short", "tiny-model", ("0.1", "0.2"), both, 4_096)  # the requests used 5,000
    register(swarm, "rg-gone", "tiny-model", ("0.1", "0.2"), both, 128_000)  # able, but soft-deleted:
    assert httpx.delete(swarm.url("router") + "/providers/rg-gone", headers=swarm.admin).status_code == 200
    # booked: three at rg-dear ($0.07 each), one at rg-twin (not registered: the same model, $5/$15)
    receipts = [booked(n, "rg-dear", ("10", "30"), 4_000, 1_000) for n in range(3)]
    receipts.append(booked(3, "rg-twin", ("5", "15"), 4_000, 1_000))
    resp = httpx.post(swarm.url("ledger") + "/receipts", headers={**swarm.admin, "content-type": "application/json"},
                      content=jsonio.dumps({"receipts": receipts}))
    assert resp.status_code == 200 and resp.json()["accepted"] == 4, resp.text

    body = recommendations(swarm)
    assert body["provider_registry"] == {"source": swarm.url("router"), "providers": 4}
    (rec,) = [r for r in body["recommendations"] if r["kind"] == "cheaper_provider"]
    assert rec["estimated_saving_micros"] == 3 * (70_000 - 7_000) and rec["estimated_saving_usd"] == "0.189000"
    assert rec["requests"] == 3 and rec["example_request_ids"] == ["rg-0000", "rg-0001", "rg-0002"]
    ev = rec["evidence"]
    assert (ev["basis"], ev["registry"], ev["from_provider"], ev["to_provider"], ev["to_model"]) == (
        "router_registry", swarm.url("router"), "rg-dear", "rg-able", "other-model")
    assert ev["from_capabilities"]["features"] == both and ev["from_capabilities"]["context_window"] == 128_000
    assert ev["to_capabilities"]["features"] == ["function_calling", "json_mode", "vision"]
    assert ev["to_capabilities"]["context_window"] == 8_000
    assert ev["requests_needed"] == {"features": both, "context_tokens": 5_000, "output_tokens": 1_000,
                                     "stream": False}
    assert ev["cost_usd"] == "0.210000" and ev["cost_at_to_prices_usd"] == "0.021000"

    swarm.stop("router")  # unreachable: today's comparison by model name, and the reason
    body = recommendations(swarm)
    assert body["provider_registry"]["source"] is None
    assert "unreachable (ConnectError)" in body["provider_registry"]["reason"]
    (rec,) = [r for r in body["recommendations"] if r["kind"] == "cheaper_provider"]
    assert (rec["evidence"]["basis"], rec["evidence"]["from_provider"], rec["evidence"]["to_provider"]) == (
        "same_model", "rg-dear", "rg-twin")
    assert rec["evidence"]["registry"] == body["provider_registry"]["reason"]
    assert rec["estimated_saving_micros"] == 3 * (70_000 - 35_000)
