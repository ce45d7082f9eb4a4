"""`tollway cost summary [--since 24h] [--by provider|model|key|team|org|run|agent]` and `cost chart`.

Grouped totals come from the ledger's GET /analytics/breakdown when it has one; otherwise from its
rolling windows, GET /metrics?window=minute|hour|day (per provider only; --since rounded up to the
window: the last hour, 24 hours or 7 days). The chart plots a window's buckets (plotext)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import typer

from services.cli.client import CliError, UsageError
from services.cli.session import JsonFlag, Session, money, session

app = typer.Typer(help="What was spent: totals by provider, model, team, ...; and a chart over time.",
                  no_args_is_help=True)

UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
WINDOWS = (("minute", 3600), ("hour", 86400), ("day", 7 * 86400))  # the ledger's windows and their spans


def parse_since(text: str) -> timedelta:
    """30m, 24h, 7d, 2w."""
    found = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if not found or int(found[1]) == 0:
        raise UsageError(f"--since is a duration such as 30m, 24h, 7d or 2w, not {text!r}")
    return timedelta(seconds=int(found[1]) * UNITS[found[2]])


def window_for(since: timedelta) -> str:
    return next((name for name, span in WINDOWS if since.total_seconds() <= span), "day")


class By(StrEnum):
    provider = "provider"
    model = "model"
    key = "key"
    team = "team"
    org = "org"
    run = "run"
    agent = "agent"
    user = "user"


GROUP_COLUMNS = ["cost $", "requests", "input tokens", "output tokens", "cache hits", "saved $"]


def _group_row(name: str, t: dict[str, Any]) -> list[Any]:
    return [name, money(t.get("cost_usd")), t.get("requests"), t.get("input_tokens"), t.get("output_tokens"),
            t.get("cache_hits"), money(t.get("saved_usd"))]


@app.command()
def summary(ctx: typer.Context,
            since: Annotated[str, typer.Option(help="How far back: 30m, 24h, 7d, 2w.")] = "24h",
            by: Annotated[By, typer.Option(help="Group by.")] = By.provider,
            json_out: JsonFlag = False) -> None:
    """Spend, requests and tokens over a period, grouped."""
    s = session(ctx, json_out)
    span = parse_since(since)
    start = datetime.now(UTC) - span
    breakdown = s.api.get("ledger", "/analytics/breakdown", missing_ok=True,
                          params={"since": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "group_by": by.value,
                                  "latency": "false"})  # counters only: the table shows no latency
    if breakdown is not None:
        _print_breakdown(s, breakdown, by.value, since)
        return
    if by is not By.provider:
        raise CliError(f"grouping by {by.value} needs the ledger's /analytics/breakdown, which the ledger at"
                       f" {s.api.url('ledger')} does not have; --by provider works with any ledger")
    window = window_for(span)
    body = s.api.get("ledger", "/metrics", params={"window": window})
    doc = {"source": f"/metrics?window={window}", "window": window, "since": since,
           "totals": body["totals"], "groups": [{"provider": p, **t} for p, t in body["by_provider"].items()]}

    def human() -> None:
        covers = {"minute": "the last hour", "hour": "the last 24 hours", "day": "the last 7 days"}[window]
        s.table(f"spend over {covers} by provider", ["provider", *GROUP_COLUMNS],
                [_group_row(p, t) for p, t in body["by_provider"].items()] + [_group_row("total", body["totals"])])

    s.emit(doc, human)


def _print_breakdown(s: Session, body: Any, by: str, since: str) -> None:
    groups = body.get("groups", body.get("rows", [])) if isinstance(body, dict) else body

    def name(g: dict[str, Any]) -> str:
        key = g.get("group") or g.get("key")
        if isinstance(key, dict):
            return ", ".join(str(v) for v in key.values())
        return str(key if key is not None else g.get(by))

    total = {k: sum((Decimal(str(g.get(k) or 0)) for g in groups), Decimal(0)) for k in (
        "cost_usd", "requests", "input_tokens", "output_tokens", "cache_hits", "saved_usd")}
    s.emit(body, lambda: s.table(f"spend over the last {since} by {by}", [by, *GROUP_COLUMNS],
                                 [_group_row(name(g), g) for g in groups] + [_group_row("total", total)]))


class Metric(StrEnum):
    cost = "cost"
    requests = "requests"
    tokens = "tokens"


class Window(StrEnum):
    minute = "minute"
    hour = "hour"
    day = "day"


def series(body: dict[str, Any], metric: Metric) -> list[tuple[str, Decimal]]:
    def value(b: dict[str, Any]) -> Decimal:
        if metric is Metric.cost:
            return Decimal(str(b["cost_usd"]))
        if metric is Metric.requests:
            return Decimal(b["requests"])
        return Decimal(b["input_tokens"] + b["output_tokens"])

    return [(b["start"], value(b)) for b in body["buckets"]]


@app.command()
def chart(ctx: typer.Context,
          window: Annotated[Window, typer.Option(help="minute: the last hour; hour: 24 h; day: 7 days.")]
          = Window.hour,
          metric: Annotated[Metric, typer.Option(help="What to plot.")] = Metric.cost,
          json_out: JsonFlag = False) -> None:
    """A bar chart of spend (or requests, tokens) per bucket of the ledger's window."""
    s = session(ctx, json_out)
    body = s.api.get("ledger", "/metrics", params={"window": window.value})
    points = series(body, metric)
    doc = {"window": window.value, "metric": metric.value, "points": [{"start": t, "value": v} for t, v in points]}

    def human() -> None:
        import plotext as plt

        plt.clear_figure()
        labels = [t[11:16] if window is not Window.day else t[5:10] for t, _ in points]
        plt.bar(labels, [float(v) for _, v in points])
        total = sum((v for _, v in points), Decimal(0))
        unit = {"cost": "$", "requests": "requests", "tokens": "tokens"}[metric.value]
        plt.title(f"{metric.value} per {window.value} ({unit}), total "
                  f"{money(total) if metric is Metric.cost else total}")
        plt.plotsize(min(s.console.width, 120), 20)
        plt.theme("clear")
        s.console.print(plt.build(), markup=False, highlight=False)

    s.emit(doc, human)
