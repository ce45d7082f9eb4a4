"""PostgreSQL for tests: the machine's database (TOLLWAY_TEST_DATABASE_URL, by default
127.0.0.1:5432 database `test`, as in CI) and a schema of a test's own, dropped afterwards.
Unreachable, the tests that need it fail: they are never skipped."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg
import pytest

PG_URL = os.environ.get("TOLLWAY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgres")


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


@contextmanager
def pg_schema_sync(url: str = PG_URL) -> Iterator[str]:
    """`pg_schema` for sync tests (the e2e swarms): a fresh schema's URL, dropped on the way out."""
    schema = f"t_{uuid.uuid4().hex[:16]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f"CREATE SCHEMA {schema}"))
    try:
        yield with_schema(url, schema)
    finally:
        asyncio.run(run(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))


def parametrize_backend(metafunc: pytest.Metafunc) -> None:
    """A test that takes `backend` runs on each (only on SQLite if marked `sqlite_only`)."""
    if "backend" in metafunc.fixturenames:
        sqlite_only = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ["sqlite"] if sqlite_only else list(BACKENDS), indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """'sqlite' or 'postgres'."""
    return str(request.param)


@pytest.fixture
async def database_url(backend: str) -> AsyncIterator[str]:
    """'' for SQLite; for PostgreSQL a URL on a schema of this test's own."""
    if backend == "sqlite":
        yield ""
        return
    async with pg_schema() as url:
        yield url
