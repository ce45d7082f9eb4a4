"""One id rule: contracts/definitions.schema.json's `safe_id`, which every contract id field refers
to, and services/common/ids.py, which compiles the same pattern, accept exactly the same strings."""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common import contracts
from services.common.errors import InvalidRequest
from services.common.http.middleware import RequestContext
from services.common.ids import SAFE_ID_RULE, is_safe_id, new_request_id, require_safe_id

SAFE_ID_REF = "definitions.schema.json#/definitions/safe_id"
PAYLOAD = {"messages": [{"role": "user", "content": "x"}]}
ALPHABET = string.ascii_letters + string.digits + "._-"

HOSTILE = [
    "", ".", "..", "...", "/", "a/b", "../x", "x/..", "a..b", "..a", "a..", "%2e%2e", "\x00", "a\x00",
    "a" * 129, "ü", "aü", "abc\n", "\nabc", "a\r", " ", "a b", "a\tb", "a\\b", "\u2024", "\uff0e", "ａ",
    "C:", "a:b", "a*b", "~", "a\u200bb",
]
SAFE = ["a", "A", "0", "-", "_", ".a", "a.", "a.b.c", ".hidden", "run-1_2.3", "a" * 128, "req-" + "f" * 24,
        "-.-", "_._"]


def reference(value: str) -> bool:
    """The rule in plain words: 1 to 128 of [A-Za-z0-9._-], not '.', no '..'."""
    return 1 <= len(value) <= 128 and all(c in ALPHABET for c in value) and value != "." and ".." not in value


def contract_accepts(value: str) -> dict[str, bool]:
    """Whether the compiled contracts accept `value` in some of the fields that refer to safe_id."""
    bodies = {
        "routing_request.run_id": ("routing_request", {"run_id": value, "payload": PAYLOAD}),
        "routing_request.request_id": ("routing_request", {"request_id": value, "payload": PAYLOAD}),
        "hold_request.hold_id": ("hold_request", {"hold_id": value, "run_id": "r", "amount_usd": 1}),
        "lease_request.scope_id": ("lease_request", {"lease_id": "l", "scope": "team", "scope_id": value,
                                                     "need_usd": 0, "want_usd": 1}),
        "budget.run_id": ("budget", {"run_id": value, "budget_usd": 1}),
    }
    out = {}
    for where, (name, body) in bodies.items():
        try:
            contracts.validate(name, body)
            out[where] = True
        except InvalidRequest:
            out[where] = False
    return out


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_ids_are_refused_by_the_code_and_by_every_contract(value: str) -> None:
    assert not reference(value)
    assert not is_safe_id(value)
    assert not any(contract_accepts(value).values()), contract_accepts(value)


@pytest.mark.parametrize("value", SAFE)
def test_safe_ids_pass_the_code_and_every_contract(value: str) -> None:
    assert reference(value)
    assert is_safe_id(value)
    assert all(contract_accepts(value).values()), contract_accepts(value)


near_ids = st.text(alphabet=st.sampled_from([*ALPHABET, ".", ".", "/", "\n", "\x00", "ü", " ", "%"]),
                   min_size=0, max_size=140)


@settings(max_examples=400, deadline=None)
@given(st.one_of(near_ids, st.text(max_size=140), st.text(alphabet=".", max_size=4)))
def test_the_code_and_the_contracts_agree_on_any_string(value: str) -> None:
    expected = reference(value)
    assert is_safe_id(value) is expected
    assert set(contract_accepts(value).values()) == {expected}


def test_non_strings_are_not_safe_ids() -> None:
    assert not is_safe_id(None)
    assert not is_safe_id(5)
    assert not is_safe_id(b"abc")


def test_made_request_ids_are_safe() -> None:
    assert all(is_safe_id(new_request_id()) for _ in range(100))


def test_require_safe_id_is_a_400_naming_the_field() -> None:
    assert require_safe_id("run-1", "run_id") == "run-1"
    with pytest.raises(InvalidRequest) as refused:
        require_safe_id("..", "X-Tollway-Run")
    assert refused.value.status == 400 and refused.value.field == "X-Tollway-Run"
    assert refused.value.message == f"X-Tollway-Run must be {SAFE_ID_RULE}"


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}/{i}")


