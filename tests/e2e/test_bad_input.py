"""Bad input gets a clear 4xx JSON error from every service, never a 500."""

import jsonschema
import pytest

from services.common import contracts

CASES = [
    ("router", "POST", "/register", b"{not json", 400),
    (
        "router",
        "POST",
        "/register",
        b'{"name": "x", "model": "m", "context_window": "big", "endpoint": "http://a", '
        b'"input_per_mtok": 1, "output_per_mtok": 1}',
        400,
    ),
    (
        "router",
        "POST",
        "/register",
        b'{"name": "../../x", "model": "m", "context_window": 1, "endpoint": "http://a", '
        b'"input_per_mtok": 1, "output_per_mtok": 1}',
        400,
    ),
    ("router", "GET", "/providers/no-such-provider", None, 404),
    ("router", "DELETE", "/providers/no-such-provider", None, 404),
    ("router", "POST", "/select", b'{"optimization": "cheapest-please"}', 400),
    ("gateway", "POST", "/route", b"{", 400),
    (
        "gateway",
        "POST",
        "/route",
        b'{"run_id": "../../x", "payload": {"messages": [{"role": "user", "content": "x"}]}}',
        400,
    ),
    ("gateway", "POST", "/route", b'{"payload": {"messages": "not a list"}}', 400),
    (
        "gateway",
        "POST",
        "/route",
        b'{"requirements": {"provider": "nobody"}, "payload": {"messages": [{"role": "user", "content": "x"}]}}',
        404,
    ),
    (
        "gateway",
        "POST",
        "/v1/chat/completions",
        b'{"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}',
        404,
    ),
    ("gateway", "POST", "/v1/chat/completions", b'{"messages": [{"role": "user", "content": "x"}]}', 400),
    ("gateway", "POST", "/v1/chat/completions", b"[1, 2]", 400),
    ("ledger", "POST", "/budget", b'{"run_id": "../../x", "budget_usd": 1}', 400),
    ("ledger", "POST", "/budget", b'{"run_id": "ok", "budget_usd": "lots"}', 400),
    ("ledger", "GET", "/budget/no-budget-here", None, 404),
    ("ledger", "GET", "/metrics?window=fortnight", None, 400),
    ("ledger", "POST", "/receipts", b'{"receipts": [{"request_id": 5}]}', 400),
]


@pytest.mark.parametrize(("service", "method", "path", "body", "expected"), CASES)
def test_bad_input_is_a_clear_4xx(swarm, http, service, method, path, body, expected):
    resp = http.request(method, swarm.url(service) + path, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == expected, resp.text
    jsonschema.validate(resp.json(), contracts.schema("error"))
    assert resp.json()["error"]["message"]


def test_run_id_header_with_path_traversal_is_refused(swarm, http):
    resp = http.post(
        swarm.url("gateway") + "/v1/chat/completions",
        json={"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]},
        headers={"X-Tollway-Run": "../../etc/passwd"},
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["field"] == "X-Tollway-Run"
    assert not list(swarm.root.parent.glob("**/passwd.jsonl"))


def test_oversized_body_is_refused(swarm, http):
    resp = http.post(
        swarm.url("gateway") + "/route", content=b"x" * (5 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert resp.status_code == 413
