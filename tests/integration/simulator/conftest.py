"""The simulator app in-process, with fast pacing so streams finish at once; or on a real socket
(`serve`) for what needs one: cut connections, pacing, SDKs that bring their own HTTP client."""

import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

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


@contextmanager
def serve(app):
    """`app` served by uvicorn in a thread on a free local port; yields its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
