"""An alert rule: what to measure (metric, filters, window), when it is breached (operator,
threshold), how loud (severity) and whom to tell (channels). Checked against
contracts/alert_rule.schema.json, then the checks a schema cannot make, each naming its field."""

from __future__ import annotations

import operator
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.common import contracts, jsonio
from services.common.errors import InvalidRequest

UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
MIN_WINDOW_S, MAX_WINDOW_S = 60, 30 * 86_400
COMPARE: dict[str, Callable[[Decimal, Decimal], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
RATES = ("error_rate", "cache_hit_rate")  # fractions from 0 to 1


@dataclass(frozen=True)
class AlertRule:
    rule_id: str
    name: str
    metric: str
    operator: str
    threshold: Decimal
    window: str
    window_s: int
    filters: dict[str, str] = field(default_factory=dict)
    budget: dict[str, str] | None = None
    severity: str = "warning"
    channels: tuple[str, ...] = ()
    enabled: bool = True

    def breached(self, value: Decimal) -> bool:
        return COMPARE[self.operator](value, self.threshold)

    def describe(self) -> str:
        scope = ", ".join(f"{k}={v}" for k, v in sorted(self.filters.items()))
        budget = f" of budget {self.budget['scope']}:{self.budget['scope_id']}" if self.budget else ""
        return (f"{self.name}: {self.metric}{budget} {self.operator} {self.threshold} over {self.window}"
                + (f" ({scope})" if scope else ""))

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule_id": self.rule_id, "name": self.name, "metric": self.metric,
                               "operator": self.operator, "threshold": format(self.threshold, "f"),
                               "window": self.window, "filters": self.filters, "severity": self.severity,
                               "channels": list(self.channels), "enabled": self.enabled}
        if self.budget is not None:
            out["budget"] = self.budget
        return out


def window_seconds(window: str) -> int:
    seconds = int(window[:-1]) * UNIT_S[window[-1]]
    if not MIN_WINDOW_S <= seconds <= MAX_WINDOW_S:
        raise InvalidRequest(f"window {window} must be from 1m to 30d", field="window")
    return seconds


def parse_rule(data: dict[str, Any], rule_id: str | None = None) -> AlertRule:
    """A rule from a request body (or a stored spec); `rule_id` from the path wins over the body's."""
    contracts.validate("alert_rule", data)
    if rule_id is not None and data.get("rule_id", rule_id) != rule_id:
        raise InvalidRequest(f"rule_id {data['rule_id']} is not the path's {rule_id}", field="rule_id")
    metric = data["metric"]
    threshold = Decimal(str(data["threshold"]))
    if not threshold.is_finite() or threshold.normalize().as_tuple().exponent < -6:  # type: ignore[operator]
        raise InvalidRequest("threshold has at most 6 decimal places", field="threshold")
    if metric == "budget_percent" and "budget" not in data:
        raise InvalidRequest("a budget_percent rule names its budget: {\"scope\", \"scope_id\"}", field="budget")
    if metric != "budget_percent" and "budget" in data:
        raise InvalidRequest("budget is only for the budget_percent metric", field="budget")
    if metric == "budget_percent" and data.get("filters"):
        raise InvalidRequest("a budget_percent rule reads its budget, not filtered receipts", field="filters")
    if metric in RATES and not 0 <= threshold <= 1:
        raise InvalidRequest(f"{metric} is a fraction: threshold must be from 0 to 1", field="threshold")
    if metric != "spend_anomaly" and threshold < 0:
        raise InvalidRequest(f"{metric} is never negative: threshold must be at least 0", field="threshold")
    return AlertRule(rule_id=rule_id or data.get("rule_id") or f"rule_{secrets.token_hex(6)}",
                     name=data["name"], metric=metric, operator=data["operator"], threshold=threshold,
                     window=data["window"], window_s=window_seconds(data["window"]),
                     filters=dict(data.get("filters") or {}), budget=data.get("budget"),
                     severity=data.get("severity", "warning"), channels=tuple(data.get("channels") or ()),
                     enabled=data.get("enabled", True))


def stored_rule(spec: str) -> AlertRule:
    return parse_rule(jsonio.loads_exact(spec))
