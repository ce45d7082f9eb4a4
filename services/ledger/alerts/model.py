"""The rows alerts are made of: an alert and its history, a delivery and its attempts."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from services.ledger.times import iso

FIRING, ACKNOWLEDGED, RESOLVED = "firing", "acknowledged", "resolved"
STATES = (FIRING, ACKNOWLEDGED, RESOLVED)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
DELIVERY_STATES = (PENDING, DELIVERED, FAILED)


def _when(us: int | None) -> str | None:
    return None if us is None else iso(us)


@dataclass(frozen=True)
class Alert:
    alert_id: str
    rule_id: str
    state: str
    severity: str
    summary: str
    value: str | None
    fired_us: int
    acked_us: int | None = None
    resolved_us: int | None = None

    def public(self) -> dict[str, Any]:
        return {"alert_id": self.alert_id, "rule_id": self.rule_id, "state": self.state,
                "severity": self.severity, "summary": self.summary, "value": self.value,
                "fired_at": iso(self.fired_us), "acknowledged_at": _when(self.acked_us),
                "resolved_at": _when(self.resolved_us)}


@dataclass(frozen=True)
class Change:
    """One step of an alert's history."""

    at_us: int
    state: str
    value: str | None
    note: str | None

    def public(self) -> dict[str, Any]:
        return {"at": iso(self.at_us), "state": self.state, "value": self.value, "note": self.note}


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    channel_id: str
    kind: str  # alert.firing | alert.resolved | budget.threshold | summary.daily
    subject: str
    payload: str  # the JSON body sent (the channel's secrets are never in it)
    status: str = PENDING
    attempts: int = 0
    next_us: int = 0
    last_error: str | None = None
    created_us: int = 0
    updated_us: int = 0

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("payload")
        for name in ("next_us", "created_us", "updated_us"):
            out[name.removesuffix("_us") + "_at"] = _when(out.pop(name))
        return out


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at_us: int
    ok: bool
    error: str | None

    def public(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "at": iso(self.at_us), "ok": self.ok, "error": self.error}
