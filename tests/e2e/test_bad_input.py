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
    ("ledger", "GET", "/analytics/series?grain=decade", None, 400),
    ("ledger", "GET", "/analytics/breakdown?group_by=colour", None, 400),
    ("ledger", "GET", "/analytics/series?tz=America", None, 400),
    ("gateway", "GET", "/metrics?window=fortnight", None, 400),  # the ledger's answer, forwarded
    ("gateway", "POST", "/budget", b'{"run_id": "ok", "budget_usd": "lots"}', 400),
    ("gateway", "GET", "/budget/no-budget-here", None, 404),
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


def _chunked(total: int, piece: int = 64 * 1024):
    """A body sent with `Transfer-Encoding: chunked` (no Content-Length): httpx streams a generator."""
    sent = 0
    while sent < total:
        yield b"x" * min(piece, total - sent)
        sent += piece


OVER_LIMIT = 4 * 1024 * 1024 + 64 * 1024  # past TOLLWAY_MAX_BODY_BYTES (4 MiB) by one piece

CHUNKED_ENDPOINTS = [
    ("gateway", "/v1/chat/completions"),
    ("gateway", "/route"),
    ("gateway", "/v1/messages"),
    ("gateway", "/v1/embeddings"),
    ("ledger", "/receipts"),
    ("ledger", "/budget"),
    ("ledger", "/leases"),
    ("router", "/outcomes"),
    ("router", "/register"),
    ("router", "/select"),
]


@pytest.mark.parametrize(("service", "path"), CHUNKED_ENDPOINTS)
def test_chunked_body_over_the_limit_is_a_413(swarm, http, service, path):
    """Without a Content-Length the limit is met while the body is read: still a 413 in the one
    error shape (it was a 500 wherever the reader's exception reached the generic handler)."""
    resp = http.post(swarm.url(service) + path, content=_chunked(OVER_LIMIT),
                     headers={"content-type": "application/json", **swarm.admin})
    assert resp.status_code == 413, resp.text
    error = resp.json()["error"]
    assert error["type"] in ("payload_too_large", "request_too_large")  # /v1/messages: Anthropic's name
    assert "4194304 bytes" in error["message"]


def test_chunked_body_under_the_limit_is_read(swarm, http):
    """The same chunked sending, small enough: read and judged on its content (a 400, not a 413)."""
    resp = http.post(swarm.url("ledger") + "/receipts", content=_chunked(200_000),
                     headers={"content-type": "application/json"})
    assert resp.status_code == 400, resp.text
