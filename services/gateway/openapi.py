"""What every gateway route answers, for its OpenAPI document (services/common/http/openapi.py).

The client APIs answer in the error shape of contracts/error.schema.json (/v1/messages in
Anthropic's, which adds "type": "error" beside it); a provider's refusal of the caller's request
(a 4xx other than those below) is relayed with its own status. /admin needs the admin key when one
is set (401/403).
"""

from __future__ import annotations

from services.common.http.openapi import ADMIN, BODY, Answers, answers, obj, with_csv
from services.gateway.api.ledger_proxy import ANALYTICS_READS

OBJECT = {"type": "object"}
RELAYED = {"4XX": {"description": "the provider refused the request as the caller's mistake: its status and its"
                                  " own words, in the error shape",
                   "content": {"application/json": {"schema": {"type": "object", "required": ["error"]}}}}}
CLIENT = (*BODY, 401, 402, 403, 404, 409, 429, 502, 503, 504)  # a call through the pipeline
CALL = {**answers({200: OBJECT}, *CLIENT, stream=True), **RELAYED}

GATEWAY: dict[tuple[str, str], Answers] = {
    ("GET", "/health"): answers({200: OBJECT}),
    ("POST", "/v1/chat/completions"): CALL,
    ("POST", "/v1/messages"): CALL,
    ("POST", "/v1/embeddings"): {**answers({200: OBJECT}, *CLIENT), **RELAYED},
    ("POST", "/route"): {**answers({200: obj(response=OBJECT, decision="routing_decision", receipt="routing_receipt")},
                                   *CLIENT), **RELAYED},
    ("GET", "/v1/models"): answers({200: obj(object={"const": "list"}, data={"type": "array"})}),
    ("GET", "/v1/models/{model}"): answers({200: obj(id={"type": "string"}, object={"const": "model"})}, 404),
    ("POST", "/v1/completions"): CALL,
    ("POST", "/v1/messages/count_tokens"): answers({200: obj(input_tokens={"type": "integer"})}, *BODY, 401, 403, 404),
    ("GET", "/admin/breakers"): answers({200: OBJECT}, *ADMIN),
    ("GET", "/admin/cache"): answers({200: OBJECT}, 404, *ADMIN),
    ("DELETE", "/admin/cache"): answers({200: OBJECT}, 400, 404, *ADMIN),
    ("GET", "/admin/limits"): answers({200: OBJECT}, *ADMIN),
    ("GET", "/admin/limits/usage"): answers({200: OBJECT}, 400, 404, *ADMIN),
    ("GET", "/admin/limits/violations"): answers({200: OBJECT}, 400, 503, *ADMIN),
    ("GET", "/admin/limits/active"): answers({200: OBJECT}, 400, 503, *ADMIN),
    ("POST", "/admin/limits/reset"): answers({200: OBJECT}, *BODY, 404, 503, *ADMIN),
    ("GET", "/v1/limits"): answers({200: obj(limits={"type": "array"})}, 401, 403, 503),
    # forwarded to the ledger (services/gateway/api/ledger_proxy.py): its answers, or 503 when it is down
    ("GET", "/receipts/{run_id}"): answers({200: OBJECT}, 400, 401, 403, 422, 503),
    ("GET", "/receipts/by-id/{request_id}"): answers({200: "routing_receipt"}, 400, 401, 403, 404, 503),
    ("POST", "/budget"): answers({200: "budget_status", 201: "budget_status"}, *BODY, *ADMIN, 503),
    ("GET", "/budget/{run_id}"): answers({200: "budget_status"}, 400, 401, 403, 404, 503),
    ("DELETE", "/budget/{run_id}"): answers({200: OBJECT}, 400, 404, *ADMIN, 503),
    **{("GET", f"/analytics/{read}"): with_csv(answers({200: OBJECT}, 400, 401, 503))
       for read in ANALYTICS_READS},
}
