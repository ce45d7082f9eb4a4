"""What every ledger route answers, for its OpenAPI document (services/common/http/openapi.py).

Writes, and the internal reads (keys, limits, the budget snapshot), need the admin key when one is
set (401/403); the other reads are tenant-scoped: a key that is unknown, revoked or expired is a
401 there. A run, hold, lease or scope id that is not a safe id is a 400 naming it.
"""

from __future__ import annotations

from services.common.http.openapi import ADMIN, BODY, Answers, answers, array, obj, with_csv

READ = (401,)  # a tenant-scoped read: a key the ledger refuses
BUDGET = "budget_status"
DELETED = obj(scope={"type": "string"}, scope_id={"type": "string"}, deleted={"const": True},
              version={"type": "integer"})
HOLD = {"type": "object", "required": ["hold_id", "held"],
        "properties": {"hold_id": {"type": "string"}, "held": {"type": "boolean"},
                       "amount_usd": {"type": "number"}, "expires_at": {"type": "string"}, "budget": BUDGET}}
UNREADABLE_KEY = {"type": "object", "required": ["key_id", "active", "problem"], "additionalProperties": False,
                  "description": "a key stored in a form this ledger cannot read back: refused everywhere",
                  "properties": {"key_id": {"type": "string"}, "active": {"const": False},
                                 "revoked_at": {"type": ["string", "null"]}, "problem": {"type": "string"}}}
KEY_SHOWN = {"anyOf": ["virtual_key", UNREADABLE_KEY]}
HISTORY = obj(scope={"type": "string"}, scope_id={"type": "string"}, period={"type": "string"},
              budget_usd={"type": "number"}, periods={"type": "array", "items": obj(
                  spent_usd={"type": "number"}, percent={"type": "number"}, events={"type": "array"})})
SETTLED = {"anyOf": [obj(budgeted={"const": False}), BUDGET]}
STRING, TIME = {"type": "string"}, {"type": ["string", "null"]}
CHANNEL = obj(channel_id=STRING, kind={"enum": ["webhook", "slack", "email"]}, name=STRING,
              events={"type": "array", "items": STRING})
ALERT = obj(alert_id=STRING, rule_id=STRING, state={"enum": ["firing", "acknowledged", "resolved"]},
            severity=STRING, summary=STRING, value=TIME, fired_at=STRING, acknowledged_at=TIME, resolved_at=TIME)
WITH_HISTORY = {**ALERT, "required": [*ALERT["required"], "history"],
                "properties": {**ALERT["properties"], "history": {"type": "array", "items": obj(
                    at=STRING, state=STRING, value=TIME, note=TIME)}}}
POINT = obj(group={"type": "object"}, cost_usd=STRING, cost_micros={"type": "integer"}, requests={"type": "integer"},
            latency_ms=obj(p50={"type": ["number", "null"]}, p95={"type": ["number", "null"]},
                           p99={"type": ["number", "null"]}))


DELIVERY = obj(delivery_id=STRING, channel_id=STRING, kind=STRING, subject=STRING,
               status={"enum": ["pending", "delivered", "failed"]}, attempts={"type": "integer"}, last_error=TIME)

