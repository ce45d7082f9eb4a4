"""Each service's OpenAPI document says what its routes answer (services/common/http/openapi.py):
JSON bodies, never "a string"; every error in the one error shape; no guessed 422 that is never sent;
every route has its entry in the service's answers table, and every entry a route."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.requests import Request

from services.common import contracts
from services.common.http.openapi import answers, document
from services.common.settings import Settings
from services.gateway.app import create_app as gateway_app
from services.ledger.app import create_app as ledger_app
from services.router.app import create_app as router_app


def _app(service: str, tmp_path: Path) -> FastAPI:
    settings = Settings(artifacts_dir=tmp_path, access_log=False)
    app = {"gateway": gateway_app, "ledger": ledger_app, "router": router_app}[service](settings)
    while not isinstance(app, FastAPI):  # the gateway is its middleware around the FastAPI app
        app = app.app
    return app


SERVICES = ["gateway", "ledger", "router"]


@pytest.mark.parametrize("service", SERVICES)
def test_every_route_has_its_answers_and_every_answer_a_route(service: str, tmp_path: Path) -> None:
    app = _app(service, tmp_path)
    app.openapi()
    missing, stale = app.state.openapi_gaps
    assert missing == [], f"routes without an entry in the {service}'s OpenAPI answers table: {missing}"
    assert stale == [], f"entries of the {service}'s OpenAPI answers table naming no route: {stale}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_documents_json_answers_and_errors_in_the_error_shape(service: str, tmp_path: Path) -> None:
    doc: dict[str, Any] = _app(service, tmp_path).openapi()
    assert "HTTPValidationError" not in str(doc)
    error = str(contracts.schema("error")["properties"]["error"]["required"])
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            statuses = operation["responses"]
            assert any(s.startswith("2") for s in statuses), where
            for status, answer in statuses.items():
                schema = answer["content"]["application/json"]["schema"]
                assert schema != {"type": "string"} and schema != {}, where
                if status[0] in "45" and status != "4XX":
                    assert str(schema["properties"]["error"]["required"]) == error, (where, status)


def _one_route() -> FastAPI:
    app = FastAPI()

    @app.get("/things")
    async def things() -> dict[str, Any]:
        return {}

    return app


def test_a_route_left_out_of_the_table_and_an_entry_for_none_are_reported() -> None:
    app = _one_route()
    document(app, {("GET", "/gone"): answers({200: {"type": "object"}})})
    assert "/things" in app.openapi()["paths"]
    assert app.state.openapi_gaps == ([("GET", "/things")], [("GET", "/gone")])
    app = _one_route()
    document(app, {("GET", "/things"): answers({200: {"type": "object"}}, 404)})
    assert sorted(app.openapi()["paths"]["/things"]["get"]["responses"]) == ["200", "404"]
    assert app.state.openapi_gaps == ([], [])


def test_a_path_parameter_read_from_the_request_is_declared() -> None:
    app = FastAPI()

    @app.get("/models/{model:path}")
    async def model(request: Request) -> dict[str, Any]:
        return {"id": request.path_params["model"]}

    document(app, {("GET", "/models/{model}"): answers({200: {"type": "object"}}, 404)})
    assert app.openapi()["paths"]["/models/{model}"]["get"]["parameters"] == [
        {"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}]
