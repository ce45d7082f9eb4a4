"""One evaluation of every rule at an instant: a breached rule with no open alert fires one (and
queues one notification per channel); an open alert whose rule is measured and no longer breached,
or whose rule was deleted or disabled, resolves (and queues one notification per channel). A
rule that cannot be measured (no data) leaves its alert as it is."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import structlog

from services.ledger.alerts.channels import Channel
from services.ledger.alerts.measure import measure
from services.ledger.alerts.model import FIRING, RESOLVED, Alert
from services.ledger.alerts.payloads import ALERT_FIRING, ALERT_RESOLVED, alert_payload, deliveries
from services.ledger.alerts.rules import AlertRule
from services.ledger.alerts.source import MetricSource
from services.ledger.store.alerts import AlertStore
from services.ledger.store.base import LedgerStore

log = structlog.get_logger("tollway.ledger.alerts")
Publish = Callable[[str, dict[str, Any]], None]


@dataclass
class Evaluation:
    fired: list[Alert] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    values: dict[str, Decimal | None] = field(default_factory=dict)  # rule_id -> its value


def recipients(rule: AlertRule, channels: Mapping[str, Channel]) -> list[Channel]:
    """The channels a rule names, else every channel that takes all alerts."""
    if rule.channels:
        return [channels[c] for c in rule.channels if c in channels]
    return [c for c in channels.values() if c.wants("alerts")]


async def evaluate(store: AlertStore, source: MetricSource, ledger: LedgerStore, rules: Sequence[AlertRule],
                   channels: Mapping[str, Channel], now_us: int, anomaly_days: int,
                   publish: Publish | None = None, unreadable: frozenset[str] = frozenset()) -> Evaluation:
    """`unreadable`: ids of stored rules that could not be read (their open alerts stay as they are)."""
    result = Evaluation()
    open_by_rule = {a.rule_id: a for a in await store.open_alerts()}
    active = {r.rule_id: r for r in rules if r.enabled}
    for rule in active.values():
        try:
            value = await measure(rule, source, ledger, now_us, anomaly_days)
        except Exception as exc:  # one rule that cannot be measured must not stop the others
            log.exception("alert_rule_unmeasured", rule_id=rule.rule_id, error=type(exc).__name__)
            continue
        result.values[rule.rule_id] = value
        current = open_by_rule.get(rule.rule_id)
        if value is not None and rule.breached(value):
            if current is None:
                await _fire(store, rule, value, channels, now_us, result, publish)
        elif value is not None and current is not None:
            await _resolve(store, current, rule, value, "the metric is back within its threshold", channels,
                           now_us, result, publish)
    for rule_id, current in open_by_rule.items():
        if rule_id not in active and rule_id not in unreadable:
            gone = next((r for r in rules if r.rule_id == rule_id), None)
            await _resolve(store, current, gone, None, "the rule was deleted or disabled", channels, now_us,
                           result, publish)
    return result


async def _fire(store: AlertStore, rule: AlertRule, value: Decimal, channels: Mapping[str, Channel],
                now_us: int, result: Evaluation, publish: Publish | None) -> None:
    alert = Alert(alert_id=f"alert_{secrets.token_hex(8)}", rule_id=rule.rule_id, state=FIRING,
                  severity=rule.severity, summary=rule.describe(), value=format(value, "f"), fired_us=now_us)
    payload = alert_payload(ALERT_FIRING, alert, rule, value, now_us)
    if await store.fire(alert, deliveries(recipients(rule, channels), ALERT_FIRING, alert.alert_id, payload, now_us)):
        result.fired.append(alert)
        log.warning("alert_firing", alert_id=alert.alert_id, rule_id=rule.rule_id, severity=rule.severity,
                    value=alert.value, summary=alert.summary)
        if publish is not None:
            publish(ALERT_FIRING, payload)


async def _resolve(store: AlertStore, alert: Alert, rule: AlertRule | None, value: Decimal | None, note: str,
                   channels: Mapping[str, Channel], now_us: int, result: Evaluation,
                   publish: Publish | None) -> None:
    shown = None if value is None else format(value, "f")
    done = Alert(**{**alert.__dict__, "state": RESOLVED, "resolved_us": now_us})
    if rule is None:
        payload: dict[str, Any] = {"type": ALERT_RESOLVED, "text": f"RESOLVED {alert.summary}: {note}",
                                   "alert": done.public(), "value": None}
        targets = [c for c in channels.values() if c.wants("alerts")]
    else:
        payload = alert_payload(ALERT_RESOLVED, done, rule, value, now_us)
        targets = recipients(rule, channels)
    if await store.resolve(alert.alert_id, now_us, shown, note,
                           deliveries(targets, ALERT_RESOLVED, alert.alert_id, payload, now_us)):
        result.resolved.append(alert.alert_id)
        log.info("alert_resolved", alert_id=alert.alert_id, rule_id=alert.rule_id, value=shown, note=note)
        if publish is not None:
            publish(ALERT_RESOLVED, payload)