LEDGER: dict[tuple[str, str], Answers] = {
    ("GET", "/health"): answers({200: {"type": "object"}}),
    ("POST", "/receipts"): answers({200: obj(accepted={"type": "integer"}, duplicates={"type": "integer"})},
                                   *BODY, *ADMIN),
    ("GET", "/receipts/{run_id}"): answers(
        {200: obj(run_id={"type": "string"}, count={"type": "integer"}, total_cost_usd={"type": "number"},
                  receipts=array("routing_receipt"))}, 400, 422, *READ),
    ("GET", "/receipts/by-id/{request_id}"): answers({200: "routing_receipt"}, 400, 404, *READ),
    ("POST", "/budget"): answers({200: BUDGET, 201: BUDGET}, *BODY, *ADMIN),
    ("GET", "/budget/{run_id}"): answers({200: BUDGET}, 400, 404, *READ),
    ("DELETE", "/budget/{run_id}"): answers({200: DELETED}, 400, 404, *ADMIN),
    ("GET", "/budgets/{scope}/{scope_id}"): answers({200: BUDGET}, 400, 404, *READ),
    ("GET", "/budgets/{scope}/{scope_id}/history"): answers({200: HISTORY}, 400, 404, *READ),
    ("DELETE", "/budgets/{scope}/{scope_id}"): answers({200: DELETED}, 400, 404, *ADMIN),
    ("GET", "/budgets"): answers({200: array(BUDGET)}, 400, *READ),
    ("GET", "/budgets/snapshot"): answers({200: "budget_snapshot"}, 422, *ADMIN),
    ("POST", "/holds"): answers({200: HOLD, 201: HOLD}, 402, 409, *BODY, *ADMIN),
    ("POST", "/holds/{hold_id}/settle"): answers({200: SETTLED}, *BODY, *ADMIN),
    ("DELETE", "/holds/{hold_id}"): answers({200: obj(hold_id={"type": "string"}, released={"const": True})},
                                            400, 404, *ADMIN),
    ("POST", "/leases"): answers({200: "lease_grant"}, 402, 409, *BODY, *ADMIN),
    ("POST", "/leases/{lease_id}/return"): answers({200: "lease_grant"}, 404, *BODY, *ADMIN),
    ("GET", "/keys"): answers({200: obj(keys=array("virtual_key"))}, *ADMIN),
    ("POST", "/keys"): answers({201: "virtual_key"}, *BODY, *ADMIN),
    ("GET", "/keys/snapshot"): answers({200: "key_snapshot"}, 422, *ADMIN),
    ("GET", "/keys/{key_id}"): answers({200: KEY_SHOWN}, 404, *ADMIN),
    ("DELETE", "/keys/{key_id}"): answers({200: KEY_SHOWN}, 404, *ADMIN),
    ("GET", "/limits"): answers({200: obj(limits=array("limit_spec"))}, *ADMIN),
    ("POST", "/limits"): answers({201: "limit_spec"}, *BODY, *ADMIN),
    ("DELETE", "/limits/{name}"): answers(
        {200: obj(name={"type": "string"}, dimension={"type": "string"}, deleted={"const": True})}, 400, 404, *ADMIN),
    ("POST", "/alerts/rules"): answers({201: "alert_rule"}, 409, *BODY, *ADMIN),
    ("GET", "/alerts/rules"): answers({200: array("alert_rule")}, *ADMIN),
    ("GET", "/alerts/rules/{rule_id}"): answers({200: "alert_rule"}, 400, 404, *ADMIN),
    ("PUT", "/alerts/rules/{rule_id}"): answers({200: "alert_rule", 201: "alert_rule"}, *BODY, *ADMIN),
    ("DELETE", "/alerts/rules/{rule_id}"): answers({200: obj(rule_id=STRING, deleted={"const": True})},
                                                   400, 404, *ADMIN),
    ("POST", "/alerts/channels"): answers({201: CHANNEL}, 409, *BODY, *ADMIN),
    ("GET", "/alerts/channels"): answers({200: array(CHANNEL)}, *ADMIN),
    ("GET", "/alerts/channels/{channel_id}"): answers({200: CHANNEL}, 400, 404, *ADMIN),
    ("PUT", "/alerts/channels/{channel_id}"): answers({200: CHANNEL, 201: CHANNEL}, *BODY, *ADMIN),
    ("DELETE", "/alerts/channels/{channel_id}"): answers({200: obj(channel_id=STRING, deleted={"const": True})},
                                                         400, 404, *ADMIN),
    ("POST", "/alerts/evaluate"): answers({200: obj(fired={"type": "array"}, resolved={"type": "array"},
                                                    values={"type": "object"})}, *ADMIN),
    ("GET", "/alerts"): answers({200: array(ALERT)}, 400, *ADMIN),
    ("GET", "/alerts/{alert_id}"): answers({200: WITH_HISTORY}, 400, 404, *ADMIN),
    ("POST", "/alerts/{alert_id}/ack"): answers({200: WITH_HISTORY}, 404, 409, *BODY, *ADMIN),
    ("GET", "/alerts/deliveries"): answers({200: array(DELIVERY)}, 400, *ADMIN),
    ("GET", "/alerts/deliveries/{delivery_id}"): answers({200: DELIVERY}, 400, 404, *ADMIN),
    ("POST", "/alerts/deliveries/{delivery_id}/retry"): answers(
        {200: obj(delivery_id=STRING, status={"const": "pending"})}, 400, 404, *ADMIN),
    ("GET", "/metrics"): answers({200: {"type": "object"}}, 400, 403, *READ, text=True),
    ("GET", "/analytics/series"): with_csv(answers({200: obj(grain=STRING, points=array(POINT))}, 400, *READ)),
    ("GET", "/analytics/breakdown"): with_csv(answers({200: obj(grain=STRING, groups=array(POINT))}, 400, *READ)),
    ("GET", "/analytics/projection"): with_csv(answers({200: obj(horizon=STRING, starts=STRING, projection={
        "type": ["object", "null"]}, history={"type": "object"})}, 400, *READ)),
    ("GET", "/analytics/anomalies"): with_csv(answers({200: obj(metric=STRING, anomalies=array(obj(
        start=STRING, value=STRING, baseline_median=STRING, score=STRING)))}, 400, *READ)),
    ("GET", "/analytics/recommendations"): with_csv(answers({200: obj(recommendations=array(obj(
        kind=STRING, title=STRING, estimated_saving_usd=STRING, example_request_ids=array(STRING))))}, 400, *READ)),
    ("GET", "/routing/experiments/{name}/report"): answers(
        {200: obj(experiment={"type": "string"}, requests={"type": "integer"}, arms={"type": "object"},
                  comparisons={"type": "array"}, verdict={"type": "string"})}, 400, 404, 422, *READ),
}
