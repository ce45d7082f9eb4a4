"""Bad input to the router gets a clear 4xx JSON error (contracts/error.schema.json), never a
500; a secret in a registration is refused and never echoed."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.integration.router.router_support import README_PROVIDER, assert_error

SECRET = "sk-live-9f8e7d6c5b4a3210-do-not-echo"
UNCATALOGUED = {**README_PROVIDER, "model": "my-own-model"}

REGISTER_CASES = [
    (b"{not json", 400, None),
    (b"", 400, None),
    (b"[1, 2]", 400, None),
    (b"\xff\xfe", 400, None),
    (json.dumps({**README_PROVIDER, "context_window": "big"}).encode(), 400, "context_window"),
    (json.dumps({**README_PROVIDER, "cost_per_input_token": "cheap"}).encode(), 400, "cost_per_input_token"),
    (json.dumps({**README_PROVIDER, "cost_per_input_token": -1}).encode(), 400, "cost_per_input_token"),
    (json.dumps({**README_PROVIDER, "features": "vision"}).encode(), 400, "features"),
    (json.dumps({**README_PROVIDER, "api_format": "soap"}).encode(), 400, "api_format"),
    (json.dumps({**README_PROVIDER, "endpoint": "ftp://x"}).encode(), 400, "endpoint"),
    (json.dumps({**README_PROVIDER, "name": "../../x"}).encode(), 400, "name"),
    (json.dumps({**README_PROVIDER, "name": "a/b"}).encode(), 400, "name"),
    # a model the price catalog does not know needs its prices (gpt-4 takes the catalog's: docs/pricing.md)
    (json.dumps({k: v for k, v in UNCATALOGUED.items() if not k.startswith("cost_")}).encode(), 400, "model"),
    (json.dumps({k: v for k, v in UNCATALOGUED.items() if k != "cost_per_output_token"}).encode(), 400,
     "cost_per_output_token"),
    (json.dumps({k: v for k, v in UNCATALOGUED.items() if k != "context_window"}).encode(), 400, "context_window"),
    (json.dumps({**README_PROVIDER, "input_per_mtok": 30}).encode(), 400, None),
    (json.dumps({k: v for k, v in README_PROVIDER.items() if k != "model"}).encode(), 400, None),
    (json.dumps({**README_PROVIDER, "max_output_tokens": 10_000}).encode(), 400, "max_output_tokens"),
    (json.dumps({**README_PROVIDER, "surprise": 1}).encode(), 400, None),
]


@pytest.mark.parametrize(("body", "status", "field"), REGISTER_CASES)
async def test_bad_registrations_are_a_clear_4xx(client: httpx.AsyncClient, body: bytes, status: int,
                                                  field: str | None):
    resp = await client.post("/register", content=body, headers={"content-type": "application/json"})
    assert_error(resp, status, field=field)
    assert (await client.get("/providers?include_inactive=true")).json()["count"] == 0


@pytest.mark.parametrize(("extra", "field"), [
    ({"api_key": SECRET}, "api_key"),
    ({"apiKey": SECRET}, "apiKey"),
    ({"key": SECRET}, "key"),
    ({"secret": SECRET}, "secret"),
    ({"token": SECRET}, "token"),
    ({"Authorization": f"Bearer {SECRET}"}, "Authorization"),
    ({"headers": {"x-api-key": SECRET}}, "headers.x-api-key"),
    ({"endpoint": f"https://generativelanguage.googleapis.com/v1?key={SECRET}"}, "endpoint"),
    ({"endpoint": f"https://user:{SECRET}@api.example.com"}, "endpoint"),
])
async def test_a_secret_in_the_body_is_refused_and_never_echoed(client: httpx.AsyncClient,
                                                                capsys: pytest.CaptureFixture[str],
                                                                extra: dict[str, object], field: str):
    resp = await client.post("/register", json={**README_PROVIDER, **extra})
    err = assert_error(resp, 400, field=field)
    assert "api_key_env" in err["message"]
    assert SECRET not in resp.text
    assert SECRET not in "".join(capsys.readouterr())
    assert (await client.get("/providers?include_inactive=true")).json()["count"] == 0


async def test_a_secret_is_refused_even_when_the_rest_is_invalid(client: httpx.AsyncClient):
    resp = await client.post("/register", json={"name": "../../x", "api_key": SECRET})
    assert_error(resp, 400, field="api_key")
    assert SECRET not in resp.text


async def test_api_key_env_names_a_variable_and_is_not_a_secret(client: httpx.AsyncClient):
    resp = await client.post("/register", json={**README_PROVIDER, "api_key_env": "OPENAI_API_KEY"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["provider"]["api_key_env"] == "OPENAI_API_KEY"
    resp = await client.post("/register", json={**README_PROVIDER, "api_key_env": SECRET})
    err = assert_error(resp, 400, field="api_key_env")
    assert "not the key itself" in err["message"]
    assert SECRET not in resp.text


@pytest.mark.parametrize(("body", "field"), [
    (b'{"optimization": "cheapest-please"}', "optimization"),
    (b'{"requirements": {"context_window": "big"}}', "requirements.context_window"),
    (b'{"requirements": "gpt-4"}', "requirements"),
    (b'{"estimated_input_tokens": -5}', "estimated_input_tokens"),
    (b'{"max_output_tokens": 0}', "max_output_tokens"),
    (b'{"exclude": "cheap"}', "exclude"),
    (b"{", None),
    (b"null", None),
])
async def test_bad_selection_requests_are_a_400(client: httpx.AsyncClient, body: bytes, field: str | None):
    resp = await client.post("/select", content=body, headers={"content-type": "application/json"})
    assert_error(resp, 400, field=field)


async def test_oversized_registration_is_a_413(client: httpx.AsyncClient):
    resp = await client.post("/register", content=b"x" * (5 * 1024 * 1024))
    assert_error(resp, 413)


async def test_wrong_method_is_a_json_405(client: httpx.AsyncClient):
    assert_error(await client.put("/providers/x", json={}), 405)


@pytest.mark.parametrize(("section", "name", "literal"), [
    ("slo", "latency_p95_ms", "NaN"),
    ("slo", "throughput_tps", "NaN"),
    ("slo", "availability", "NaN"),
    ("slo", "latency_p95_ms", "Infinity"),
    ("timeouts", "total_s", "NaN"),
])
async def test_a_figure_that_is_no_number_is_a_400_naming_it(client: httpx.AsyncClient, section: str, name: str,
                                                             literal: str):
    """JSON parsing reads NaN and Infinity, and no bound of the contract refuses NaN: they were
    accepted and stored as null."""
    good = json.dumps({**README_PROVIDER, "slo": {}, section: {name: 1}}).encode()
    body = good.replace(f'"{name}": 1'.encode(), f'"{name}": {literal}'.encode())
    resp = await client.post("/register", content=body, headers={"content-type": "application/json"})
    assert_error(resp, 400, field=f"{section}.{name}")
    assert (await client.get("/providers")).json()["providers"] == []
