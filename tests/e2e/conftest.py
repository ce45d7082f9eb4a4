import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.e2e.swarm import Swarm
from tests.pg import pg_schema_sync


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module that sets `SWARM_BACKENDS = ("sqlite", "postgres")` runs its swarm tests once per
    backend of the ledger and the router; the others run on SQLite only."""
    backends = getattr(metafunc.module, "SWARM_BACKENDS", None)
    if backends and "swarm_backend" in metafunc.fixturenames:
        metafunc.parametrize("swarm_backend", backends, indirect=True, scope="module")


@pytest.fixture(scope="module")
def swarm_backend(request: pytest.FixtureRequest) -> str:
    """'sqlite' (the default) or 'postgres'."""
    return str(getattr(request, "param", "sqlite"))


@contextmanager
def database_env(backend: str) -> Iterator[dict[str, str]]:
    """The environment that puts a swarm's ledger and router on `backend`: for PostgreSQL a schema
    of the swarm's own (dropped afterwards)."""
    if backend == "sqlite":
        yield {}
        return
    with pg_schema_sync() as url:
        yield {"TOLLWAY_DATABASE_URL": url}


@contextmanager
def running(swarm: Swarm) -> Iterator[Swarm]:
    """`swarm` started, and stopped however the block ends."""
    swarm.start_all()
    try:
        yield swarm
    finally:
        swarm.stop_all()


@pytest.fixture(scope="module")
def swarm(tmp_path_factory, swarm_backend):
    with database_env(swarm_backend) as env, running(Swarm(tmp_path_factory.mktemp("swarm"), extra_env=env)) as s:
        yield s


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
