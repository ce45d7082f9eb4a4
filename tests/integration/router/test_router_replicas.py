"""Two routers on one PostgreSQL schema: a provider registered or removed through router A, or a
routing change made there, wakes a gateway's snapshot long-poll held by router B within 1 s
(LISTEN/NOTIFY: docs/storage.md)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.router.app import create_app
from tests.integration.router.router_support import provider, serving
from tests.pg import pg_schema
from tests.replicas import caught_up, woken_by

SNAPSHOT = "/registry/snapshot"


@pytest.fixture
async def routers(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with pg_schema() as url, AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(serving(create_app(
            Settings(artifacts_dir=tmp_path / name, access_log=False, database_url=url), clock=clock)))
            for name in ("a", "b")]
        yield clients[0], clients[1]


async def test_a_registration_on_a_wakes_a_long_poll_on_b_within_a_second(routers) -> None:
    a, b = routers
    elapsed, snap = await woken_by(b, SNAPSHOT, lambda: a.post("/register", json=provider("p1")))
    assert elapsed < 1.0, elapsed
    assert [p["name"] for p in snap["providers"]] == ["p1"]
    elapsed, snap = await woken_by(b, SNAPSHOT, lambda: a.delete("/providers/p1"))
    assert elapsed < 1.0, elapsed
    assert snap["providers"] == []
    assert (await b.get("/providers/p1")).json()["active"] is False


async def test_a_routing_change_on_a_reaches_b_and_both_agree_on_the_version(routers) -> None:
    a, b = routers
    await a.post("/register", json=provider("p1"))
    await caught_up(a, b, SNAPSHOT)  # the registration's news reaches b first, not during the poll below
    elapsed, snap = await woken_by(b, SNAPSHOT, lambda: a.put("/routing/aliases/fam", json={"models": ["gpt-4"]}))
    assert elapsed < 1.0, elapsed
    assert snap["routing"]["aliases"] == {"fam": {"models": ["gpt-4"]}}
    assert (await a.get(SNAPSHOT)).json()["version"] == snap["version"]
    chosen = await b.post("/select", json={"requirements": {"model": "fam"}})
    assert chosen.status_code == 200 and chosen.json()["provider"] == "p1"


async def test_registrations_through_both_at_once_each_get_a_version_of_their_own(routers) -> None:
    a, b = routers
    answers = await asyncio.gather(*((a, b)[i % 2].post("/register", json=provider(f"p{i}")) for i in range(20)))
    assert {r.status_code for r in answers} == {201}
    for client in (a, b):
        stats = (await client.get("/stats")).json()
        assert stats["version"] == 20
    await asyncio.sleep(0.3)
    assert len((await b.get(SNAPSHOT)).json()["providers"]) == 20


async def test_alias_puts_on_two_routers_at_once_never_store_a_cycle(routers) -> None:
    """p -> q through router A and q -> p through router B at the same moment: the routing version's
    row lock makes them take turns, the second checked against the first and refused."""
    a, b = routers
    rounds = 10
    answers = await asyncio.gather(*[
        call for i in range(rounds)
        for call in (a.put(f"/routing/aliases/p{i}", json={"models": [f"q{i}"]}),
                     b.put(f"/routing/aliases/q{i}", json={"models": [f"p{i}"]}))])
    codes = [r.status_code for r in answers]
    assert all(sorted(codes[2 * i:2 * i + 2]) == [201, 400] for i in range(rounds)), codes
    aliases = (await b.get("/routing")).json()["aliases"]
    assert len(aliases) == rounds
    assert not any(aliases.get(entry["models"][0], {}).get("models") == [name] for name, entry in aliases.items())
