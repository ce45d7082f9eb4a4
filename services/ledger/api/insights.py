"""GET /analytics/projection, /analytics/anomalies and /analytics/recommendations: where spend is
heading, which hours spiked, and how to spend less; JSON, or CSV with `format=csv`. A virtual key
sees its own tenant's rows only. docs/analytics.md."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.common.http.responses import JSONResponse
from services.ledger.access import reader
from services.ledger.analytics import forecast
from services.ledger.analytics.insight_params import parse_anomalies, parse_projection
from services.ledger.analytics.projection import HORIZON_DAYS, MIN_POINTS
from services.ledger.analytics.render import usd_text
from services.ledger.api.analytics import answer_format, query_params
from services.ledger.context import ledger
from services.ledger.times import iso

router = APIRouter(tags=["analytics"])


def csv_response(name: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}.csv"'})


def _decimal_text(value: Any) -> str:
    return f"{value:f}"


@router.get("/analytics/projection")
async def projection(request: Request) -> Response:
    ctx = ledger(request)
    params = query_params(request)
    fmt = answer_format(params)
    query = parse_projection(params, ctx.now_us())
    tenant = (await reader(request)).tenant
    answer = await forecast.projection(ctx.store, query, tenant)
    p = answer.projection
    body: dict[str, Any] = {
        "horizon": query.horizon, "horizon_days": HORIZON_DAYS[query.horizon], "starts": iso(answer.starts_us),
        "tz": str(query.tz), "filters": {k: list(v) for k, v in query.filters.items()},
        "method": "linear trend of daily spend, prediction interval (docs/analytics.md)",
        "history": {"since": iso(answer.history_since_us), "days": len(answer.daily_micros),
                    "daily_cost_usd": [usd_text(m) for m in answer.daily_micros]}}
    if tenant is not None:
        body["tenant"] = tenant
    if p is None:
        body.update(projection=None, reason=f"fewer than {MIN_POINTS} days of spend to fit a trend")
    else:
        body["projection"] = {
            "cost_usd": usd_text(p.expected_micros), "cost_micros": p.expected_micros,
            "low_usd": usd_text(p.low_micros), "high_usd": usd_text(p.high_micros),
            "confidence": _decimal_text(p.confidence),
            "trend_usd_per_day": usd_text(int(p.slope_micros_per_day.to_integral_value())),
            "residual_sd_usd": usd_text(int(p.residual_sd_micros.to_integral_value()))}
    if fmt == "csv":
        got = body["projection"] or {}
        return csv_response("projection", ("horizon", "starts", "horizon_days", "cost_usd", "low_usd", "high_usd",
                                           "confidence", "trend_usd_per_day", "history_days"),
                            [(query.horizon, body["starts"], body["horizon_days"], got.get("cost_usd"),
                              got.get("low_usd"), got.get("high_usd"), got.get("confidence"),
                              got.get("trend_usd_per_day"), len(answer.daily_micros))])
    return JSONResponse(body)


@router.get("/analytics/anomalies")
async def anomalies(request: Request) -> Response:
    ctx = ledger(request)
    params = query_params(request)
    fmt = answer_format(params)
    query = parse_anomalies(params, ctx.now_us(), ctx.settings.alert_anomaly_days)
    tenant = (await reader(request)).tenant
    answer = await forecast.anomalies(ctx.store, query, tenant)

    def text(value: Any) -> str:
        return usd_text(int(value * 1_000_000)) if query.metric == "cost" else _decimal_text(value)

    rows = [{"start": iso(s.start_us), "value": text(s.value), "baseline_median": text(s.median),
             "score": _decimal_text(s.score), "baseline_points": s.baseline_points} for s in answer.spikes]
    if fmt == "csv":
        return csv_response("anomalies", ("start", "metric", "value", "baseline_median", "score", "baseline_points"),
                            [(r["start"], query.metric, r["value"], r["baseline_median"], r["score"],
                              r["baseline_points"]) for r in rows])
    body: dict[str, Any] = {
        "metric": query.metric, "since": iso(query.since_us), "until": iso(query.until_us), "season": query.season,
        "seasons": query.seasons, "threshold": _decimal_text(query.threshold), "hours_examined": answer.hours,
        "filters": {k: list(v) for k, v in query.filters.items()}, "anomalies": rows}
    if query.metric == "error_rate":
        body["min_requests"] = query.min_requests
    if tenant is not None:
        body["tenant"] = tenant
    return JSONResponse(body)

