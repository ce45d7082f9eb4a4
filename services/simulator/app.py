"""The simulator app: wires each format's routes (OpenAI, Azure OpenAI, Anthropic, Gemini), plain
and under `/sim/<spec>`, to the shared handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from services.common.http.app import build_app
from services.common.http.responses import JSONResponse
from services.common.settings import Settings
from services.simulator import handler
from services.simulator.config import SimSettings
from services.simulator.faults import CloseAfterAnswer
from services.simulator.formats import anthropic, gemini, openai
from services.simulator.state import SimState

Endpoint = Callable[[Request], Awaitable[Response]]


def _chat(fmt: ModuleType, *, model_param: str | None = None, stream: bool | None = None) -> Endpoint:
    async def chat(request: Request) -> Response:
        model = request.path_params.get(model_param) if model_param else None
        return await handler.chat(request, fmt, model=model, stream=stream)
    return chat


def _models(fmt: ModuleType) -> Endpoint:
    async def models(request: Request) -> Response:
        return await handler.models(request, fmt)
    return models


async def _azure_chat(request: Request) -> Response:
    """Azure OpenAI: OpenAI's format at a deployment URL that must name its api-version."""
    if not request.query_params.get("api-version"):
        return handler.error_response(openai, 404, "Resource not found: the api-version query parameter is missing",
                                      param="api-version")
    return await handler.chat(request, openai, model=request.path_params["deployment"])


async def _azure_embed(request: Request) -> Response:
    if not request.query_params.get("api-version"):
        return handler.error_response(openai, 404, "Resource not found: the api-version query parameter is missing",
                                      param="api-version")
    return await handler.embed(request, model=request.path_params["deployment"])


async def _requests(request: Request) -> Response:
    """How many calls the simulator has had: chat and embeddings by spec, model lists by spec, and
    how many streams lost their client before the end."""
    state: SimState = request.app.state.sim
    return JSONResponse({"total": sum(state.calls.values()), "by_spec": dict(state.calls),
                         "model_lists": dict(state.probes), "abandoned_streams": state.abandoned_streams})


def _route(app: FastAPI, path: str, endpoint: Endpoint, method: str) -> None:
    for base in ("", "/sim/{spec}"):
        # plain Starlette routes: no FastAPI dependency solving on a path benches hammer
        app.add_route(base + path, endpoint, methods=[method], include_in_schema=False)


def create_app(settings: Settings | None = None, sim: SimSettings | None = None) -> FastAPI:
    settings = settings or Settings()
    sim = sim or SimSettings()
    quiet = settings.model_copy(update={"access_log": sim.access_log})
    app = build_app("simulator", quiet, port=settings.simulator_port)
    app.state.sim = state = SimState.from_settings(sim)
    app.add_middleware(CloseAfterAnswer, spec_of=state.spec)  # added last: outermost (it needs uvicorn's receive)
    _route(app, "/v1/chat/completions", _chat(openai), "POST")
    _route(app, "/v1/models", _models(openai), "GET")
    _route(app, "/openai/deployments/{deployment}/chat/completions", _azure_chat, "POST")
    _route(app, "/openai/models", _models(openai), "GET")  # Azure OpenAI's model list
    _route(app, "/v1/embeddings", handler.embed, "POST")
    _route(app, "/openai/deployments/{deployment}/embeddings", _azure_embed, "POST")
    app.add_route("/requests", _requests, methods=["GET"], include_in_schema=False)
    _route(app, "/v1/messages", _chat(anthropic), "POST")
    _route(app, "/v1/messages/count_tokens", handler.count_tokens, "POST")
    for version in ("/v1beta", "/v1"):  # Google serves both; its SDKs default to one or the other
        _route(app, version + "/models/{model}:generateContent", _chat(gemini, model_param="model", stream=False),
               "POST")
        _route(app, version + "/models/{model}:streamGenerateContent",
               _chat(gemini, model_param="model", stream=True), "POST")
        _route(app, version + "/models/{model}:batchEmbedContents", handler.embed_gemini, "POST")
    _route(app, "/v1beta/models", _models(gemini), "GET")
    return app
