"""The upstream client's tests run on both event loops (the gateway serves on uvloop, whose
transports and `create_connection` differ from asyncio's), against raw servers from `serve`."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import pytest
import trustme
import uvloop

from tests.integration.gateway.http1.raw_server import Answer, RawServer, start_raw_server

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> Mapping[str, LoopFactory]:
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    """A test certificate authority; `raw_server.server_tls(ca)` serves TLS for "localhost" with it."""
    return trustme.CA()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[RawServer]]]:
    servers: list[asyncio.Server] = []

    async def start(answer: Answer, ssl_context: ssl.SSLContext | None = None) -> RawServer:
        raw = await start_raw_server(answer, ssl_context)
        servers.append(raw.server)
        return raw

    yield start
    for s in servers:
        s.close()
