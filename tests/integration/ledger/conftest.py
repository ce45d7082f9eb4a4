"""Ledger integration fixtures: the app in-process on a tmp dir, a frozen clock, a client."""

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

START = datetime(2026, 11, 23, 10, 30, 15, tzinfo=UTC)

Ledger = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def ledger_at(tmp_path: Path, clock: FrozenClock) -> Ledger:
    """Start a ledger app on `tmp_path` (call again after exit to 'restart' it)."""

    @asynccontextmanager
    async def run(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
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
