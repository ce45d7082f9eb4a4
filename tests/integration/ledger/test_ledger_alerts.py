"""Alerts end to end in one ledger (both backends), with real receivers and a frozen clock:
rules fire once, are acknowledged and resolve with their history; webhooks arrive signed, Slack
and email arrive in their formats; failures are retried with backoff and an unreachable receiver
is a failed delivery record; budget events and the daily summary go to their channels once."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import trustme
from prometheus_client.parser import text_string_to_metric_families

from services.common.clock import FrozenClock, utc_iso
from services.common.settings import Settings
from services.ledger.alerts.runner import AlertRunner
from services.ledger.alerts.signing import verify
from services.ledger.app import create_app
from tests.integration.ledger.alert_receivers import free_port, http_receiver, smtp_receiver
from tests.integration.ledger.ledger_factory import error_of, make_receipt, post

SECRET = "whsec-0123456789abcdef-tollway"
Alerting = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, AlertRunner]]]


@pytest.fixture
def alerting(tmp_path: Path, clock: FrozenClock, database_url: str) -> Alerting:
    """A ledger whose alert loop the test drives (`runner.tick()`), not a background task."""

    @asynccontextmanager
    async def run(**settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, AlertRunner]]:
        settings = {"database_url": database_url, "alerts_enabled": False, "alert_retry_base_s": 30.0,
                    "alert_delivery_attempts": 3, "alert_delivery_timeout_s": 2.0, **settings}
        app = create_app(Settings(artifacts_dir=tmp_path, access_log=False, **settings), clock=clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:
                yield client, app.state.alerts

    return run


def later(clock: FrozenClock, **delta: float) -> None:
    clock.set(clock.now() + timedelta(**delta))


async def spend(client: httpx.AsyncClient, clock: FrozenClock, cost: str, n: int = 1, **extra: Any) -> None:
    receipts = [make_receipt(cost, timestamp=utc_iso(clock.now()), **extra) for _ in range(n)]
    resp = await post(client, "/receipts", {"receipts": receipts})
    assert resp.status_code == 200 and resp.json()["accepted"] == n, resp.text


async def created(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post(path, json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


COST_RULE = {"rule_id": "spend-high", "name": "spend high", "metric": "cost", "operator": ">", "threshold": "0.50",
             "window": "1h", "severity": "critical", "channels": ["hook"]}


def hook(url: str, **extra: Any) -> dict[str, Any]:
    return {"channel_id": "hook", "kind": "webhook", "url": url, "secret": SECRET, "events": ["alerts"], **extra}


async def test_a_rule_fires_once_is_acknowledged_and_resolves_with_its_history(
        alerting: Alerting, clock: FrozenClock) -> None:
    async with http_receiver() as receiver, alerting() as (client, runner):
        await created(client, "/alerts/channels", hook(receiver.url("/hook")))
        await created(client, "/alerts/rules", COST_RULE)
        await spend(client, clock, "0.20", n=2)
        await runner.tick()
        assert (await client.get("/alerts")).json() == []  # $0.40 is not above $0.50
        await spend(client, clock, "0.20")
        later(clock, seconds=61)
        await runner.tick()
        [alert] = (await client.get("/alerts")).json()
        assert (alert["state"], alert["value"], alert["severity"]) == ("firing", "0.600000", "critical")
        for _ in range(3):  # later evaluations while it stays breached: no second alert, no second notice
            later(clock, seconds=61)
            await runner.tick()
        assert len((await client.get("/alerts")).json()) == 1
        [firing] = receiver.on("/hook")
        body = orjson.loads(firing.body)
        assert (body["type"], body["alert"]["alert_id"], body["value"]) == ("alert.firing", alert["alert_id"],
                                                                           "0.600000")
        assert verify(SECRET, firing.headers["X-Tollway-Timestamp"], firing.headers["X-Tollway-Signature"],
                      firing.body, now_s=int(firing.headers["X-Tollway-Timestamp"]))
        assert not verify(SECRET, firing.headers["X-Tollway-Timestamp"], firing.headers["X-Tollway-Signature"],
                          firing.body + b" ", now_s=int(firing.headers["X-Tollway-Timestamp"]))

        acked = await client.post(f"/alerts/{alert['alert_id']}/ack", json={"note": "looking"})
        assert acked.status_code == 200 and acked.json()["state"] == "acknowledged"
        later(clock, hours=1)  # the receipts leave the window
        await runner.tick()
        done = (await client.get(f"/alerts/{alert['alert_id']}")).json()
        assert done["state"] == "resolved"
        assert [(h["state"], h["note"]) for h in done["history"]][1:] == [
            ("acknowledged", "looking"), ("resolved", "the metric is back within its threshold")]
        assert [orjson.loads(r.body)["type"] for r in receiver.on("/hook")] == ["alert.firing", "alert.resolved"]
        again = await client.post(f"/alerts/{alert['alert_id']}/ack")
        assert again.status_code == 409
        assert [a["state"] for a in (await client.get("/alerts?state=resolved")).json()] == ["resolved"]
        assert (await client.get("/alerts?rule_id=other")).json() == []
        assert error_of(await client.get("/alerts?rule_id=../x"))["field"] == "rule_id"


async def test_slack_and_email_channels_receive_the_alert_in_their_formats(
        alerting: Alerting, clock: FrozenClock) -> None:
    smtp = {"host": "127.0.0.1", "sender": "tollway@example.test", "recipients": ["ops@example.test"]}
    with smtp_receiver() as (smtp_port, inbox):
        async with http_receiver() as receiver, alerting() as (client, runner):
            await created(client, "/alerts/channels", {"channel_id": "slack", "kind": "slack", "events": ["alerts"],
                                                       "url": receiver.url("/services/T000/B000/XXXXSECRET")})
            await created(client, "/alerts/channels", {"channel_id": "mail", "kind": "email", "events": ["alerts"],
                                                       "smtp": {**smtp, "port": smtp_port}})
            # a server that offers no AUTH cannot take a password: a recorded failure, the password never shown
            authed = await created(client, "/alerts/channels", {
                "channel_id": "mail-auth", "kind": "email", "events": ["alerts"],
                "smtp": {**smtp, "port": smtp_port, "username": "u", "password": "hunter2-smtp"}})
            assert authed["smtp"]["password"] == "****"
            await created(client, "/alerts/rules", {**COST_RULE, "channels": ["slack", "mail", "mail-auth"]})
            await spend(client, clock, "0.60", provider="sim-anthropic")
            await runner.tick()
            [slack] = receiver.on("/services/T000/B000/XXXXSECRET")
            text = orjson.loads(slack.body)["text"]
            assert text.startswith("[CRITICAL] FIRING spend high") and "0.600000" in text
            assert orjson.loads(slack.body)["blocks"][0]["text"]["text"] == text
            [envelope] = inbox
            assert envelope.rcpt_tos == ["ops@example.test"]
            assert b"FIRING spend high" in envelope.content
            [pending] = (await client.get("/alerts/deliveries?status=pending")).json()
            assert pending["channel_id"] == "mail-auth" and "AUTH" in pending["last_error"]
            listed = (await client.get("/alerts/channels")).json() + \
                (await client.get("/alerts/deliveries")).json()
            assert "XXXXSECRET" not in str(listed) and "hunter2" not in str(listed)


async def test_email_uses_starttls_when_the_server_offers_it_and_logs_in_over_it(
        alerting: Alerting, clock: FrozenClock, tmp_path: Path) -> None:
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_tls)
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with smtp_receiver(tls=server_tls, login=("tollway", "s3cret-pass")) as (smtp_port, inbox):
        async with alerting() as (client, runner):
            await created(client, "/alerts/channels", {"channel_id": "mail", "kind": "email", "events": ["alerts"],
                                                       "smtp": {"host": "127.0.0.1", "port": smtp_port,
                                                                "username": "tollway", "password": "s3cret-pass",
                                                                "sender": "tollway@example.test",
                                                                "recipients": ["ops@example.test"],
                                                                "ca_file": str(tmp_path / "ca.pem")}})
            plain = {**(await client.get("/alerts/channels/mail")).json(), "channel_id": "plain"}
            plain["smtp"] = {**plain["smtp"], "password": "s3cret-pass", "tls": "none"}
            await created(client, "/alerts/channels", plain)  # the control: the same server without TLS
            await created(client, "/alerts/rules", {**COST_RULE, "channels": ["mail", "plain"]})
            await spend(client, clock, "0.60")
            await runner.tick()
            by_channel = {d["channel_id"]: d for d in (await client.get("/alerts/deliveries")).json()}
            assert by_channel["mail"]["status"] == "delivered", by_channel
            assert by_channel["plain"]["status"] == "pending" and "s3cret" not in str(by_channel)
            [envelope] = inbox  # the server takes mail only after STARTTLS, and the login only over TLS
            assert b"FIRING spend high" in envelope.content


async def test_a_failing_receiver_is_retried_with_backoff_then_delivered(alerting: Alerting,
                                                                          clock: FrozenClock) -> None:
    async with http_receiver(fail_first=2) as receiver, alerting() as (client, runner):
        await created(client, "/alerts/channels", hook(receiver.url("/hook")))
        await created(client, "/alerts/rules", COST_RULE)
        await spend(client, clock, "0.60")
        await runner.tick()
        [d] = (await client.get("/alerts/deliveries")).json()
        assert (d["status"], d["attempts"]) == ("pending", 1)
        later(clock, seconds=29)  # the first retry is due 30 s after the first attempt
        await runner.tick()
        assert receiver.calls == 1
        later(clock, seconds=1)
        await runner.tick()
        assert receiver.calls == 2
        later(clock, seconds=59)  # then 60 s
        await runner.tick()
        assert receiver.calls == 2
        later(clock, seconds=1)
        await runner.tick()
        full = (await client.get(f"/alerts/deliveries/{d['delivery_id']}")).json()
        assert (full["status"], full["attempts"]) == ("delivered", 3)
        assert [a["ok"] for a in full["attempts_made"]] == [False, False, True]
        assert full["attempts_made"][0]["error"] == "HTTP 500 from the receiver"
        assert len(receiver.on("/hook")) == 1
        counted = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for family in text_string_to_metric_families((await client.get("/metrics")).text)
                   for s in family.samples if s.name.startswith("tollway_ledger_alert")}
        assert counted[("tollway_ledger_alert_delivery_attempts_total",
                        (("channel", "webhook"), ("outcome", "retrying")))] == 2
        assert counted[("tollway_ledger_alert_delivery_attempts_total",
                        (("channel", "webhook"), ("outcome", "delivered")))] == 1
        assert counted[("tollway_ledger_alerts_total", (("event", "firing"), ("severity", "critical")))] == 1


async def test_an_unreachable_receiver_is_a_failed_delivery_and_the_alert_stands(alerting: Alerting,
                                                                                  clock: FrozenClock) -> None:
    async with alerting() as (client, runner):
        await created(client, "/alerts/channels", hook(f"http://127.0.0.1:{free_port()}/hook"))
        await created(client, "/alerts/channels", {
            "channel_id": "mail", "kind": "email", "smtp": {"host": "127.0.0.1", "port": free_port(),
                                                           "sender": "t@example.test", "password": "pw-not-shown",
                                                           "username": "t", "recipients": ["o@example.test"]}})
        await created(client, "/alerts/rules", {**COST_RULE, "channels": ["hook", "mail"]})
        await spend(client, clock, "0.60")
        for _ in range(3):
            await runner.tick()
            later(clock, minutes=5)
        failures = {d["channel_id"]: d for d in (await client.get("/alerts/deliveries?status=failed")).json()}
        failed, mail = failures["hook"], failures["mail"]
        assert (failed["kind"], failed["attempts"], mail["attempts"]) == ("alert.firing", 3, 3)
        assert "ConnectError" in failed["last_error"] and SECRET not in str(failed)
        assert "SMTPConnectError" in mail["last_error"] and "pw-not-shown" not in str(mail)
        [alert] = (await client.get("/alerts")).json()
        assert alert["state"] == "firing"
        retried = await client.post(f"/alerts/deliveries/{failed['delivery_id']}/retry")
        assert retried.status_code == 200
        assert (await client.get("/alerts/deliveries?status=pending")).json()[0]["delivery_id"] == \
            failed["delivery_id"]


async def test_a_slow_receiver_does_not_slow_receipts(alerting: Alerting, clock: FrozenClock) -> None:
    """Notifications are sent by the alert loop: ingesting receipts (which raises a budget event)
    never waits for a receiver."""
    async with alerting() as (client, runner):
        await created(client, "/alerts/channels", hook(f"http://127.0.0.1:{free_port()}/hook",
                                                       events=["budget"]))
        await client.post("/budget", params={"run_id": "run-a", "budget_usd": "1"})
        await spend(client, clock, "0.80")
        assert (await client.get("/alerts/deliveries")).json() == []  # queued in memory, not yet sent
        await runner.tick()
        [d] = (await client.get("/alerts/deliveries")).json()
        assert (d["kind"], d["status"]) == ("budget.threshold", "pending")


async def test_budget_threshold_events_go_to_budget_channels_once_each(alerting: Alerting,
                                                                       clock: FrozenClock) -> None:
    async with http_receiver() as receiver, alerting() as (client, runner):
        await created(client, "/alerts/channels", hook(receiver.url("/budget"), events=["budget"]))
        await created(client, "/alerts/channels", {**hook(receiver.url("/alerts-only")), "channel_id": "other"})
        await client.post("/budget", params={"run_id": "run-a", "budget_usd": "1"})
        await spend(client, clock, "0.80")  # 80 %: the 75 % event
        await runner.tick()
        await spend(client, clock, "0.15")  # 95 %: the 90 % event
        await spend(client, clock, "0.01")
        await runner.tick()
        await runner.tick()
        bodies = [orjson.loads(r.body) for r in receiver.on("/budget")]
        assert [(b["type"], b["budget"]["threshold"], b["budget"]["scope_id"]) for b in bodies] == [
            ("budget.threshold", 75, "run-a"), ("budget.threshold", 90, "run-a")]
        assert bodies[0]["budget"]["budget_usd"] == "1.000000" and receiver.on("/alerts-only") == []


async def test_the_daily_summary_goes_to_each_channel_once_per_day(alerting: Alerting, clock: FrozenClock) -> None:
    async with http_receiver() as receiver, alerting(alert_summary_hour=8) as (client, runner):
        await created(client, "/alerts/channels", hook(receiver.url("/summary"), events=["summary"]))
        await spend(client, clock, "0.25", n=4)  # 2026-11-23 10:30
        await runner.tick()  # the summary of the 22nd (nothing happened)
        later(clock, hours=12)  # 22:30: the 23rd's summary is not due yet
        await runner.tick()
        clock.set(clock.now().replace(day=24, hour=8, minute=0, second=0))
        await runner.tick()
        await runner.tick()
        later(clock, hours=3)
        await runner.tick()
        days = [orjson.loads(r.body) for r in receiver.on("/summary")]
        assert [d["day"] for d in days] == ["2026-11-22", "2026-11-23"]
        assert (days[1]["spend_usd"], days[1]["requests"]) == ("1.000000", 4)


async def test_two_ledgers_evaluating_at_once_fire_and_notify_once(alerting: Alerting, clock: FrozenClock) -> None:
    async with http_receiver() as receiver, alerting() as (client, one), alerting() as (_, two):
        await created(client, "/alerts/channels", hook(receiver.url("/hook")))
        await created(client, "/alerts/rules", COST_RULE)
        await spend(client, clock, "0.60")
        import asyncio

        await asyncio.gather(one.evaluate_now(), two.evaluate_now(), one.evaluate_now())
        await asyncio.gather(one.tick(), two.tick())
        assert len((await client.get("/alerts")).json()) == 1
        assert len((await client.get("/alerts/deliveries")).json()) == 1
        assert len(receiver.on("/hook")) == 1


async def test_rules_and_channels_with_a_bad_field_are_a_400_naming_it(alerting: Alerting) -> None:
    async with alerting() as (client, _):
        bad_rules = {
            "metric": {**COST_RULE, "metric": "dollars"},
            "operator": {**COST_RULE, "operator": "=>"},
            "threshold": {**COST_RULE, "threshold": "0.1234567"},
            "window": {**COST_RULE, "window": "90d"},
            "filters": {**COST_RULE, "filters": {"modle": "x"}},
            "budget": {**COST_RULE, "metric": "budget_percent"},
            "severity": {**COST_RULE, "severity": "loud"},
            "rule_id": {**COST_RULE, "rule_id": "../x"},
        }
        bad_rules["threshold-rate"] = {**COST_RULE, "metric": "error_rate", "threshold": "5"}
        for name, body in bad_rules.items():
            resp = await client.post("/alerts/rules", json=body)
            assert error_of(resp)["field"] == name.split("-")[0], (name, resp.text)
        assert error_of(await client.post("/alerts/rules", content=b"{")).get("type") == "invalid_request"
        for field, body in {"secret": {"kind": "webhook", "url": "http://x.test/h"},
                            "url": {"kind": "slack"},
                            "smtp.port": {"kind": "email", "smtp": {"host": "h", "port": 0, "sender": "a@b",
                                                                     "recipients": ["c@d"]}},
                            "kind": {"kind": "pager"}}.items():
            assert error_of(await client.post("/alerts/channels", json=body))["field"] == field
        for query, field in (("state=open", "state"), ("limit=0", "limit")):
            assert error_of(await client.get(f"/alerts?{query}"))["field"] == field
        assert error_of(await client.get("/alerts/deliveries?status=lost"))["field"] == "status"
        assert (await client.get("/alerts/nope")).status_code == 404
        assert error_of(await client.post("/alerts/rules", json=COST_RULE))["field"] == "channels"  # no "hook"
        await created(client, "/alerts/channels", hook("http://receiver.test/hook"))
        await created(client, "/alerts/rules", COST_RULE)
        assert (await client.post("/alerts/rules", json=COST_RULE)).status_code == 409
        assert (await client.put("/alerts/rules/spend-high", json={**COST_RULE, "threshold": 2})).status_code == 200
        assert (await client.get("/alerts/rules/spend-high")).json()["threshold"] == "2"
        assert (await client.delete("/alerts/rules/spend-high")).status_code == 200
        assert (await client.get("/alerts/rules")).json() == []


async def test_alerts_need_the_admin_key(alerting: Alerting) -> None:
    async with alerting(admin_key="admin-secret-key") as (client, _):
        assert (await client.get("/alerts")).status_code == 401
        assert (await client.post("/alerts/rules", json=COST_RULE)).status_code == 401
        ok = await client.get("/alerts/channels", headers={"authorization": "Bearer admin-secret-key"})
        assert ok.status_code == 200


async def test_every_metric_is_measured_from_the_stored_receipts(alerting: Alerting, clock: FrozenClock) -> None:
    async with alerting() as (client, _):
        now = clock.now()
        receipts = []
        for day, cost in zip(range(1, 6), ("1.00", "1.10", "0.90", "1.00", "1.05"), strict=True):
            at = utc_iso(now - timedelta(days=day, minutes=10))
            receipts.append(make_receipt(cost, timestamp=at, model="m-a"))
        for i in range(1, 21):  # the last hour: 20 receipts of m-a, $0.25 each ($5), and one of m-b
            extra: dict[str, Any] = {"cache": "hit", "cost": "0"} if i <= 5 else {"cost": "0.25"}
            receipts.append(make_receipt(timestamp=utc_iso(now - timedelta(minutes=i)), model="m-a",
                                         latency_ms=i * 10, status="error" if i % 5 == 0 else "success",
                                         input_tokens=10, output_tokens=5, **extra))
        receipts.append(make_receipt("3.00", timestamp=utc_iso(now - timedelta(minutes=1)), model="m-b"))
        assert (await post(client, "/receipts", {"receipts": receipts})).json()["accepted"] == 26
        await client.post("/budget", params={"run_id": "run-a", "budget_usd": "40"})
        m_a = {"filters": {"model": "m-a"}, "window": "1h", "operator": ">"}
        rules = {
            "cost": {**m_a, "threshold": "1"},
            "requests": {**m_a, "threshold": "1"},
            "tokens": {**m_a, "threshold": "1"},
            "error_rate": {**m_a, "threshold": "0.1"},
            "cache_hit_rate": {**m_a, "operator": "<", "threshold": "0.1"},
            "p95_latency_ms": {**m_a, "threshold": "150"},
            "p99_latency_ms": {**m_a, "threshold": "500"},
            "budget_percent": {"window": "1h", "operator": ">=", "threshold": "75",
                               "budget": {"scope": "run", "scope_id": "run-a"}},
            "spend_anomaly": {**m_a, "threshold": "3"},
        }
        for metric, rule in rules.items():
            await created(client, "/alerts/rules", {"rule_id": metric, "name": metric, "metric": metric, **rule})
        result = (await client.post("/alerts/evaluate")).json()
        # P95 and P99 of 10, 20, ..., 200 ms: between the two top values (the rank the query layer
        # uses), within its sketch's 1 %
        p95, p99 = (Decimal(result["values"].pop(name)) for name in ("p95_latency_ms", "p99_latency_ms"))
        assert Decimal("188.1") <= p95 <= p99 <= 202
        assert result["values"] == {
            "cost": "3.750000", "requests": "20", "tokens": "300", "error_rate": "0.200000",
            "cache_hit_rate": "0.250000",
            # all spend of run-a (the five past days too): 5.05 + 3.75 + 3.00 = 11.80 of 40
            "budget_percent": "29.500000",
            # history 1.00, 1.10, 0.90, 1.00, 1.05: median 1.00, MAD 0.05; spread max(0.074, 0.10) = 0.10
            "spend_anomaly": "27.500"}
        fired = {a["rule_id"] for a in (await client.get("/alerts")).json()}
        assert fired == {"cost", "requests", "tokens", "error_rate", "p95_latency_ms", "spend_anomaly"}
        await client.put("/alerts/rules/cost", json={"name": "cost", "metric": "cost", **rules["cost"],
                                                     "enabled": False})
        await client.post("/alerts/evaluate")
        [cost] = (await client.get("/alerts?state=resolved")).json()
        assert cost["rule_id"] == "cost"
        history = (await client.get(f"/alerts/{cost['alert_id']}")).json()["history"]
        assert history[-1]["note"] == "the rule was deleted or disabled"


async def test_a_rule_that_cannot_be_read_or_measured_does_not_stop_the_others(
        alerting: Alerting, clock: FrozenClock) -> None:
    async with http_receiver() as receiver, alerting() as (client, runner):
        await created(client, "/alerts/channels", hook(receiver.url("/hook")))
        await created(client, "/alerts/rules", COST_RULE)
        await created(client, "/alerts/rules", {**COST_RULE, "rule_id": "boom", "filters": {"model": "boom"}})
        await runner.store.put_rule("garbled", '{"metric": "cost"', 0)  # a row this ledger cannot read
        await runner.store.put_channel("garbled", "[]", 0)
        measured = runner.source

        class Failing:
            async def stats(self, filters: Any, first_us: int, last_us: int) -> Any:
                if filters.get("model") == "boom":
                    raise RuntimeError("the rollups are away")
                return await measured.stats(filters, first_us, last_us)

        runner.source = Failing()
        await spend(client, clock, "0.60")
        await runner.tick()
        assert [a["rule_id"] for a in (await client.get("/alerts")).json()] == ["spend-high"]
        assert [d["status"] for d in (await client.get("/alerts/deliveries")).json()] == ["delivered"]


async def test_a_budget_event_the_hand_off_lost_is_sent_by_the_next_evaluation(
        alerting: Alerting, clock: FrozenClock) -> None:
    async with http_receiver() as receiver, alerting() as (client, runner):
        await created(client, "/alerts/channels", hook(receiver.url("/budget"), events=["budget"]))
        await runner.tick()  # an evaluation round: the next is due in a minute
        made = await client.post("/budget", json={"run_id": "run-a", "budget_usd": "1", "period": "daily",
                                                  "thresholds": [50, 75]})
        assert made.status_code == 201, made.text
        runner.ctx.on_threshold = None  # the hand-off lost (as if the ledger stopped in between)
        await spend(client, clock, "0.60")
        later(clock, seconds=30)
        await runner.tick()
        assert receiver.on("/budget") == []
        later(clock, seconds=31)
        await runner.tick()
        await runner.tick()
        [sent] = [orjson.loads(r.body) for r in receiver.on("/budget")]
        assert (sent["type"], sent["budget"]["threshold"]) == ("budget.threshold", 50)
        # the budget's own thresholds name the level (50 of [50, 75] is the caution), and its period
        assert sent["budget"]["level"] == "caution" and sent["budget"]["period_start"] == "2026-11-23T00:00:00.000Z"


async def test_a_rule_filtered_by_tag_counts_only_the_tagged_keys_receipts(alerting: Alerting,
                                                                           clock: FrozenClock) -> None:
    async with alerting() as (client, _):
        key = await created(client, "/keys", {"name": "apollo", "metadata": {"project": "apollo"}})
        await spend(client, clock, "0.60", key_id=key["key_id"])
        await spend(client, clock, "5.00")  # no key, no tag
        for rule_id, tag in (("apollo", "project:apollo"), ("zeus", "project:zeus")):
            await created(client, "/alerts/rules", {**COST_RULE, "rule_id": rule_id, "channels": [],
                                                    "filters": {"tag": tag}})
        result = (await client.post("/alerts/evaluate")).json()
        assert result["values"] == {"apollo": "0.600000", "zeus": "0.000000"}
        assert [a["rule_id"] for a in (await client.get("/alerts")).json()] == ["apollo"]


async def test_a_bad_url_is_a_400_and_a_sender_failing_oddly_is_a_failed_attempt(alerting: Alerting,
                                                                                 clock: FrozenClock) -> None:
    async with alerting() as (client, runner):
        bad = await client.post("/alerts/channels", json=hook("http://x:abc/hook"))
        assert error_of(bad)["field"] == "url"
        await created(client, "/alerts/channels", hook("http://receiver.test/hook"))
        await created(client, "/alerts/rules", COST_RULE)

        def odd(request: httpx.Request) -> httpx.Response:
            raise RuntimeError(f"no route to {request.url}")

        await runner.http.aclose()
        runner.http = httpx.AsyncClient(transport=httpx.MockTransport(odd))
        await spend(client, clock, "0.60")
        await runner.tick()
        [d] = (await client.get("/alerts/deliveries")).json()
        assert (d["status"], d["attempts"]) == ("pending", 1) and d["last_error"].startswith("RuntimeError")
        assert "receiver.test" not in d["last_error"]  # a URL may be a secret: never in the record
