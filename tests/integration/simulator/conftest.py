"""The simulator app in-process, with fast pacing so streams finish at once."""

import httpx
import pytest

from services.common.settings import Settings
from services.simulator.app import create_app
from services.simulator.config import SimSettings


def make_app(**sim):
    return create_app(Settings(), SimSettings(**{"tps": 0, "latency_ms": 0, **sim}))


@pytest.fixture
def app():
    return make_app()


@pytest.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim") as c:
        yield c
