"""Registration input is held to what the registry can store and read back, and what the ledger can
book (a 400 naming the field, nothing saved); a provider row the router cannot read back is left out
while every other provider is still served and synced."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from structlog.testing import capture_logs

from tests.integration.router.router_support import provider


async def _saved(client: httpx.AsyncClient) -> tuple[Any, ...]:
    providers = (await client.get("/providers?include_inactive=true")).json()
    snap = (await client.get("/registry/snapshot")).json()
    return providers, snap["version"], snap["providers"]


REFUSED = [
    ({"slo": {"latency_p95_ms": 1e308}}, "slo.latency_p95_ms"),
    ({"slo": {"latency_p95_ms": 86_400_001}}, "slo.latency_p95_ms"),
    ({"slo": {"throughput_tps": 1e20}}, "slo.throughput_tps"),
    ({"input_per_mtok": "1000000.000001"}, "input_per_mtok"),
    ({"output_per_mtok": 1e11}, "output_per_mtok"),
    ({"cache_write_1h_per_mtok": "99999999999"}, "cache_write_1h_per_mtok"),
]


@pytest.mark.parametrize(("extra", "field"), REFUSED)
async def test_out_of_range_registration_is_a_400_naming_the_field_and_nothing_is_saved(
        client: httpx.AsyncClient, extra: dict[str, Any], field: str) -> None:
    assert (await client.post("/register", json=provider("kept"))).status_code == 201
    before = await _saved(client)
    resp = await client.post("/register", json=provider("far", **extra))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["field"] == field
    assert await _saved(client) == before


async def test_a_per_token_price_over_a_dollar_is_refused(client: httpx.AsyncClient) -> None:
    body = {"name": "dear", "model": "m", "context_window": 10, "endpoint": "http://sim.local",
            "cost_per_input_token": "1.000001", "cost_per_output_token": "1"}
    resp = await client.post("/register", json=body)
    assert resp.status_code == 400 and resp.json()["error"]["field"] == "cost_per_input_token"


async def test_the_widest_accepted_values_survive_every_rewrite(client: httpx.AsyncClient) -> None:
    widest = provider("wide", input_per_mtok="1000000", output_per_mtok="1000000", context_window=100_000_000,
                      slo={"latency_p95_ms": 86_400_000, "throughput_tps": 1e9, "availability": 1e-300})
    assert (await client.post("/register", json=widest)).status_code == 201
    assert (await client.delete("/providers/wide")).status_code == 200  # read back and written again
    assert (await client.post("/register", json=widest)).status_code == 200
    for path in ("/providers", "/registry/snapshot", "/providers/wide", "/stats"):
        assert (await client.get(path)).status_code == 200, path
    chosen = await client.post("/select", json={"requirements": {"model": "gpt-4"}, "optimization": "latency"})
    assert chosen.status_code == 200 and chosen.json()["provider"] == "wide"


async def test_a_cost_limit_no_amount_can_be_is_a_400(client: httpx.AsyncClient) -> None:
    await client.post("/register", json=provider("p"))
    for limit in (1e12, 1e308, "1" + "0" * 40):
        resp = await client.post("/select", json={"requirements": {"model": "gpt-4", "max_cost_usd": limit}})
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["field"] == "requirements.max_cost_usd"


async def test_a_provider_row_the_router_cannot_read_is_left_out(client: httpx.AsyncClient, tmp_path: Path,
                                                                 database_url: str, monkeypatch) -> None:
    monkeypatch.setattr("services.common.stored_rows._REPORTED", set())  # logged once per process: this run's
    assert (await client.post("/register", json=provider("good"))).status_code == 201
    good = (await client.get("/providers/good")).json()
    rows = [(name, body if isinstance(body, str) else json.dumps(body))
            for name, body in (("huge", {**good, "name": "huge", "slo": {"latency_p95_ms": 10**400}}),
                               ("broken", "{not json"), ("odd", [1, 2]))]
    with capture_logs() as logs:  # from the write: on PostgreSQL the router reads the rows when notified
        if database_url:  # PostgreSQL: written by hand in the test's schema
            conn = await asyncpg.connect(database_url)
            try:
                await conn.executemany("INSERT INTO providers VALUES ($1, 'gpt-4', true, 8192, '', '', $2)", rows)
                await conn.execute("UPDATE registry_version SET version = version + 1")
            finally:
                await conn.close()
        else:
            with sqlite3.connect(tmp_path / "router" / "registry.db", isolation_level=None) as db:
                db.executemany("INSERT INTO providers VALUES (?, 'gpt-4', 1, 8192, '', '', ?)", rows)
                db.execute("UPDATE registry_version SET version = version + 1")
        for _ in range(2):
            for path in ("/providers", "/registry/snapshot", "/stats", "/providers?include_inactive=true"):
                assert (await client.get(path)).status_code == 200, path
    assert [p["name"] for p in (await client.get("/registry/snapshot")).json()["providers"]] == ["good"]
    assert sorted(e["row_id"] for e in logs if e["event"] == "stored_row_unreadable") == ["broken", "huge", "odd"]
    assert (await client.get("/providers/huge")).status_code == 404
    chosen = await client.post("/select", json={"requirements": {"model": "gpt-4"}})
    assert chosen.status_code == 200 and chosen.json()["provider"] == "good"
    assert (await client.post("/register", json=provider("huge"))).status_code == 201  # replaces the bad row
    assert {p["name"] for p in (await client.get("/providers")).json()["providers"]} == {"good", "huge"}
