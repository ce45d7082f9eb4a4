"""What every router route answers, for its OpenAPI document (services/common/http/openapi.py).

Changes to the registry and the routing configuration, and outcome reports, need the admin key when
one is set (401/403); reads and POST /select do not.
"""

from __future__ import annotations

from services.common.http.openapi import ADMIN, BODY, Answers, answers, array, obj

OBJECT = {"type": "object"}
REGISTERED = obj(provider="provider", created={"type": "boolean"}, reactivated={"type": "boolean"})
ENTRY = obj(kind={"type": "string"}, name={"type": "string"}, version={"type": "integer"})

ROUTER: dict[tuple[str, str], Answers] = {
    ("GET", "/health"): answers({200: OBJECT}),
    ("POST", "/register"): answers({200: REGISTERED, 201: REGISTERED}, *BODY, *ADMIN),
    ("GET", "/providers"): answers({200: obj(providers=array("provider"), count={"type": "integer"})}, 400),
    ("GET", "/providers/{name}"): answers({200: "provider"}, 404),
    ("DELETE", "/providers/{name}"): answers({200: obj(name={"type": "string"}, active={"const": False})},
                                             404, *ADMIN),
    ("POST", "/select"): answers({200: "routing_decision"}, 404, *BODY),
    ("GET", "/registry/snapshot"): answers({200: "registry_snapshot"}, 400),
    ("GET", "/stats"): answers({200: OBJECT}),
    ("GET", "/routing"): answers({200: OBJECT}),
    ("PUT", "/routing"): answers({200: OBJECT}, *BODY, *ADMIN),
    ("GET", "/routing/{kind}"): answers({200: OBJECT}, 404),
    ("GET", "/routing/{kind}/{name}"): answers({200: OBJECT}, 404),
    ("PUT", "/routing/{kind}/{name}"): answers({200: ENTRY, 201: ENTRY}, 404, *BODY, *ADMIN),
    ("DELETE", "/routing/{kind}/{name}"): answers({200: ENTRY}, 404, *ADMIN),
    ("POST", "/outcomes"): answers({202: obj(received={"type": "integer"}, kept={"type": "integer"})},
                                   *BODY, *ADMIN),
    ("GET", "/outcomes/stats"): answers({200: OBJECT}),
    ("GET", "/catalog"): answers({200: OBJECT}, 400, 404),
}
