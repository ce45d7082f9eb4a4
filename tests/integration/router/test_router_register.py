"""POST /register: the README body as is, exact prices, updates, reactivation, persistence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import jsonschema

from services.common import contracts
from services.common.clock import FrozenClock, utc_iso
from services.common.settings import Settings
from services.router.app import create_app
from tests.integration.router.router_support import README_PROVIDER, START, provider, register, serving


async def test_the_readme_body_is_accepted_as_is_and_its_prices_are_exact(client: httpx.AsyncClient):
    resp = await client.post("/register", json=README_PROVIDER)
    assert resp.status_code == 201, resp.text
    # the JSON text itself: exact decimals, never 30.000000000000004 or 3e-05
    assert '"input_per_mtok":30,' in resp.text
    assert '"output_per_mtok":60,' in resp.text
    assert '"cost_per_input_token":0.00003,' in resp.text
    assert '"cost_per_output_token":0.00006,' in resp.text
    out = resp.json()
    assert out["created"] is True and out["reactivated"] is False
    jsonschema.validate(out["provider"], contracts.schema("provider"))
    p = out["provider"]
    assert (p["name"], p["model"], p["context_window"], p["endpoint"]) == (
        "my-gpt4", "gpt-4", 8192, "http://localhost:8100")
    assert p["features"] == ["function_calling", "vision"]
    assert p["slo"] == {"latency_p95_ms": 2000}
    assert p["api_format"] == "openai" and p["api_key_env"] is None and p["active"] is True
    assert p["registered_at"] == p["updated_at"] == utc_iso(START)


async def test_per_million_prices_as_strings_convert_exactly(client: httpx.AsyncClient):
    body = provider("claude", model="claude-3", input_per_mtok="2.5", output_per_mtok="12.75",
                    api_format="anthropic", api_key_env="ANTHROPIC_API_KEY")
    resp = await client.post("/register", json=body)
    assert resp.status_code == 201, resp.text
    assert '"input_per_mtok":2.5,' in resp.text and '"output_per_mtok":12.75,' in resp.text
    assert '"cost_per_input_token":0.0000025,' in resp.text
    assert '"cost_per_output_token":0.00001275,' in resp.text
    p = resp.json()["provider"]
    assert p["api_format"] == "anthropic" and p["api_key_env"] == "ANTHROPIC_API_KEY"
    shown = await client.get("/providers/claude")
    assert '"cost_per_input_token":0.0000025,' in shown.text  # the stored copy is exact too


async def test_curl_style_form_content_type_is_still_read_as_json(client: httpx.AsyncClient):
    resp = await client.post("/register", content=httpx.Request("POST", "/", json=README_PROVIDER).content,
                             headers={"content-type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 201, resp.text


async def test_re_registration_updates_and_keeps_registered_at(client: httpx.AsyncClient, clock: FrozenClock):
    await register(client, provider("a", input_per_mtok="10"))
    clock.set(START + timedelta(hours=1))
    out = await register(client, provider("a", input_per_mtok="8", latency_ms=900), status=200)
    assert out["created"] is False and out["reactivated"] is False
    p = out["provider"]
    assert p["input_per_mtok"] == 8 and p["slo"] == {"latency_p95_ms": 900}
    assert p["registered_at"] == utc_iso(START)
    assert p["updated_at"] == utc_iso(START + timedelta(hours=1))
    listed = (await client.get("/providers")).json()
    assert listed["count"] == 1


async def test_soft_deleted_provider_is_reactivated_by_registering_again(client: httpx.AsyncClient,
                                                                         clock: FrozenClock):
    await register(client, provider("a"))
    assert (await client.delete("/providers/a")).status_code == 200
    clock.set(START + timedelta(days=2))
    out = await register(client, provider("a"), status=200)
    assert out["created"] is False and out["reactivated"] is True
    assert out["provider"]["active"] is True
    assert out["provider"]["registered_at"] == utc_iso(START)
    assert [p["name"] for p in (await client.get("/providers")).json()["providers"]] == ["a"]


async def test_every_change_bumps_the_registry_version(client: httpx.AsyncClient):
    async def version() -> int:
        return int((await client.get("/registry/snapshot")).json()["version"])

    assert await version() == 0
    await register(client, provider("a"))
    assert await version() == 1
    await register(client, provider("a"), status=200)
    assert await version() == 2
    await client.delete("/providers/a")
    assert await version() == 3
    await client.delete("/providers/a")  # already inactive: nothing changed
    assert await version() == 3


async def test_health_reports_provider_count_and_registry_version(client: httpx.AsyncClient):
    await register(client, provider("a"))
    await register(client, provider("b"))
    await client.delete("/providers/b")
    health = (await client.get("/health")).json()
    assert health["service"] == "router" and health["status"] == "ok"
    assert health["registry"] == {"version": 3, "providers": 1}


async def test_the_registry_survives_a_restart(tmp_path: Path, clock: FrozenClock, database_url: str):
    settings = Settings(artifacts_dir=tmp_path, access_log=False, database_url=database_url)
    async with serving(create_app(settings, clock=clock)) as first:
        await register(first, README_PROVIDER)
        await register(first, provider("b"))
    assert (tmp_path / "router" / "registry.db").is_file() == (not database_url)
    async with serving(create_app(settings, clock=clock)) as second:
        snap = (await second.get("/registry/snapshot")).json()
        assert snap["version"] == 2
        assert [p["name"] for p in snap["providers"]] == ["b", "my-gpt4"]
        assert '"input_per_mtok":30,' in (await second.get("/providers/my-gpt4")).text
        await register(second, provider("c"))
        assert (await second.get("/registry/snapshot")).json()["version"] == 3
