"""Pure-ASGI middleware shared by every service: request id, access log, body size limit.

Pure ASGI (not BaseHTTPMiddleware) because it sits on the gateway's hot path.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import structlog
from structlog.contextvars import bind_contextvars, clear_contextvars

from services.common.errors import InvalidRequest, PayloadTooLarge, fields
from services.common.ids import is_safe_id, new_request_id, safe_id_message
from services.common.metrics.http import HttpMetrics, route_of
from services.common.tracing import otel
from services.common.tracing.traceparent import parse as parse_traceparent

Scope = dict[str, Any]

access_log = structlog.get_logger("tollway.access")


REQUEST_ID_FIELD = "X-Request-ID"


class RequestContext:
    """Reads or makes `X-Request-ID`, binds it to the logs, echoes it on the response,
    writes one access-log line per request and counts it in the service's request metrics.

    A caller's W3C `traceparent` (services/common/tracing/) binds its trace id to the logs and is
    kept in `scope["state"]["trace"]` as the parent of calls made from here; with OpenTelemetry on
    the request is a server span continuing it (or starting a trace), and that span is the parent.

    A client's `X-Request-ID` is used as it is or refused: one that is not a safe id (see
    services/common/ids.py; too long, '.', '..', '/', non-ASCII ...) is answered here with a 400
    naming the header, before any service code runs, and the answer carries an id of ours. An
    empty header is no header (an id is made)."""

    def __init__(self, app: Any, *, access_log_enabled: bool = True, metrics: HttpMetrics | None = None) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # one C call, then two lookups (a repeated header: its last)
        raw_rid = headers.get(b"x-request-id")
        rid = raw_rid.decode("latin-1") if raw_rid is not None else None
        refused = bool(rid) and not is_safe_id(rid)
        if refused or not rid:
            rid = new_request_id()
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        clear_contextvars()
        traceparent = headers.get(b"traceparent")
        parent = parse_traceparent(traceparent) if traceparent is not None else None
        span = otel.server_span(scope["method"], scope["path"], parent) if otel.enabled() else None
        trace = span.ids if span is not None else parent  # the parent of the calls made from here
        if trace is not None:
            state["trace"] = trace
            bind_contextvars(request_id=rid, trace_id=trace.trace_id, span_id=trace.span_id)
        else:
            bind_contextvars(request_id=rid)
        rid_bytes = rid.encode("latin-1")
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid_bytes)]
            await send(message)

        try:
            if refused:
                await _refuse_request_id(send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            if span is not None:
                span.end(route_of(scope), status)
            if self.metrics is not None:
                self.metrics.observe(scope, status, elapsed)
            if self.access_log_enabled:
                access_log.info("request", method=scope["method"], path=scope["path"], status=status,
                                ms=round(elapsed * 1000, 3))


_BAD_REQUEST_ID = orjson.dumps(InvalidRequest(safe_id_message(REQUEST_ID_FIELD), field=REQUEST_ID_FIELD).body())


async def _refuse_request_id(send: Any) -> None:
    """The 400 for an `X-Request-ID` that is not a safe id, in the one error shape."""
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(_BAD_REQUEST_ID)).encode())]})
    await send({"type": "http.response.body", "body": _BAD_REQUEST_ID})


class BodyLimit:
    """Refuses bodies over `max_bytes` with a 413 JSON error (by Content-Length, or while reading)."""

    def __init__(self, app: Any, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = False
                if too_big:
                    await self._refuse(send)
                    return
        seen = 0
        limit = self.max_bytes

        async def counting_receive() -> dict[str, Any]:
            nonlocal seen
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = orjson.dumps({"error": fields("payload_too_large", f"request body exceeds {self.max_bytes} bytes")})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(PayloadTooLarge):
    """A body that grew past the limit while being read (chunked, or longer than it said): raised
    from `receive` into the reader, it is a TollwayError, so whichever layer catches it (the one
    error mapping) answers the same 413."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"request body exceeds {max_bytes} bytes")
