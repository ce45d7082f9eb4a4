"""Reading the Tollway request headers and writing the answer's Tollway headers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from services.common.errors import InvalidRequest
from services.common.ids import require_safe_id
from services.common.selection.request import OPTIMIZATIONS
from services.gateway.limits.decision import Verdict
from services.gateway.limits.headers import rate_limit_headers

if TYPE_CHECKING:
    from services.gateway.pipeline import Admitted

RUN_HEADER = "x-tollway-run"
AGENT_HEADER = "x-tollway-agent"
OPTIMIZATION_HEADER = "x-tollway-optimization"


def run_id(request: Request, default: str) -> str:
    return require_safe_id(request.headers.get(RUN_HEADER) or default, "X-Tollway-Run")


def agent(request: Request, default: str) -> str:
    value = request.headers.get(AGENT_HEADER) or default
    if len(value) > 200:
        raise InvalidRequest("X-Tollway-Agent is longer than 200 characters", field="X-Tollway-Agent")
    return value


def optimization(request: Request, default: str) -> str:
    value = request.headers.get(OPTIMIZATION_HEADER) or default
    if value not in OPTIMIZATIONS:
        raise InvalidRequest(f"X-Tollway-Optimization must be one of {', '.join(OPTIMIZATIONS)}",
                             field="X-Tollway-Optimization")
    return value


def request_id(request: Request) -> str:
    return require_safe_id(request.scope["state"]["request_id"], "X-Request-ID")


def answer_headers(receipt: dict[str, Any], verdict: Verdict | None = None) -> dict[str, str]:
    headers = {
        "x-tollway-provider": receipt["provider"],
        "x-tollway-run": receipt["run_id"],
        "x-tollway-cost-usd": format(receipt["cost_usd"], "f"),
        "x-tollway-fallback": "true" if receipt["fallback"] else "false",
    }
    if verdict is not None:
        headers.update(rate_limit_headers(verdict))
    return headers


def stream_headers(provider: str, admitted: Admitted) -> dict[str, str]:
    """A live stream's headers: its cost is not known until its end (the receipt has it)."""
    headers = {"x-tollway-provider": provider, "x-tollway-run": admitted.call.run_id}
    if admitted.verdict is not None:
        headers.update(rate_limit_headers(admitted.verdict))
    return headers


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
