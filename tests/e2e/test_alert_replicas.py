"""Two ledgers on one PostgreSQL, each evaluating alert rules in its own loop: a breached rule
fires one alert and one notification however many evaluations race on the two, and resolves
with one notification."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from services.common.clock import utc_iso
from tests.e2e.conftest import wait_until
from tests.e2e.http_receiver import receiving
from tests.e2e.swarm import Swarm, free_port
from tests.integration.ledger.ledger_factory import as_json, make_receipt
from tests.pg import pg_schema_sync

LEDGERS = ("ledger", "ledger-b")


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swarm]:
    with pg_schema_sync() as url:
        swarm = Swarm(tmp_path_factory.mktemp("alert-replicas"), admin_key="adm-" + secrets.token_hex(8),
                      extra_env={"TOLLWAY_DATABASE_URL": url, "TOLLWAY_ALERT_INTERVAL_S": "0.2",
                                 "TOLLWAY_ALERT_POLL_S": "0.1"})
        swarm.ports["router"] = free_port()  # named in the ledgers' settings; not started (not needed)
        try:
            for name in LEDGERS:
                swarm.start("ledger", name=name, env={"TOLLWAY_ARTIFACTS_DIR": str(swarm.root / name)})
            yield swarm
        finally:
            swarm.stop_all()


def test_two_ledgers_fire_and_resolve_a_rule_once_with_one_notification_each(ledgers: Swarm) -> None:
    a, b = (ledgers.url(name) for name in LEDGERS)
    with receiving() as receiver, httpx.Client(headers=ledgers.admin, timeout=30) as http:
        hook = {"channel_id": "hook", "kind": "webhook", "url": receiver.base + "/hook",
                "secret": "whsec-" + secrets.token_hex(12), "events": ["alerts"]}
        assert http.post(a + "/alerts/channels", json=hook).status_code == 201
        now = utc_iso(datetime.now(UTC))
        receipts = {"receipts": [make_receipt("0.75", timestamp=now, run_id="replicated")]}
        assert http.post(b + "/receipts", content=as_json(receipts),
                         headers={"content-type": "application/json"}).json()["accepted"] == 1
        rule = {"rule_id": "shared", "name": "shared spend", "metric": "cost", "operator": ">",
                "threshold": "0.5", "window": "1h", "channels": ["hook"]}
        assert http.post(b + "/alerts/rules", json=rule).status_code == 201

        def evaluate(url: str) -> list[str]:
            return list(http.post(url + "/alerts/evaluate").json()["fired"])

        with ThreadPoolExecutor(8) as pool:  # on top of both loops, every 0.2 s each
            fired = [f for got in pool.map(evaluate, [a, b] * 10) for f in got]
        wait_until(lambda: len(receiver.on("/hook")) >= 1, timeout=10, what="the firing notice")
        alerts = http.get(a + "/alerts").json()
        assert len(alerts) == 1 and len(fired) <= 1 and http.get(b + "/alerts").json() == alerts
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(evaluate, [a, b] * 10))

        assert http.delete(a + "/alerts/rules/shared").status_code == 200  # its open alert resolves
        wait_until(lambda: len(receiver.on("/hook")) >= 2, timeout=10, what="the resolved notice")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(evaluate, [a, b] * 10))
        wait_until(lambda: http.get(b + "/alerts/deliveries?status=pending").json() == [], timeout=10,
                   what="the queue drained")
        assert [orjson.loads(body)["type"] for body in receiver.on("/hook")] == ["alert.firing", "alert.resolved"]
        [alert] = http.get(b + "/alerts").json()
        assert alert["state"] == "resolved"
        assert len(http.get(a + "/alerts/deliveries").json()) == 2