def _refers_to_safe_id(node: Any) -> bool:
    """`node` is the safe id (or an array of them, or it or null, or it and more)."""
    if not isinstance(node, dict):
        return False
    if node.get("$ref") == SAFE_ID_REF:
        return True
    if node.get("type") == "array":
        return _refers_to_safe_id(node.get("items"))
    if "anyOf" in node:
        return all(_refers_to_safe_id(s) or s == {"type": "null"} for s in node["anyOf"])
    if "allOf" in node:
        return any(_refers_to_safe_id(s) for s in node["allOf"])
    return False


ID_FIELDS = {"request_id", "client_request_id", "run_id", "hold_id", "lease_id", "key_id", "scope_id", "run_ids",
             "lease_ids"}
SCOPE_FIELDS = {"team", "org"}  # the ids of team and org budgets
# a whole field of the id's characters, in the forms the contracts had before the one definition
ID_PATTERNS = {"^[A-Za-z0-9._-]{1,128}$", "^(?!.*\\.\\.)[A-Za-z0-9._-]{1,128}$",
               contracts.raw_schema("definitions")["definitions"]["safe_id"]["pattern"]}
NOT_IDS = {"selection_request"}  # requirements.team there is a routing-rule match, not a budget's id


def test_every_contract_id_field_refers_to_the_one_definition() -> None:
    checked = []
    for path in sorted(contracts.CONTRACTS_DIR.glob("*.schema.json")):
        name = path.name.removesuffix(".schema.json")
        if name == "definitions" or name in NOT_IDS:
            continue
        for where, node in _walk(contracts.raw_schema(name)):
            if where.endswith("/properties"):  # field names, not a schema
                continue
            pattern = node.get("pattern")
            assert not (isinstance(pattern, str) and pattern in ID_PATTERNS), f"{name}{where}: an own id pattern"
            props = node.get("properties")
            for field, spec in (props.items() if isinstance(props, dict) else ()):
                if field in ID_FIELDS | SCOPE_FIELDS:
                    assert _refers_to_safe_id(spec), f"{name}{where}/properties/{field} does not refer to {SAFE_ID_REF}"
                    checked.append(f"{name}.{field}")
    for expected in ("routing_request.run_id", "routing_request.request_id", "routing_receipt.run_id",
                     "routing_receipt.client_request_id",
                     "routing_receipt.lease_ids", "hold_request.hold_id", "lease_request.lease_id",
                     "lease_request.scope_id", "budget.run_id", "budget.scope_id", "key_request.team",
                     "key_snapshot.key_id", "virtual_key.key_id", "budget_snapshot.run_ids"):
        assert expected in checked


def test_the_loader_inlines_the_shared_definition() -> None:
    run_id = contracts.schema("routing_request")["properties"]["run_id"]
    assert "$ref" not in run_id and run_id["pattern"] == contracts.raw_schema("definitions")[
        "definitions"]["safe_id"]["pattern"]
    key_id = contracts.schema("routing_receipt")["properties"]["key_id"]
    assert key_id["description"].startswith("the virtual key")  # its own note, kept beside the $ref


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": scope["state"]["request_id"].encode()})


@pytest.fixture
def client() -> httpx.AsyncClient:
    app = RequestContext(_ok, access_log_enabled=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize("value", [v for v in HOSTILE if v])
async def test_an_unsafe_request_id_header_is_a_400_not_truncated(client: httpx.AsyncClient, value: str) -> None:
    async with client:
        resp = await client.get("/x", headers=[(b"x-request-id", value.encode("utf-8"))])
    assert resp.status_code == 400
    assert resp.json() == {"error": {"type": "invalid_request", "message": f"X-Request-ID must be {SAFE_ID_RULE}",
                                     "code": "invalid_request", "param": "X-Request-ID", "field": "X-Request-ID"}}
    assert is_safe_id(resp.headers["x-request-id"])  # an id of ours, not the refused one


@pytest.mark.parametrize("value", [*SAFE, ""])
async def test_a_safe_request_id_header_is_used_as_it_is(client: httpx.AsyncClient, value: str) -> None:
    async with client:
        resp = await client.get("/x", headers={"x-request-id": value})
    assert resp.status_code == 200
    if value:
        assert resp.text == value and resp.headers["x-request-id"] == value
    else:  # an empty header is no header: an id is made
        assert resp.text.startswith("req-") and is_safe_id(resp.text)
