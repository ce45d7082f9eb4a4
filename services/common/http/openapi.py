"""What each route answers, told to its OpenAPI document: the success statuses with their bodies and
every error status it can send, in the one error shape (contracts/error.schema.json).

A service keeps one table, (method, path) -> `answers(...)`, and `document(app, table)` applies it
to the document FastAPI builds; a test holds every route to an entry, so the document does not fall
behind the code. FastAPI's own guess of a 422 {"detail": [...]} for every route with parameters is
dropped: a route that can answer 422 (a query parameter out of range) says so in its entry, in the
error shape it really sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI

from services.common import contracts

Schema = str | dict[str, Any]  # a contract's name, or a JSON Schema
Answers = dict[int | str, dict[str, Any]]

ERRORS = {
    400: "the request is not valid; the error names the field",
    401: "no key where one is needed: the admin key (when the service has one), or a virtual key "
         "that is unknown, revoked or expired",
    402: "over budget",
    403: "the key sent does not allow this",
    404: "no such thing",
    409: "conflicts with what exists",
    413: "the body is larger than TOLLWAY_MAX_BODY_BYTES",
    422: "a query parameter is not valid; the error names it",
    429: "rate limited",
    502: "the provider failed or answered what cannot be read",
    503: "a service this one needs is unavailable",
    504: "the provider timed out",
}
ADMIN = (401, 403)  # management endpoints, when TOLLWAY_ADMIN_KEY is set
BODY = (400, 413)  # a JSON body: unreadable, against its contract, or too large
_NOT_JSON_SCHEMA = ("$schema", "$id", "$comment")


def _plain(node: Any) -> Any:
    """A contract as an OpenAPI schema: without the keywords that only make sense in a file."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items() if k not in _NOT_JSON_SCHEMA}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def schema_of(spec: Schema) -> dict[str, Any]:
    """`spec` as an OpenAPI schema; a contract's name stands for the contract wherever a schema
    goes (the whole, a property, an array's items, an anyOf's choice)."""
    if isinstance(spec, str):
        return _plain(contracts.schema(spec))  # type: ignore[no-any-return]
    out = dict(spec)
    if "properties" in out:
        out["properties"] = {k: schema_of(v) for k, v in out["properties"].items()}
    if "items" in out:
        out["items"] = schema_of(out["items"])
    for choice in ("anyOf", "oneOf"):
        if choice in out:
            out[choice] = [schema_of(v) for v in out[choice]]
    return out


def obj(**properties: Schema) -> dict[str, Any]:
    """An object with these properties, all required (others may follow)."""
    return {"type": "object", "required": list(properties), "properties": properties}


def array(items: Schema) -> dict[str, Any]:
    return {"type": "array", "items": items}


def answers(ok: Mapping[int, Schema], *errors: int, stream: bool = False, text: bool = False) -> Answers:
    """`ok`: each success status and its JSON body; `errors`: the error statuses the route can send
    (ERRORS says what each means). `stream`: a 200 may also be server-sent events; `text`: a 200
    may also be Prometheus text (or OpenMetrics)."""
    out: Answers = {}
    for status, body in ok.items():
        content: dict[str, Any] = {"application/json": {"schema": schema_of(body)}}
        if stream and status == 200:
            content["text/event-stream"] = {"schema": {"type": "string"}}
        if text and status == 200:
            content["text/plain"] = {"schema": {"type": "string"}}
            content["application/openmetrics-text"] = {"schema": {"type": "string"}}
        out[status] = {"description": "OK" if status < 300 else "", "content": content}
    for status in sorted(set(errors)):
        out[status] = {"description": ERRORS[status],
                       "content": {"application/json": {"schema": schema_of("error")}}}
    return out


def with_csv(answer: Answers) -> Answers:
    """`format=csv`: the 200 may also be text/csv."""
    answer[200]["content"]["text/csv"] = {"schema": {"type": "string"}}
    return answer


def document(app: FastAPI, table: Mapping[tuple[str, str], Answers]) -> None:
    """Give every operation of `app`'s OpenAPI document its entry of `table` when the document is
    first asked for. A route the table leaves out keeps FastAPI's description (without the guessed
    422) and an entry naming no route is ignored; both are listed in `app.state.openapi_gaps`
    (missing, stale), which tests/unit/common/test_openapi_answers.py holds empty."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema, app.state.openapi_gaps = _documented(build(), table)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _documented(doc: dict[str, Any], table: Mapping[tuple[str, str], Answers]
                ) -> tuple[dict[str, Any], tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    seen, missing = set(), []
    for path, operations in doc.get("paths", {}).items():
        for method, operation in operations.items():
            _declare_path_parameters(path, operation)
            entry = table.get((method.upper(), path))
            responses = operation.setdefault("responses", {})
            if entry is None:
                missing.append((method.upper(), path))
                if "HTTPValidationError" in str(responses.get("422", "")):  # FastAPI's guess, never sent
                    del responses["422"]
                continue
            seen.add((method.upper(), path))
            operation["responses"] = {str(status): answer for status, answer in entry.items()}
    schemas = doc.get("components", {}).get("schemas", {})
    if "HTTPValidationError" not in str(doc.get("paths")):
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
    return doc, (missing, sorted(set(table) - seen))


def _declare_path_parameters(path: str, operation: dict[str, Any]) -> None:
    """Every {name} of the path is a parameter of the operation: a route that reads it from the
    request (not from its signature) is not given it by FastAPI, and the document is invalid without."""
    declared = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "path"}
    for name in re.findall(r"{([^}:]+)(?::[^}]*)?}", path):
        if name not in declared:
            operation.setdefault("parameters", []).append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}})
