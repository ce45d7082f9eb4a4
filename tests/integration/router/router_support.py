"""Shared by the router integration tests: serving the app in-process, registration bodies,
and response checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import jsonschema
from fastapi import FastAPI

from services.common import contracts

START = datetime(2026, 11, 23, 10, 30, 15, 250000, tzinfo=UTC)

README_PROVIDER: dict[str, Any] = {
    "name": "my-gpt4", "model": "gpt-4", "context_window": 8192,
    "cost_per_input_token": 0.00003, "cost_per_output_token": 0.00006,
    "endpoint": "http://localhost:8100", "features": ["function_calling", "vision"],
    "slo": {"latency_p95_ms": 2000},
}


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run `app`'s lifespan and give a client that talks to it in-process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://router") as c:
            yield c


def provider(name: str, *, model: str = "gpt-4", input_per_mtok: str = "10", output_per_mtok: str = "30",
             latency_ms: float | None = None, context_window: int = 8192,
             features: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "model": model, "context_window": context_window,
                            "endpoint": "http://sim.local:8100", "input_per_mtok": input_per_mtok,
                            "output_per_mtok": output_per_mtok, "features": list(features), **extra}
    if latency_ms is not None:
        body["slo"] = {"latency_p95_ms": latency_ms}
    return body


async def register(client: httpx.AsyncClient, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    resp = await client.post("/register", json=body)
    assert resp.status_code == status, resp.text
    out: dict[str, Any] = resp.json()
    jsonschema.validate(out["provider"], contracts.schema("provider"))
    return out


def assert_error(resp: httpx.Response, status: int, *, field: str | None = None) -> dict[str, Any]:
    """A clear 4xx: the status asked, a body valid against contracts/error.schema.json."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = resp.json()
    jsonschema.validate(body, contracts.schema("error"))
    assert body["error"]["message"]
    if field is not None:
        assert body["error"].get("field") == field, body
    return body["error"]
