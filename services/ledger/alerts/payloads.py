"""What a notification says: one JSON document per delivery (the generic webhook's body as is;
Slack and email render its `text`). Money is a decimal string; no channel secret is ever in it."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

from services.common import jsonio
from services.common.money import fmt_usd, from_micros
from services.ledger.alerts.channels import Channel
from services.ledger.alerts.model import Alert, Delivery
from services.ledger.alerts.rules import AlertRule
from services.ledger.budgets.model import ThresholdEvent
from services.ledger.events.kinds import threshold_payload
from services.ledger.times import iso

ALERT_FIRING, ALERT_RESOLVED = "alert.firing", "alert.resolved"
BUDGET_THRESHOLD, DAILY_SUMMARY = "budget.threshold", "summary.daily"


def deliveries(channels: list[Channel], kind: str, subject: str, payload: dict[str, Any],
               now_us: int) -> list[Delivery]:
    body = jsonio.dumps(payload).decode()
    return [Delivery(delivery_id=f"dlv_{secrets.token_hex(8)}", channel_id=c.channel_id, kind=kind, subject=subject,
                     payload=body, next_us=now_us, created_us=now_us, updated_us=now_us) for c in channels]


def alert_payload(kind: str, alert: Alert, rule: AlertRule, value: Decimal | None, now_us: int) -> dict[str, Any]:
    shown = "no data" if value is None else format(value, "f")
    if kind == ALERT_FIRING:
        text = f"[{alert.severity.upper()}] FIRING {rule.describe()}: now {shown}"
    else:
        text = f"[{alert.severity.upper()}] RESOLVED {rule.describe()}: now {shown}"
    return {"type": kind, "at": iso(now_us), "text": text, "alert": alert.public(), "rule": rule.spec(),
            "value": None if value is None else format(value, "f")}


def budget_payload(event: ThresholdEvent) -> dict[str, Any]:
    """The same `budget` object as GET /events' budget_threshold events."""
    budget = threshold_payload(event)
    return {"type": BUDGET_THRESHOLD, "at": budget["at"],
            "text": f"[BUDGET {event.threshold}%] {event.key.scope} {event.key.scope_id} spent"
                    f" ${budget['spent_usd']} of ${budget['budget_usd']} ({budget['level']})",
            "budget": budget}


def budget_subject(event: ThresholdEvent) -> str:
    return f"{event.key.scope}:{event.key.scope_id}:{event.threshold}:{event.at_us}"


def summary_payload(day: str, spend_micros: int, requests: int, errors: int, counts: dict[str, int],
                    now_us: int) -> dict[str, Any]:
    spend = fmt_usd(from_micros(spend_micros))
    text = (f"Tollway daily summary for {day}: ${spend} over {requests} requests ({errors} errors);"
            f" alerts fired {counts['fired']}, resolved {counts['resolved']}, open now {counts['open']};"
            f" failed deliveries {counts['failed_deliveries']}")
    return {"type": DAILY_SUMMARY, "at": iso(now_us), "day": day, "text": text, "spend_usd": spend,
            "requests": requests, "errors": errors, "alerts": counts}

