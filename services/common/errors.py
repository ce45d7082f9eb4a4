"""Error types of every service, and the one place that turns them into HTTP responses.

Every error body is `{"error": {"type", "message", "field"?}}` (contracts/error.schema.json).
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

log = structlog.get_logger("tollway.errors")


class TollwayError(Exception):
    status = 500
    type = "internal_error"

    def __init__(self, message: str, *, field: str | None = None, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.field:
            err["field"] = self.field
        err.update(self.extra)
        return {"error": err}


class InvalidRequest(TollwayError):
    status = 400
    type = "invalid_request"


class PayloadTooLarge(TollwayError):
    status = 413
    type = "payload_too_large"


class NotFound(TollwayError):
    status = 404
    type = "not_found"


class NoProviderMatches(TollwayError):
    status = 404
    type = "no_provider"


class BudgetExceeded(TollwayError):
    status = 402
    type = "budget_exceeded"


class Unauthorized(TollwayError):
    """No credential where one is required (a missing key)."""

    status = 401
    type = "unauthorized"

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"www-authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(TollwayError):
    """A credential that does not allow this: the wrong admin key, a model the key may not use."""

    status = 403
    type = "forbidden"


class RateLimited(TollwayError):
    """A rate limit refused the request; `extra` names the limit, `headers` carry Retry-After."""

    status = 429
    type = "rate_limited"


class Conflict(TollwayError):
    status = 409
    type = "conflict"


class UpstreamFailed(TollwayError):
    status = 502
    type = "upstream_error"


class UpstreamTimeout(TollwayError):
    status = 504
    type = "upstream_timeout"


class UpstreamRateLimited(TollwayError):
    """Every provider tried answered 429: the caller should wait and try again (Retry-After says
    how long, when a provider said)."""

    status = 429
    type = "upstream_rate_limited"


class DependencyUnavailable(TollwayError):
    status = 503
    type = "service_unavailable"


class ReceiptNotWritten(TollwayError):
    """The request's receipt could not be written (the disk refused): its answer is withheld,
    since it cannot be metered."""

    status = 503
    type = "receipt_not_written"


class UpstreamUnreadable(TollwayError):
    """The provider answered, and its answer could not be read (a corrupt body, a shape no
    adapter knows): the call was paid for and is charged at the gateway's estimate."""

    status = 502
    type = "upstream_unreadable"


class ProvidersUnavailable(TollwayError):
    """Every provider that could serve the request is out for now (circuit open, unhealthy)."""

    status = 503
    type = "providers_unavailable"


class UpstreamRejected(TollwayError):
    """The provider refused the request as the caller's mistake (400, 413, 422 ...): its status
    and its own words, in the one error shape."""

    type = "invalid_request_error"

    def __init__(self, message: str, *, status: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status = status


def error_response(status: int, type_: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    err: dict[str, Any] = {"type": type_, "message": message}
    if field:
        err["field"] = field
    return Response(orjson.dumps({"error": err}), status_code=status,
                    media_type="application/json", headers=headers)


def _tollway(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, TollwayError)
    from services.common import jsonio  # money in an error's fields is exact (jsonio imports this module)

    return Response(jsonio.dumps(exc.body()), status_code=exc.status,
                    media_type="application/json", headers=exc.headers)


def _http(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, kind, str(exc.detail), headers=dict(exc.headers or {}))


def _validation(_: Request, exc: Exception) -> Response:
    errors: list[dict[str, Any]] = list(getattr(exc, "errors", lambda: [])())
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path")]
    field = ".".join(loc) or None
    msg = first.get("msg", "invalid request")
    if first.get("type") == "json_invalid":
        return error_response(400, "invalid_json", "request body is not valid JSON")
    return error_response(422, "invalid_request", f"{field}: {msg}" if field else msg, field)


def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled_error", path=request.url.path, error=repr(exc), exc_info=exc)
    return error_response(500, "internal_error", "internal error; see the service log")


def response_for(request: Request, exc: Exception) -> Response:
    """The one mapping from an exception to its HTTP answer, for code outside the framework's
    handlers (the gateway's hot path)."""
    if isinstance(exc, TollwayError):
        return _tollway(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return _http(request, exc)
    return _unexpected(request, exc)


def install_error_handlers(app: Any) -> None:
    """Wire every error type to its JSON response on a Starlette/FastAPI app."""
    from fastapi.exceptions import RequestValidationError

    app.add_exception_handler(TollwayError, _tollway)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
