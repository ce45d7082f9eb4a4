import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.swarm import Swarm


@pytest.fixture(scope="module")
def swarm(tmp_path_factory):
    s = Swarm(tmp_path_factory.mktemp("swarm"))
    s.start_all()
    yield s
    s.stop_all()


@pytest.fixture(scope="module")
def http():
    with httpx.Client(timeout=30) as client:
        yield client


def register(http: httpx.Client, swarm: Swarm, body: dict) -> dict:
    resp = http.post(swarm.url("router") + "/register", json=body)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()


def wait_until(check: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> float:
    """Seconds until `check()` came true (polled every 50 ms); fails the test after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout} s")
