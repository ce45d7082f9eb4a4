"""The ledger's reads and budget writes on the gateway's port: GET /metrics?window=,
GET /receipts/{run_id}, GET /receipts/by-id/{request_id}, POST /budget, GET and DELETE
/budget/{run_id}, and the analytics reads
GET /analytics/{series,breakdown,projection,anomalies,recommendations} (ANALYTICS_READS, every
query parameter passed on as given, repeated ones too; `format=csv` comes back as the ledger's
CSV attachment), forwarded to the ledger with the caller's own credentials (its Authorization or
X-Admin-Key, never the gateway's), so the ledger answers exactly as it would the caller: a virtual
key sees its own tenant, a write needs the admin key. With several ledger addresses
(TOLLWAY_LEDGER_URL, comma-separated) a call goes to the one that last answered, and on to the
next when it cannot be reached (a write only when it cannot have been sent). The ledger's answer
is relayed as it is; no ledger reached is a 503.

GET /metrics without `window` is the gateway's own Prometheus exposition (build_app's route
hands only `?window=` requests to `metrics_window`)."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import DependencyUnavailable
from services.common.ids import require_safe_id
from services.gateway.failover import Addresses, first_answer

FORWARDED_HEADERS = ("authorization", "x-admin-key", "content-type", "x-request-id")
RELAYED_HEADERS = ("content-type", "content-disposition", "retry-after")
ANALYTICS_READS = ("series", "breakdown", "projection", "anomalies", "recommendations")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
UNANSWERED = (httpx.TransportError,)  # a read is tried on the next ledger address on any of these
UNSENT = (httpx.ConnectError, httpx.ConnectTimeout)  # a write only when it cannot have reached the ledger


class LedgerProxy:
    def __init__(self, ledger: Addresses | str, timeout_s: float) -> None:
        self.ledger = Addresses.of("ledger", ledger)
        self.timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(self.timeout_s))

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def forward(self, request: Request, path: str) -> Response:
        if self._client is None:
            raise DependencyUnavailable("the gateway is starting: its ledger client is not ready")
        headers = {name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers}
        body = await request.body() if request.method in ("POST", "PUT", "PATCH") else None
        client, params = self._client, request.query_params.multi_items()

        async def call(base: str) -> httpx.Response:
            return await client.request(request.method, base + path, headers=headers, content=body, params=params)

        try:
            answer = await first_answer(self.ledger, call, UNSENT if request.method in WRITES else UNANSWERED)
        except httpx.HTTPError as exc:
            raise DependencyUnavailable(f"the ledger cannot be reached ({type(exc).__name__}): try again",
                                        headers={"retry-after": "2"}) from None
        relayed = {name: answer.headers[name] for name in RELAYED_HEADERS if name in answer.headers}
        return Response(answer.content, status_code=answer.status_code, headers=relayed)


def proxy(request: Request) -> LedgerProxy:
    found: LedgerProxy = request.app.state.ledger_proxy
    return found


async def metrics_window(request: Request) -> Response:
    return await proxy(request).forward(request, "/metrics")


async def run_receipts(request: Request, run_id: str) -> Response:
    return await proxy(request).forward(request, f"/receipts/{require_safe_id(run_id, 'run_id')}")


async def receipt_by_id(request: Request, request_id: str) -> Response:
    return await proxy(request).forward(request, f"/receipts/by-id/{require_safe_id(request_id, 'request_id')}")


async def set_budget(request: Request) -> Response:
    return await proxy(request).forward(request, "/budget")


async def run_budget(request: Request, run_id: str) -> Response:
    return await proxy(request).forward(request, f"/budget/{require_safe_id(run_id, 'run_id')}")


async def analytics_read(request: Request) -> Response:
    """GET /analytics/<one of ANALYTICS_READS>, at the same path on the ledger."""
    return await proxy(request).forward(request, request.url.path)
