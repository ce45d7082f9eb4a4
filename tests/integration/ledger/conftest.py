"""Ledger integration fixtures: the app in-process on a tmp dir, a frozen clock, a client.

Every test that uses `ledger_at` (or `client`) runs twice: on SQLite (a file under tmp_path) and
on PostgreSQL (TOLLWAY_TEST_DATABASE_URL, by default the machine's 127.0.0.1:5432 database `test`),
in a schema of its own that is dropped afterwards. PostgreSQL unreachable fails those tests: it is
never skipped. A test about the SQLite file itself is marked `sqlite_only`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.ledger.app import create_app
from tests.pg import PG_URL, backend, database_url, parametrize_backend, pg_schema, with_schema

__all__ = ["PG_URL", "Ledger", "backend", "database_url", "pg_schema", "with_schema"]

START = datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC)
Ledger = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a ledger test about the SQLite file itself")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backend(metafunc)


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
