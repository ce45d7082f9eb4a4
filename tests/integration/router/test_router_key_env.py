"""api_key_env names only a variable the operator allowed: the router refuses any other name with
a 400 naming the field and the allowed names, and its health probes never send the value of one
(a registry written before the rule)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest
from structlog.testing import capture_logs

from services.common.registry.provider import Provider
from services.common.settings import Settings
from services.router.app import create_app
from tests.integration.router.router_support import README_PROVIDER, assert_error, register, serving

ADMIN = "admin-secret-do-not-send-0123456789"
PROBE_KEY = "sk-probe-allowed-0123456789"


@pytest.mark.parametrize("name", ["TOLLWAY_ADMIN_KEY", "tollway_admin_key", "TOLLWAY_DATABASE_URL", "PATH",
                                  "HOME", "AWS_SECRET_ACCESS_KEY", "DD_API_KEY"])
async def test_a_variable_outside_the_allowed_names_is_a_400_naming_api_key_env(client: httpx.AsyncClient, name):
    resp = await client.post("/register", json={**README_PROVIDER, "api_key_env": name})
    err = assert_error(resp, 400, field="api_key_env")
    assert "api_key_env" in err["message"] and name in err["message"]
    assert "OPENAI_API_KEY" in err["message"] and "TOLLWAY_PROVIDER_KEY_*" in err["message"]
    assert (await client.get("/providers/my-gpt4")).status_code == 404


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TOLLWAY_PROVIDER_KEY_TEAM_A"])
async def test_the_usual_provider_key_names_are_accepted(client: httpx.AsyncClient, name):
    assert (await register(client, {**README_PROVIDER, "api_key_env": name}))["provider"]["api_key_env"] == name


async def test_the_operator_decides_which_names(tmp_path, clock):
    app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, api_key_env_allow="MYCO_*"), clock=clock)
    async with serving(app) as client:
        await register(client, {**README_PROVIDER, "api_key_env": "MYCO_LLM_KEY"})
        err = assert_error(await client.post("/register", json={**README_PROVIDER, "api_key_env": "OPENAI_API_KEY"}),
                           400, field="api_key_env")
        assert "MYCO_*" in err["message"]


async def test_probes_never_send_a_value_from_a_name_the_rule_refuses(tmp_path, clock, monkeypatch):
    monkeypatch.setenv("TOLLWAY_SOME_SECRET", ADMIN)
    monkeypatch.setenv("TOLLWAY_PROVIDER_KEY_PROBE", PROBE_KEY)
    app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, health_check_interval_s=3600), clock=clock)
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": []})

    async with serving(app):
        store = app.state.router_context.store
        with capture_logs() as logs:  # from the first write: the start's own round may see them first
            for name, env in (("old", "TOLLWAY_SOME_SECRET"), ("good", "TOLLWAY_PROVIDER_KEY_PROBE")):
                await store.upsert(Provider(name, "gpt-4", 8192, f"http://{name}.local", Decimal(0), Decimal(0),
                                            api_key_env=env))
            async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as probes:
                await app.state.router_context.health.check_all(probes)
                await app.state.router_context.health.check_all(probes)
    by_host = {r.url.host: r.headers.get("authorization") for r in sent}
    assert by_host == {"old.local": None, "good.local": f"Bearer {PROBE_KEY}"}
    assert not any(ADMIN in str(r.headers) or ADMIN in str(r.url) for r in sent)
    refused = [e for e in logs if e["event"] == "provider_key_env_refused"]
    assert len(refused) == 1 and refused[0]["provider"] == "old" and "TOLLWAY_SOME_SECRET" in refused[0]["reason"]
    assert ADMIN not in str(logs)
