"""Router integration fixtures: the app in-process on a tmp artifacts dir, a frozen clock, a client.

Every test that uses `app` (or `client`, or `database_url`) runs twice: on SQLite (files under
tmp_path) and on PostgreSQL (tests/pg.py: the machine's 127.0.0.1:5432 database `test`), in a
schema of its own dropped afterwards. PostgreSQL unreachable fails those tests: it is never
skipped. A test about the SQLite files themselves is marked `sqlite_only`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.common.clock import FrozenClock
from services.common.settings import Settings
from services.router.app import create_app
from tests.integration.router.router_support import START, serving
from tests.pg import backend, database_url, parametrize_backend

__all__ = ["backend", "database_url"]  # the fixtures, shared with the ledger's tests


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a router test about the SQLite files themselves")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_backend(metafunc)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def app(tmp_path: Path, clock: FrozenClock, database_url: str) -> FastAPI:
    return create_app(Settings(artifacts_dir=tmp_path, access_log=False, database_url=database_url), clock=clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as c:
        yield c


@pytest.fixture
def router_settings(tmp_path: Path, database_url: str) -> Settings:
    """The settings of this test's backend (SQLite files under tmp_path, or the test's schema)."""
    return Settings(artifacts_dir=tmp_path, access_log=False, database_url=database_url)
