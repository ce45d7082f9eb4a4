"""`tollway cost projection | anomalies | advice`: the ledger's insights (GET /analytics/projection,
/analytics/anomalies, /analytics/recommendations; docs/analytics.md), filtered like the series
(--filter team=ml, repeated). A virtual key (--key) sees its own tenant's only."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from services.cli.commands.cost import parse_since
from services.cli.session import JsonFlag, money, pairs, session

FilterOpt = Annotated[list[str], typer.Option(
    "--filter", help="NAME=VALUE: provider, model, key, user, team, org, run, agent or tag; repeat.")]
UntilOpt = Annotated[str | None, typer.Option(help="The end (YYYY-MM-DDTHH:MM:SSZ; default now).")]


def since_param(text: str | None) -> str | None:
    """A duration back from now (24h, 7d) as the instant it names, or an instant as given."""
    if text is None or re.match(r"\d{4}-\d\d-\d\d", text.strip()):
        return text
    return (datetime.now(UTC) - parse_since(text)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Horizon(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


class Metric(StrEnum):
    cost = "cost"
    error_rate = "error_rate"


class Season(StrEnum):
    day = "day"
    week = "week"


def projection(ctx: typer.Context, horizon: Annotated[Horizon, typer.Option(help="How far ahead.")] = Horizon.month,
               history_days: Annotated[int | None, typer.Option(help="Days of history fitted (7 to 730; 28).",
                                                                min=7, max=730)] = None,
               confidence: Annotated[float | None, typer.Option(help="The interval's confidence (0.5 to 0.99; 0.9).",
                                                                min=0.5, max=0.99)] = None,
               until: UntilOpt = None, filters: FilterOpt = [], json_out: JsonFlag = False) -> None:  # noqa: B006
    """Where spend is heading: a linear trend of daily spend, with a prediction interval."""
    s = session(ctx, json_out)
    body = s.api.get("ledger", "/analytics/projection", params={
        "horizon": horizon.value, "history_days": history_days, "confidence": confidence, "until": until,
        **pairs(filters, "--filter")})

    def human() -> None:
        p, history = body["projection"], body["history"]
        if p is None:
            s.say(f"no projection for the next {body['horizon']}: {body['reason']} ({history['days']} days of history)")
            return
        s.say(f"the next {body['horizon']} from {body['starts']} ({body['horizon_days']} days): {money(p['cost_usd'])}"
              f", {float(p['confidence']):.0%} interval {money(p['low_usd'])} to {money(p['high_usd'])};"
              f" trend {money(p['trend_usd_per_day'])}/day over {history['days']} days of history")

    s.emit(body, human)


def anomalies(ctx: typer.Context, metric: Annotated[Metric, typer.Option(help="What spiked.")] = Metric.cost,
              since: Annotated[str | None, typer.Option(help="From: 24h, 7d, ... or an instant (default 24h).")
                               ] = None,
              until: UntilOpt = None,
              season: Annotated[Season | None, typer.Option(help="Compare with the same hour of each day or"
                                                                 " week.")] = None,
              seasons: Annotated[int | None, typer.Option(help="How many past seasons (3 to 12).", min=3, max=12)
                                 ] = None,
              threshold: Annotated[float | None, typer.Option(help="Score above which an hour is reported (3).")
                                   ] = None,
              filters: FilterOpt = [], json_out: JsonFlag = False) -> None:  # noqa: B006
    """The hours whose cost or error rate spiked against the same hours before."""
    s = session(ctx, json_out)
    body = s.api.get("ledger", "/analytics/anomalies", params={
        "metric": metric.value, "since": since_param(since), "until": until,
        "season": season.value if season else None, "seasons": seasons, "threshold": threshold,
        **pairs(filters, "--filter")})
    value = money if metric is Metric.cost else (lambda v: v)
    s.emit(body, lambda: s.table(
        f"{len(body['anomalies'])} anomalies in {body['hours_examined']} hours ({body['metric']}, against"
        f" {body['seasons']} {body['season']}s, score above {body['threshold']})",
        ["hour", "value", "baseline median", "score"],
        [[a["start"], value(a["value"]), value(a["baseline_median"]), a["score"]] for a in body["anomalies"]]))


def advice(ctx: typer.Context,
           since: Annotated[str | None, typer.Option(help="From: 7d, 24h, ... or an instant (default 7d).")] = None,
           until: UntilOpt = None, filters: FilterOpt = [], json_out: JsonFlag = False) -> None:  # noqa: B006
    """How to spend less: each recommendation with its estimated saving (they overlap: do not add)."""
    s = session(ctx, json_out)
    body = s.api.get("ledger", "/analytics/recommendations", params={
        "since": since_param(since), "until": until, **pairs(filters, "--filter")})

    def human() -> None:
        shown: list[dict[str, Any]] = body["recommendations"]
        more = ", truncated" if body["truncated"] else ""
        s.table(f"{len(shown)} recommendations from {body['receipts_read']} receipts ({body['since']} to"
                f" {body['until']}{more})", ["kind", "saving $", "requests", "what"],
                [[r["kind"], money(r["estimated_saving_usd"]), r.get("requests"), r["title"]] for r in shown])

    s.emit(body, human)


def register(app: typer.Typer) -> None:
    for command in (projection, anomalies, advice):
        app.command()(command)
