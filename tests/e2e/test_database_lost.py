"""PostgreSQL lost while the router and the ledger run (a proxy between them and the database is
cut): writes and reads are a 503 with a JSON body naming the URL with its password masked, never a
500; the gateway keeps serving unbudgeted runs and keeps their receipts in its files; when the
database is back every receipt reaches the ledger exactly once. The password is in no log."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests.e2e.conftest import register, wait_until
from tests.e2e.swarm import Swarm
from tests.pg import pg_schema_sync
from tests.tcp_proxy import TcpProxy

PASSWORD = "s3cret-pw-7f2"


def through(url: str, port: int) -> str:
    """`url` with a password, reaching the database through the proxy on `port`."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{parts.username or 'postgres'}:{PASSWORD}@127.0.0.1:{port}", parts.path,
                       parts.query, parts.fragment))


@pytest.fixture(scope="module")
def lost(tmp_path_factory) -> Iterator[tuple[Swarm, TcpProxy]]:
    with pg_schema_sync() as url, TcpProxy("127.0.0.1", urlsplit(url).port or 5432) as proxy:
        swarm = Swarm(tmp_path_factory.mktemp("db-lost"), extra_env={"TOLLWAY_DATABASE_URL": through(url, proxy.port)})
        swarm.start_all()
        try:
            yield swarm, proxy
        finally:
            proxy.restore()
            swarm.stop_all()


def chat(http: httpx.Client, swarm: Swarm, run: str) -> httpx.Response:
    return http.post(swarm.url("gateway") + "/v1/chat/completions", headers={"X-Tollway-Run": run},
                     json={"model": "lost-model", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})


def count(http: httpx.Client, swarm: Swarm, run: str) -> int:
    resp = http.get(swarm.url("ledger") + f"/receipts/{run}")
    return int(resp.json()["count"]) if resp.status_code == 200 else -1


def assert_unavailable(resp: httpx.Response) -> None:
    assert resp.status_code == 503, resp.text
    error = resp.json()["error"]
    assert error["type"] == "database_unavailable" and "***" in error["message"], error
    assert PASSWORD not in resp.text and resp.headers["retry-after"] == "2"


def test_database_lost_is_a_503_and_no_receipt_is_lost(lost, http):
    swarm, proxy = lost
    register(http, swarm, {"name": "lost-sim", "model": "lost-model", "context_window": 4096,
                           "input_per_mtok": "1", "output_per_mtok": "2", "endpoint": swarm.url("simulator")})
    swarm.wait_for_model("lost-model")
    assert all(chat(http, swarm, "before").status_code == 200 for _ in range(5))
    wait_until(lambda: count(http, swarm, "before") == 5, what="5 receipts booked")

    proxy.cut()
    assert all(chat(http, swarm, "during").status_code == 200 for _ in range(10))  # unbudgeted: served
    assert_unavailable(http.post(swarm.url("ledger") + "/budget", params={"run_id": "b", "budget_usd": "1"}))
    assert_unavailable(http.get(swarm.url("ledger") + "/receipts/before"))
    assert_unavailable(http.post(swarm.url("router") + "/register", json={
        "name": "late", "model": "lost-model", "context_window": 4096, "input_per_mtok": "1",
        "output_per_mtok": "2", "endpoint": swarm.url("simulator")}))
    wait_until(lambda: not http.get(swarm.url("gateway") + "/health").json()["dependencies"]["ledger"][
        "receipt_shipping"], what="the gateway to see its receipts refused")
    assert len((swarm.costs / "during.jsonl").read_text().splitlines()) == 10  # kept in its file

    proxy.restore()
    wait_until(lambda: count(http, swarm, "during") == 10, timeout=15, what="the kept receipts booked")
    assert count(http, swarm, "before") == 5
    assert http.post(swarm.url("ledger") + "/budget", params={"run_id": "b", "budget_usd": "1"}).status_code in (
        200, 201)
    for service in ("router", "ledger", "gateway"):
        assert PASSWORD not in swarm.log(service), f"the database password is in the {service}'s log"
    assert "database_unavailable" in swarm.log("ledger")
