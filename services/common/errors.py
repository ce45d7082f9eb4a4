"""Error types of every service, and the one place that turns them into HTTP responses.

Every error body is `{"error": {"type", "message", "code", "param", "field"?}}`
(contracts/error.schema.json): `type` is Tollway's kind of error, `code` OpenAI's code where
OpenAI has one for the same case (`model_not_found`, `context_length_exceeded`,
`insufficient_quota`, `rate_limit_exceeded`, `invalid_api_key`), else the type again, and
`param` the offending field or null, as OpenAI's errors carry them, so the OpenAI SDK's
`error.type`, `error.code` and `error.param` show them; `field` is the same field, Tollway's older
name. docs/errors.md lists what each SDK raises for each.
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
    code: str | None = None  # OpenAI's code for the same case; None: the type

    def __init__(self, message: str, *, field: str | None = None, headers: dict[str, str] | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        err = fields(self.type, self.message, self.field, self.code)
        err.update(self.extra)
        return {"error": err}


def fields(type_: str, message: str, field: str | None = None, code: str | None = None) -> dict[str, Any]:
    """An error's fields: Tollway's (`type`, `message`, `field`) and OpenAI's (`code`, `param`)."""
    err: dict[str, Any] = {"type": type_, "message": message, "code": code or type_, "param": field}
    if field:
        err["field"] = field
    return err


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


class ModelNotFound(NoProviderMatches):
    """No provider serves the model asked (nor an alias of that name): OpenAI's 404."""

    code = "model_not_found"


class ContextLengthExceeded(NoProviderMatches):
    """The request (prompt and the output asked for) is larger than every context window of the
    providers that serve its model: the caller's mistake, a 400 with OpenAI's code."""

    status = 400
    type = "context_length_exceeded"


class UnsupportedParameter(NoProviderMatches):
    """A parameter of the request (`response_format`, `tools`, an image) needs a feature that no
    provider of its model offers: a 400 naming the parameter."""

    status = 400
    type = "unsupported_parameter"


class BudgetExceeded(TollwayError):
    """A budget cannot cover the request's worst case: 402, OpenAI's code for quota (not retried
    by any SDK; docs/errors.md)."""

    status = 402
    type = "budget_exceeded"
    code = "insufficient_quota"


class Unauthorized(TollwayError):
    """No credential where one is required (a missing key)."""

    status = 401
    type = "unauthorized"
    code = "invalid_api_key"

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
    code = "rate_limit_exceeded"


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
    code = "rate_limit_exceeded"


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
    return Response(orjson.dumps({"error": fields(type_, message, field)}), status_code=status,
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
