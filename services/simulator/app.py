"""The simulator app: wires the OpenAI-format routes, plain and under `/sim/<spec>`, to the shared handler."""

from __future__ import annotations

from types import ModuleType

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from services.common.http.app import build_app
from services.common.settings import Settings
from services.simulator import handler
from services.simulator.config import SimSettings
from services.simulator.formats import openai
from services.simulator.state import SimState


def _routes(app: FastAPI, prefix: str, fmt: ModuleType, chat_path: str, models_path: str) -> None:
    async def chat(request: Request) -> Response:
        return await handler.chat(request, fmt)

    async def models(request: Request) -> Response:
        return await handler.models(request, fmt)

    for base in ("", "/sim/{spec}"):
        # plain Starlette routes: no FastAPI dependency solving on a path benches hammer
        app.add_route(base + prefix + chat_path, chat, methods=["POST"], include_in_schema=False)
        app.add_route(base + prefix + models_path, models, methods=["GET"], include_in_schema=False)


def create_app(settings: Settings | None = None, sim: SimSettings | None = None) -> FastAPI:
    settings = settings or Settings()
    sim = sim or SimSettings()
    quiet = settings.model_copy(update={"access_log": sim.access_log})
    app = build_app("simulator", quiet, port=settings.simulator_port)
    app.state.sim = SimState.from_settings(sim)
    _routes(app, "/v1", openai, "/chat/completions", "/models")
    return app
