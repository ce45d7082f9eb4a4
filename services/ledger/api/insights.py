"""GET /analytics/projection, /analytics/anomalies and /analytics/recommendations: where spend is
heading, which hours spiked, and how to spend less; JSON, or CSV with `format=csv`. A virtual key
sees its own tenant's rows only. docs/analytics.md."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from services.common.http.responses import JSONResponse
from services.ledger.analytics import forecast
from services.ledger.analytics.insight_params import parse_anomalies, parse_projection, parse_recommendations
from services.ledger.analytics.projection import HORIZON_DAYS, MIN_POINTS
from services.ledger.analytics.provider_registry import read_registry, router_urls
from services.ledger.analytics.recommendations import Recommendation, recommend
from services.ledger.analytics.render import usd_text
from services.ledger.api.analytics import asked
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
    ctx, fmt, query, tenant = await asked(request, parse_projection)
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
    seasons = ledger(request).settings.alert_anomaly_days
    ctx, fmt, query, tenant = await asked(request, lambda params, now_us: parse_anomalies(params, now_us, seasons))
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



MAX_RECEIPTS = 100_000  # the newest receipts of the range one recommendation query reads


def recommendation_body(r: Recommendation) -> dict[str, Any]:
    return {"kind": r.kind, "title": r.title, "estimated_saving_usd": usd_text(r.saving_micros),
            "estimated_saving_micros": r.saving_micros, "requests": r.requests, "example_request_ids": r.examples,
            "evidence": r.evidence}


@router.get("/analytics/recommendations")
async def recommendations(request: Request) -> Response:
    ctx, fmt, query, tenant = await asked(request, parse_recommendations)
    bodies = await ctx.store.receipts_between(query.since_us, query.until_us, MAX_RECEIPTS + 1, tenant)
    registry = await read_registry(router_urls(ctx.settings.ledger_router_url))
    found = recommend(bodies[:MAX_RECEIPTS], query.filters, registry)
    if fmt == "csv":
        return csv_response("recommendations", ("kind", "title", "estimated_saving_usd", "requests",
                                                "example_request_ids", "evidence"),
                            [(r.kind, r.title, usd_text(r.saving_micros), r.requests, " ".join(r.examples),
                              json.dumps(r.evidence, sort_keys=True, default=str)) for r in found])
    body: dict[str, Any] = {
        "since": iso(query.since_us), "until": iso(query.until_us),
        "filters": {k: list(v) for k, v in query.filters.items()},
        "receipts_read": min(len(bodies), MAX_RECEIPTS), "truncated": len(bodies) > MAX_RECEIPTS,
        "provider_registry": registry.describe(), "recommendations": [recommendation_body(r) for r in found]}
    if tenant is not None:
        body["tenant"] = tenant
    return JSONResponse(body)
