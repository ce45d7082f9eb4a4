"""The alerts' Prometheus counters, on the ledger's registry (GET /metrics): alerts fired and
resolved by severity, notification attempts by channel kind and outcome, and evaluation rounds
this replica did or left to another (`evaluated`, `skipped`)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter

DELIVERED, RETRYING, FAILED = "delivered", "retrying", "failed"


class AlertCounters:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.alerts = Counter("tollway_ledger_alerts", "Alerts that fired or resolved, by severity",
                              ("event", "severity"), registry=registry)
        self.attempts = Counter("tollway_ledger_alert_delivery_attempts",
                                "Notification attempts, by channel kind and outcome (delivered, retrying, failed)",
                                ("channel", "outcome"), registry=registry)
        self.rounds = Counter("tollway_ledger_alert_rounds",
                              "Alert evaluation rounds this replica evaluated or skipped (another replica's)",
                              ("outcome",), registry=registry)

    def alert(self, kind: str, payload: dict[str, Any]) -> None:
        event = kind.removeprefix("alert.")
        self.alerts.labels(event, str(payload.get("alert", {}).get("severity", ""))).inc()

    def attempt(self, channel_kind: str, outcome: str) -> None:
        self.attempts.labels(channel_kind, outcome).inc()
