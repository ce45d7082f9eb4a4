"""GET /analytics/series and GET /analytics/breakdown: spend, traffic, errors, cache and latency by
any dimension over any range, as JSON or CSV (`format=csv`). A virtual key sees its own tenant's
rows only, as on every ledger read (services/ledger/access.py). docs/analytics.md."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.common.errors import InvalidRequest
from services.common.http.responses import JSONResponse
from services.ledger.access import reader
from services.ledger.analytics.calendar import GRAINS
from services.ledger.analytics.render import csv_text, point_body
from services.ledger.analytics.retention import Retention
from services.ledger.analytics.rollup import STORED_GRAINS
from services.ledger.analytics.series import Point, query_breakdown, query_series
from services.ledger.analytics.sketch import ALPHA
from services.ledger.analytics.spec import GROUPS, SeriesSpec, parse_breakdown, parse_series
from services.ledger.context import LedgerContext, ledger
from services.ledger.times import iso

router = APIRouter(tags=["analytics"])
T = TypeVar("T")
FORMATS = ("json", "csv")


def _parameter(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _parameters(grains: tuple[str, ...]) -> dict[str, Any]:
    """The query parameters, for the OpenAPI document (the route reads them itself, to name a bad one)."""
    return {"parameters": [
        _parameter("grain", "bucket size", {"type": "string", "enum": list(grains)}),
        _parameter("since", "RFC 3339 UTC instant; rounded down to its bucket", {"type": "string",
                                                                                   "format": "date-time"}),
        _parameter("until", "RFC 3339 UTC instant (exclusive); default now", {"type": "string", "format": "date-time"}),
        _parameter("group_by", f"comma-separated, any of {', '.join(GROUPS)}"),
        _parameter("tz", "IANA time zone for day, week and month buckets (default UTC)"),
        _parameter("format", "json (default) or csv", {"type": "string", "enum": list(FORMATS)}),
        _parameter("latency", "false: no latency quantiles (counters only, faster)",
                   {"type": "string", "enum": ["true", "false"]}),
        *(_parameter(name, f"only these {name} values (comma-separated)") for name in GROUPS)]}


def query_params(request: Request) -> dict[str, str]:
    """The query parameters; one given twice is its values joined by commas (provider=a&provider=b)."""
    q = request.query_params
    return {name: ",".join(q.getlist(name)) for name in q}


def answer_format(params: dict[str, str]) -> str:
    fmt = params.get("format", "json")
    if fmt not in FORMATS:
        raise InvalidRequest(f"format must be json or csv, not {fmt[:64]!r}", field="format")
    return fmt


async def asked(request: Request, parse: Callable[[dict[str, str], int], T]
                ) -> tuple[LedgerContext, str, T, str | None]:
    """An analytics request read: the ledger, the answer's format, the parsed query (a bad field is a
    400 naming it) and the reader's tenant (None: everything)."""
    ctx = ledger(request)
    params = query_params(request)
    fmt = answer_format(params)
    query = parse(params, ctx.now_us())
    return ctx, fmt, query, (await reader(request)).tenant


def _answer(kind: str, spec: SeriesSpec, points: list[Point], fmt: str, tenant: str | None) -> Response:
    by_bucket = kind == "series"
    if fmt == "csv":
        return Response(csv_text(points, spec.group_by, with_start=by_bucket), media_type="text/csv; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{kind}.csv"'})
    body: dict[str, Any] = {"grain": spec.grain, "tz": str(spec.tz), "since": iso(spec.since_us),
                            "until": iso(spec.until_us), "group_by": list(spec.group_by),
                            "filters": {k: list(v) for k, v in spec.filters.items()},
                            "latency_relative_error": ALPHA}
    if tenant is not None:
        body["tenant"] = tenant
    body["points" if by_bucket else "groups"] = [point_body(p) for p in points]
    return JSONResponse(body)


@router.get("/analytics/series", openapi_extra=_parameters(GRAINS))
async def series(request: Request) -> Response:
    ctx, fmt, spec, tenant = await asked(request, parse_series)
    points = await query_series(ctx.store, spec.for_tenant(tenant))
    return _answer("series", spec, points, fmt, tenant)


@router.get("/analytics/breakdown", openapi_extra=_parameters(tuple(STORED_GRAINS)))
async def breakdown(request: Request) -> Response:
    retention = Retention.of(ledger(request).settings)
    ctx, fmt, spec, tenant = await asked(request, lambda params, now_us: parse_breakdown(params, now_us, retention))
    points = await query_breakdown(ctx.store, spec.for_tenant(tenant))
    return _answer("breakdown", spec, points, fmt, tenant)
