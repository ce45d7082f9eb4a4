"""The router's health checks on the real app: probe results and the gateways' outcome reports
mark a provider unhealthy (GET /providers, the snapshot, POST /select leave it out and say why)
and healthy again, and each change moves the snapshot's version."""

from __future__ import annotations

import httpx
import pytest

from services.common.settings import Settings
from services.router.app import create_app
from tests.integration.router.router_support import provider, register, serving


@pytest.fixture
def app(tmp_path, clock):
    # checks on (passive health needs them) but far apart: the tests run each round by hand
    settings = Settings(artifacts_dir=tmp_path, access_log=False, health_check_interval_s=3600,
                        health_unhealthy_after=2, health_healthy_after=2, health_passive_failures=3)
    return create_app(settings, clock=clock)


class Upstreams:
    """Answers the probes: a host is up or down as the test says."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.seen: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        if request.url.host in self.down:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"data": []})


async def check(app, upstreams: Upstreams) -> None:
    async with httpx.AsyncClient(transport=httpx.MockTransport(upstreams.handler)) as probes:
        await app.state.router_context.health.check_all(probes)


async def status_of(client, name):
    return (await client.get(f"/providers/{name}")).json()["health"]


async def test_a_dead_provider_goes_out_of_selection_and_comes_back(app):
    ups = Upstreams()
    async with serving(app) as client:
        await register(client, provider("flaky", endpoint="http://flaky.local", input_per_mtok="1"))
        await register(client, provider("steady", endpoint="http://steady.local", input_per_mtok="5"))
        await check(app, ups)
        assert (await status_of(client, "flaky"))["status"] == "healthy"
        assert "http://flaky.local/v1/models" in ups.seen
        version = (await client.get("/registry/snapshot")).json()["version"]

        ups.down.add("flaky.local")
        await check(app, ups)
        assert (await status_of(client, "flaky"))["status"] == "healthy"  # one failure is not enough
        await check(app, ups)
        health = await status_of(client, "flaky")
        assert health["status"] == "unhealthy" and "2 health checks failed in a row" in health["reason"]
        snapshot = (await client.get("/registry/snapshot")).json()
        assert snapshot["version"] > version
        assert {p["name"]: p["health"]["status"] for p in snapshot["providers"]} == \
            {"flaky": "unhealthy", "steady": "healthy"}
        decision = (await client.post("/select", json={"requirements": {"model": "gpt-4"}})).json()
        assert decision["provider"] == "steady"
        assert any(e["provider"] == "flaky" and e["reason"].startswith("unhealthy (2 health checks failed")
                   for e in decision["excluded"])

        ups.down.clear()
        await check(app, ups)
        assert (await status_of(client, "flaky"))["status"] == "unhealthy"
        await check(app, ups)
        assert (await status_of(client, "flaky"))["status"] == "healthy"
        decision = (await client.post("/select", json={"requirements": {"model": "gpt-4"}})).json()
        assert decision["provider"] == "flaky"


async def test_failed_requests_reported_by_gateways_take_a_provider_out(app):
    async with serving(app) as client:
        await register(client, provider("busy", endpoint="http://busy.local"))
        outcome = {"provider": "busy", "latency_ms": 12.5, "success": False}
        for _ in range(2):
            assert (await client.post("/outcomes", json={"outcomes": [outcome]})).status_code == 202
        assert (await status_of(client, "busy"))["status"] == "unknown"
        await client.post("/outcomes", json={"outcomes": [outcome]})
        health = await status_of(client, "busy")
        assert health["status"] == "unhealthy" and "3 requests failed in a row" in health["reason"]


async def test_re_registering_at_a_new_address_starts_unchecked(app):
    ups = Upstreams()
    ups.down.add("old.local")
    async with serving(app) as client:
        await register(client, provider("moved", endpoint="http://old.local"))
        await check(app, ups)
        await check(app, ups)
        assert (await status_of(client, "moved"))["status"] == "unhealthy"
        await register(client, provider("moved", endpoint="http://old.local", priority=5), status=200)
        assert (await status_of(client, "moved"))["status"] == "unhealthy"  # same address: still out
        await register(client, provider("moved", endpoint="http://new.local"), status=200)
        assert (await status_of(client, "moved"))["status"] == "unknown"
