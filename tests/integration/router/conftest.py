"""Router integration fixtures: the app in-process on a tmp artifacts dir, a frozen clock, a client."""

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


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def app(tmp_path: Path, clock: FrozenClock) -> FastAPI:
    return create_app(Settings(artifacts_dir=tmp_path, access_log=False), clock=clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as c:
        yield c
