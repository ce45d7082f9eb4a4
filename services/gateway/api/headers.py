"""Reading the Tollway request headers and writing the answer's Tollway headers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request

from services.common.errors import InvalidRequest
from services.common.http.admin import bearer_token
from services.common.ids import require_safe_id
from services.common.selection.request import OPTIMIZATIONS, strategy_name
from services.gateway.caching import CACHE_HEADERS
from services.gateway.limits.decision import Verdict
from services.gateway.limits.headers import rate_limit_headers
from services.gateway.receipts.build import Receipt

if TYPE_CHECKING:
    from services.gateway.pipeline import Admitted

RUN_HEADER = "x-tollway-run"
AGENT_HEADER = "x-tollway-agent"
OPTIMIZATION_HEADER = "x-tollway-optimization"
AGENT_FIELD = "X-Tollway-Agent"  # as errors name it

# raw (lower-case, as ASGI servers give them) header name -> ClientHeaders field
_READ = {b"x-tollway-run": "run", b"x-tollway-agent": "agent", b"x-tollway-optimization": "optimization",
         b"authorization": "authorization", b"x-api-key": "api_key", b"x-request-id": "client_request_id"}
_CACHE = {name.encode("latin-1"): name for name in CACHE_HEADERS}


@dataclass(slots=True)
class ClientHeaders:
    """The request headers the client API reads, found in one pass over the raw list (Starlette's
    `request.headers.get` scans the list once per name)."""

    run: str | None = None
    agent: bytes | None = None  # as sent: decoded as UTF-8 by agent_name
    optimization: str | None = None
    authorization: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    client_request_id: str | None = None
    cache: dict[str, str] = field(default_factory=dict)  # what the response cache reads

    @classmethod
    def of(cls, request: Request) -> ClientHeaders:
        out = cls()
        for name, value in request.scope["headers"]:
            attr = _READ.get(name)
            if attr is not None:
                setattr(out, attr, value if name == b"x-tollway-agent" else value.decode("latin-1"))
            elif name in _CACHE:
                out.cache[_CACHE[name]] = value.decode("latin-1")
        return out

    def run_id(self, default: str) -> str:
        return require_safe_id(self.run or default, "X-Tollway-Run")

    @property
    def request_id(self) -> str | None:
        """The caller's own id for the request (X-Request-ID), if it sent one: a safe id or a 400."""
        if not self.client_request_id:
            return None
        return require_safe_id(self.client_request_id, "X-Request-ID")

    def agent_name(self, default: str) -> str:
        """X-Tollway-Agent as UTF-8, the text the receipt carries (a header's bytes are not latin-1
        text: a name in any script arrives as its UTF-8 bytes); bytes that are not UTF-8 are a 400."""
        if not self.agent:
            return agent_name(default, AGENT_FIELD)
        try:
            text = self.agent.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest(f"{AGENT_FIELD} is not valid UTF-8", field=AGENT_FIELD) from None
        return agent_name(text, AGENT_FIELD)

    def strategy(self) -> str | None:
        """The strategy X-Tollway-Optimization names, or None when it names none."""
        return strategy(self.optimization, "X-Tollway-Optimization") if self.optimization else None

    @property
    def credential(self) -> str | None:
        """The client's key: a bearer token, else `X-Api-Key` (Anthropic's SDK sends that)."""
        return (bearer_token(self.authorization) if self.authorization else None) or self.api_key or None


def agent_name(value: str, field: str) -> str:
    if len(value) > 200:
        raise InvalidRequest(f"{field} is longer than 200 characters", field=field)
    return value


def strategy(value: str, field: str) -> str:
    """The strategy named, in any of its spellings (`round-robin` is `round_robin`)."""
    name = strategy_name(value)
    if name not in OPTIMIZATIONS:
        raise InvalidRequest(f"{field} must be one of {', '.join(OPTIMIZATIONS)} (or a spelling such as "
                             f"round-robin, least-busy)", field=field)
    return name


def request_id(request: Request) -> str:
    return require_safe_id(request.scope["state"]["request_id"], "X-Request-ID")


def answer_raw_headers(receipt: Receipt, verdict: Verdict | None = None) -> list[tuple[bytes, bytes]]:
    """An answer's headers, encoded as the ASGI server takes them: who served it, on what run,
    at what cost, whether it fell back, and the rate limits' state."""
    raw = [
        (b"x-tollway-request-id", receipt["request_id"].encode("latin-1")),
        (b"x-tollway-provider", receipt["provider"].encode("latin-1")),
        (b"x-tollway-run", receipt["run_id"].encode("latin-1")),
        (b"x-tollway-cost-usd", format(receipt["cost_usd"], "f").encode()),
        (b"x-tollway-fallback", b"true" if receipt["fallback"] else b"false"),
    ]
    if verdict is not None:
        raw.extend((name.lower().encode("latin-1"), value.encode("latin-1"))
                   for name, value in rate_limit_headers(verdict).items())
    return raw


def answer_headers(receipt: Receipt, verdict: Verdict | None = None) -> dict[str, str]:
    """answer_raw_headers as text, for responses built from a header dict."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in answer_raw_headers(receipt, verdict)}


def stream_headers(provider: str, admitted: Admitted) -> dict[str, str]:
    """A live stream's headers: its cost is not known until its end (the receipt has it)."""
    headers = {"x-tollway-request-id": admitted.call.request_id, "x-tollway-provider": provider,
               "x-tollway-run": admitted.call.run_id}
    if admitted.verdict is not None:
        headers.update(rate_limit_headers(admitted.verdict))
    return headers


def client_ip(request: Request) -> str | None:
    client = request.scope.get("client")
    return client[0] if client else None
