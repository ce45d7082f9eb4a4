"""Ledger integration fixtures: the app in-process on a tmp dir, a frozen clock, a client.

Every test that uses `ledger_at` (or `client`) runs twice: on SQLite (a file under tmp_path) and
on PostgreSQL (TOLLWAY_TEST_DATABASE_URL, by default the machine's 127.0.0.1:5432 database `test`),
in a schema of its own that is dropped afterwards. PostgreSQL unreachable fails those tests: it is
never skipped. A test about the SQLite file itself is marked `sqlite_only`."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.ledger.app import create_app

START = datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC)
PG_URL = os.environ.get("TOLLWAY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgres")

Ledger = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a ledger test about the SQLite file itself")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        sqlite_only = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ["sqlite"] if sqlite_only else list(BACKENDS), indirect=True)


def with_schema(url: str, schema: str) -> str:
    """The URL with `search_path` set (asyncpg passes unknown query parameters as server settings);
    commits not waiting for the disk (a test needs no durability, and runs faster)."""
    return f"{url}{'&' if '?' in url else '?'}search_path={schema}&synchronous_commit=off"


@asynccontextmanager
async def pg_schema(url: str = PG_URL) -> AsyncIterator[str]:
    """A fresh schema; its URL; dropped (with everything in it) on the way out."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        yield with_schema(url, schema)
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


@pytest.fixture
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """'sqlite' or 'postgres'."""
    yield request.param


@pytest.fixture
async def database_url(backend: str) -> AsyncIterator[str]:
    """'' for SQLite; for PostgreSQL a URL on a schema of this test's own."""
    if backend == "sqlite":
        yield ""
        return
    async with pg_schema() as url:
        yield url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def ledger_at(tmp_path: Path, clock: FrozenClock, database_url: str) -> Ledger:
    """Start a ledger app on `tmp_path` (call again after exit to 'restart' it)."""

    @asynccontextmanager
    async def run(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        settings.setdefault("database_url", database_url)
        app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, **settings),
                         clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:
                yield client

    return run


@pytest.fixture
async def client(ledger_at: Ledger) -> AsyncIterator[httpx.AsyncClient]:
    async with ledger_at() as c:
        yield c
