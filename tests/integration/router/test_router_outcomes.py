"""POST /outcomes: batches of upstream outcomes become per-provider stats in the registry
snapshot (P95, success rate, samples), and latency selection follows them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import jsonschema
from fastapi import FastAPI

from services.common import contracts
from services.common.clock import FrozenClock, parse_utc, utc_iso
from services.common.http.hot_path import HotPath
from services.common.settings import Settings
from services.router.app import create_app
from services.router.context import RouterContext
from tests.integration.router.router_support import START, assert_error, provider, register, serving


def outcomes(name: str, latency: float, n: int, *, ok: bool = True) -> list[dict]:
    return [{"provider": name, "latency_ms": latency + i, "success": ok} for i in range(n)]


async def publish(app: FastAPI) -> None:
    """What the background publisher does every interval."""
    ctx: RouterContext = app.state.router_context
    if await ctx.outcomes.publish():
        await ctx.changed()


async def test_reports_become_stats_in_the_snapshot(client: httpx.AsyncClient, app: FastAPI):
    await register(client, provider("a", latency_ms=300))
    version = (await client.get("/registry/snapshot")).json()["version"]
    resp = await client.post("/outcomes", json={"outcomes": outcomes("a", 1000, 19) + outcomes("a", 0, 1, ok=False)})
    assert resp.status_code == 202 and resp.json() == {"received": 20, "kept": 20}
    await publish(app)
    snap = (await client.get("/registry/snapshot")).json()
    jsonschema.validate(snap, contracts.schema("registry_snapshot"))
    assert snap["version"] == version + 1
    stats = snap["observed"]["providers"]["a"]
    assert stats == {"p95_ms": 1018.0, "success_rate": 0.95, "samples": 20}  # nearest rank: 19th of 19
    assert snap["observed"]["min_samples"] == 20 and snap["observed"]["success_floor"] == 0.8
    assert (await client.get("/outcomes/stats")).json()["providers"]["a"]["samples"] == 20


async def test_latency_selection_moves_when_the_observed_p95_is_worse_than_the_slo(client: httpx.AsyncClient,
                                                                                    app: FastAPI):
    await register(client, provider("claims-fast", latency_ms=200))
    await register(client, provider("steady", latency_ms=900))
    before = (await client.post("/select", json={"optimization": "latency"})).json()
    assert before["provider"] == "claims-fast" and before["latency_source"] == "slo"
    await client.post("/outcomes", json={"outcomes": outcomes("claims-fast", 4000, 30) + outcomes("steady", 700, 30)})
    await publish(app)
    after = (await client.post("/select", json={"optimization": "latency"})).json()
    assert after["provider"] == "steady" and after["latency_source"] == "observed"
    assert "observed over 30 outcomes" in after["reason"]
    assert after["confidence"] > before["confidence"]


async def test_a_failing_provider_drops_out_of_latency_routing(client: httpx.AsyncClient, app: FastAPI):
    await register(client, provider("fast-flaky", latency_ms=100))
    await register(client, provider("slow-solid", latency_ms=900))
    await client.post("/outcomes", json={"outcomes": outcomes("fast-flaky", 50, 10) + outcomes("fast-flaky", 50, 20,
                                                                                                  ok=False)})
    await publish(app)
    d = (await client.post("/select", json={"optimization": "latency"})).json()
    assert d["provider"] == "slow-solid"
    assert {"provider": "fast-flaky", "reason": "success rate 33% < floor 80% over 30 outcomes"} in d["excluded"]


async def test_nothing_new_leaves_the_version_alone(client: httpx.AsyncClient, app: FastAPI):
    await register(client, provider("a"))
    version = (await client.get("/registry/snapshot")).json()["version"]
    await publish(app)
    assert (await client.get("/registry/snapshot")).json()["version"] == version


async def test_bad_batches_are_refused_whole(client: httpx.AsyncClient):
    for body, field in [({"outcomes": [{"provider": "a", "latency_ms": -1, "success": True}]}, "outcomes.0.latency_ms"),
                        ({"outcomes": [{"provider": "a/b", "latency_ms": 1, "success": True}]}, "outcomes.0.provider"),
                        ({"outcomes": [{"provider": "a", "latency_ms": 1}]}, "outcomes.0"),
                        ({"outcomes": [{"provider": "a", "latency_ms": 1, "success": True, "at": "yesterday"}]},
                         "outcomes.0.at"),
                        ({}, None)]:
        assert_error(await client.post("/outcomes", json=body), 400, field=field)
    assert (await client.get("/outcomes/stats")).json()["received"] == 0


async def test_select_takes_in_flight_counts_and_unavailable_providers(client: httpx.AsyncClient):
    await register(client, provider("a", input_per_mtok="1"))
    await register(client, provider("b", input_per_mtok="2"))
    await register(client, provider("c", input_per_mtok="3"))
    busy = {"optimization": "least_busy", "in_flight": {"a": 4, "b": 0, "c": 0}}
    d = (await client.post("/select", json=busy)).json()
    assert d["provider"] == "b"
    d = (await client.post("/select", json={"strategy": "failover", "unavailable": {"a": "circuit open"}})).json()
    assert d["provider"] == "b" and {"provider": "a", "reason": "circuit open"} in d["excluded"]


def gateway_outcomes(name: str, n: int, *, start_ms: int = 0) -> list[dict]:
    """As the gateway's reporter sends them: the receipt's timestamp, latencies to the µs."""
    return [{"provider": name, "latency_ms": 100.125 + i, "success": i % 10 != 0,
             "at": utc_iso(START - timedelta(milliseconds=start_ms + i))} for i in range(n)]


async def test_a_batch_survives_a_restart(tmp_path: Path, clock: FrozenClock):
    settings = Settings(artifacts_dir=tmp_path, access_log=False)
    first = create_app(settings, clock=clock)
    async with serving(first) as client:
        resp = await client.post("/outcomes", json={"source": "gw-1", "outcomes": gateway_outcomes("a", 40)
                                                    + gateway_outcomes("b", 25, start_ms=7)})
        assert resp.status_code == 202 and resp.json() == {"received": 65, "kept": 65}
        await publish(first)
        before = (await client.get("/outcomes/stats")).json()
    assert before["providers"]["a"] == {"p95_ms": 138.125, "success_rate": 0.9, "samples": 40}  # 35th of 36

    clock.set(START + timedelta(minutes=10))
    again = create_app(settings, clock=clock)
    async with serving(again) as client:
        after = (await client.get("/outcomes/stats")).json()
        assert after["providers"] == before["providers"] and after["epoch"] == before["epoch"] == 1
        snap = (await client.get("/registry/snapshot")).json()
        assert snap["observed"]["providers"]["b"]["samples"] == 25


async def test_a_time_the_pattern_allows_but_no_calendar_has_is_a_400(client: httpx.AsyncClient):
    for at in ("2026-02-30T10:30:15.250Z", "2026-11-23T24:00:00Z", "0000-01-01T00:00:00Z"):
        body = {"outcomes": [{"provider": "a", "latency_ms": 1, "success": True},
                             {"provider": "a", "latency_ms": 1, "success": True, "at": at}]}
        error = assert_error(await client.post("/outcomes", json=body), 400, field="outcomes.1.at")
        assert "is not a time" in error["message"]
    assert (await client.get("/outcomes/stats")).json()["received"] == 0  # refused whole


async def test_a_time_that_cannot_be_right_is_a_400_and_a_late_one_is_taken(client: httpx.AsyncClient):
    """Before 2020 or more than a day ahead of the router's clock: refused whole, naming the field;
    a gateway reporting ten days late after an outage is heard."""
    for at in ("9999-12-31T23:59:59.999Z", utc_iso(START + timedelta(days=1, milliseconds=1)),
               "0001-01-01T00:00:00Z", "2019-12-31T23:59:59Z"):
        body = {"outcomes": [{"provider": "a", "latency_ms": 1, "success": True},
                             {"provider": "a", "latency_ms": 1, "success": True, "at": at}]}
        error = assert_error(await client.post("/outcomes", json=body), 400, field="outcomes.1.at")
        assert at in error["message"]
    assert (await client.get("/outcomes/stats")).json()["received"] == 0
    late = {"outcomes": gateway_outcomes("a", 3, start_ms=10 * 86_400_000)}
    resp = await client.post("/outcomes", json=late)  # taken; past the latency window, so not kept
    assert resp.status_code == 202 and resp.json() == {"received": 3, "kept": 0}


async def test_other_valid_times_are_read_as_before(client: httpx.AsyncClient, app: FastAPI):
    times = ["2026-11-23T10:30:15Z", "2026-11-23T10:30:15.2Z", "2026-11-23T10:30:15.250123456Z"]
    body = {"outcomes": [{"provider": "a", "latency_ms": 5, "success": True, "at": at} for at in times]}
    assert (await client.post("/outcomes", json=body)).json() == {"received": 3, "kept": 3}
    ctx: RouterContext = app.state.router_context
    assert [o.at for o in await ctx.outcomes.log.since(0.0)] == [parse_utc(at).timestamp() for at in times]


async def test_outcomes_are_served_on_the_hot_path_behind_the_admin_key(tmp_path: Path, clock: FrozenClock):
    app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, admin_key="adm-1"), clock=clock)
    hot = [m for m in app.user_middleware if m.cls is HotPath]
    assert len(hot) == 1 and ("POST", "/outcomes") in hot[0].kwargs["routes"]
    body = {"outcomes": gateway_outcomes("a", 3)}
    async with serving(app) as client:
        assert (await client.post("/outcomes", json=body)).status_code == 401
        assert (await client.post("/outcomes", json=body, headers={"x-admin-key": "adm-2"})).status_code == 403
        ok = await client.post("/outcomes", json=body, headers={"authorization": "Bearer adm-1"})
        assert ok.status_code == 202 and ok.json() == {"received": 3, "kept": 3}
        bad = await client.post("/outcomes", content=b"[1]", headers={"authorization": "Bearer adm-1"})
        assert_error(bad, 400)
        assert (await client.get("/outcomes/stats")).json()["received"] == 3
