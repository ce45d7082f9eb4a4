"""Alerts on real processes with real receivers: requests routed through the gateway make a cost
rule fire at the ledger; a local HTTP server gets the signed webhook (HMAC verified) and the Slack
payload, a local SMTP server (aiosmtpd) the email, GET /events the `alert` event; an unreachable
webhook becomes a failed delivery record while the alert and the other channels are unaffected."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from services.ledger.alerts.signing import verify
from tests.e2e.conftest import wait_until
from tests.e2e.http_receiver import Receiver, receiving
from tests.e2e.sse_reader import events
from tests.e2e.swarm import Swarm
from tests.integration.ledger.alert_receivers import free_port, smtp_receiver

MODEL = "alerts-model"
SECRET = "whsec-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with receiving() as server:
        yield server


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swarm]:
    s = Swarm(tmp_path_factory.mktemp("alerts"), admin_key="adm-" + secrets.token_hex(8),
              extra_env={"TOLLWAY_ALERT_POLL_S": "0.1", "TOLLWAY_ALERT_RETRY_BASE_S": "0.1",
                         "TOLLWAY_ALERT_DELIVERY_ATTEMPTS": "3", "TOLLWAY_ALERT_DELIVERY_TIMEOUT_S": "2"})
    s.start_all()
    provider = {"name": "alerts-sim", "model": MODEL, "context_window": 4096, "input_per_mtok": "1000",
                "output_per_mtok": "2000", "endpoint": s.url("simulator")}
    assert httpx.post(s.url("router") + "/register", headers=s.admin, json=provider).status_code in (200, 201)
    s.wait_for_model(MODEL)
    yield s
    s.stop_all()


def test_a_rule_fires_through_real_channels_and_an_unreachable_one_is_a_failed_delivery(
        swarm: Swarm, receiver: Receiver) -> None:
    ledger = swarm.url("ledger")
    base = receiver.base
    with smtp_receiver() as (smtp_port, inbox), httpx.Client(headers=swarm.admin, timeout=30) as http:
        channels = [
            {"channel_id": "hook", "kind": "webhook", "url": base + "/hook", "secret": SECRET, "events": ["alerts"]},
            {"channel_id": "slack", "kind": "slack", "url": base + "/services/T1/B1/SLACKTOKEN", "events": ["alerts"]},
            {"channel_id": "mail", "kind": "email", "events": ["alerts"],
             "smtp": {"host": "127.0.0.1", "port": smtp_port, "sender": "tollway@example.test",
                      "recipients": ["oncall@example.test"]}},
            {"channel_id": "dead", "kind": "webhook", "url": f"http://127.0.0.1:{free_port()}/gone",
             "secret": SECRET, "events": ["alerts"]}]
        for channel in channels:
            assert http.post(ledger + "/alerts/channels", json=channel).status_code == 201
        rule = {"rule_id": "e2e-spend", "name": "e2e spend", "metric": "cost", "operator": ">", "threshold": "0",
                "window": "5m", "filters": {"model": MODEL}, "severity": "warning"}
        assert http.post(ledger + "/alerts/rules", json=rule).status_code == 201
        assert httpx.post(ledger + "/alerts/rules", json=rule).status_code == 401  # the admin key, or nothing

        with events(ledger, headers=swarm.admin, kinds="alert") as stream:
            body = {"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
            for _ in range(2):
                r = httpx.post(swarm.url("gateway") + "/v1/chat/completions", json=body, timeout=30,
                               headers={"x-tollway-run": "alerted"})
                assert r.status_code == 200, r.text

            def shipped() -> bool:
                return http.get(ledger + "/receipts/alerted").json().get("count") == 2

            wait_until(shipped, timeout=10, what="the receipts shipped")
            evaluated = http.post(ledger + "/alerts/evaluate").json()
            assert len(evaluated["fired"]) == 1 and evaluated["values"]["e2e-spend"] != "0"
            assert http.post(ledger + "/alerts/evaluate").json()["fired"] == []  # still firing: not again
            [frame] = stream.read_until(lambda f: f.event == "alert")
            assert frame.data["type"] == "alert.firing" and frame.data["alert"]["rule_id"] == "e2e-spend"

        wait_until(lambda: len(receiver.got) >= 2 and len(inbox) >= 1, timeout=10, what="the notifications")
        wait_until(lambda: len(http.get(ledger + "/alerts/deliveries?status=failed").json()) == 1, timeout=10,
                   what="the unreachable webhook's delivery failing")
        by_path = {path: (headers, raw) for path, headers, raw in receiver.got}
        headers, raw = by_path["/hook"]
        assert verify(SECRET, headers["X-Tollway-Timestamp"], headers["X-Tollway-Signature"], raw, now_s=time.time())
        assert orjson.loads(raw)["alert"]["alert_id"] == evaluated["fired"][0]
        assert orjson.loads(by_path["/services/T1/B1/SLACKTOKEN"][1])["text"].startswith("[WARNING] FIRING e2e spend")
        assert inbox[0].rcpt_tos == ["oncall@example.test"] and b"FIRING e2e spend" in inbox[0].content

        [failed] = http.get(ledger + "/alerts/deliveries?status=failed").json()
        assert (failed["channel_id"], failed["attempts"]) == ("dead", 3)
        full = http.get(ledger + f"/alerts/deliveries/{failed['delivery_id']}").json()
        assert [a["ok"] for a in full["attempts_made"]] == [False, False, False]
        [alert] = http.get(ledger + "/alerts").json()
        assert alert["state"] == "firing"
        assert len(receiver.got) == 2 and len(inbox) == 1  # one notice per channel per firing
        shown = http.get(ledger + "/alerts/channels").text
        assert SECRET not in shown and "SLACKTOKEN" not in shown
        assert SECRET not in swarm.log("ledger") and "SLACKTOKEN" not in swarm.log("ledger")
