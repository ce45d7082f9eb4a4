"""GET /registry/snapshot: the gateway's long-poll. Answers as soon as the registry changes,
or at the deadline with the same version."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from services.common import contracts
from services.router.context import RouterContext
from tests.integration.router.router_support import assert_error, provider, register


def snapshot(resp: httpx.Response) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    jsonschema.validate(body, contracts.schema("registry_snapshot"))
    return body


def entered_wait(app: FastAPI) -> asyncio.Event:
    """An event set when a request starts waiting on the registry version."""
    ctx: RouterContext = app.state.router_context
    entered = asyncio.Event()
    original = ctx.signal.wait_past

    async def spy(after: int, timeout: float) -> int:
        entered.set()
        return await original(after, timeout)

    ctx.signal.wait_past = spy  # type: ignore[method-assign]
    return entered


async def test_snapshot_lists_active_providers_and_the_version(client: httpx.AsyncClient):
    await register(client, provider("a"))
    await register(client, provider("b"))
    await client.delete("/providers/b")
    snap = snapshot(await client.get("/registry/snapshot"))
    assert snap["version"] == 3
    assert [p["name"] for p in snap["providers"]] == ["a"]


async def test_long_poll_answers_promptly_when_a_provider_registers(client: httpx.AsyncClient, app: FastAPI):
    await register(client, provider("a"))
    version = snapshot(await client.get("/registry/snapshot"))["version"]
    entered = entered_wait(app)
    poll = asyncio.create_task(client.get("/registry/snapshot", params={"after": version, "wait": 30}))
    await asyncio.wait_for(entered.wait(), 5)
    assert not poll.done()  # held: nothing changed yet
    await register(client, provider("late", model="late-model"))
    snap = snapshot(await asyncio.wait_for(poll, 5))  # far sooner than the 30 s asked
    assert snap["version"] == version + 1
    assert "late" in [p["name"] for p in snap["providers"]]


async def test_long_poll_times_out_with_the_same_version(client: httpx.AsyncClient):
    await register(client, provider("a"))
    version = snapshot(await client.get("/registry/snapshot"))["version"]
    snap = snapshot(await client.get("/registry/snapshot", params={"after": version, "wait": 0.05}))
    assert snap["version"] == version
    assert [p["name"] for p in snap["providers"]] == ["a"]


@pytest.mark.parametrize("after", [0, 99])
async def test_a_stale_or_future_version_is_answered_at_once(client: httpx.AsyncClient, after: int):
    await register(client, provider("a"))
    resp = await asyncio.wait_for(client.get("/registry/snapshot", params={"after": after, "wait": 30}), 5)
    assert snapshot(resp)["version"] == 1


@pytest.mark.parametrize(("query", "field"), [
    ("after=soon", "after"),
    ("after=-1", "after"),
    ("wait=forever", "wait"),
    ("wait=-1", "wait"),
    ("wait=nan", "wait"),
    ("wait=inf", "wait"),
])
async def test_bad_snapshot_parameters_are_a_400(client: httpx.AsyncClient, query: str, field: str):
    assert_error(await client.get(f"/registry/snapshot?{query}"), 400, field=field)
