"""`tollway monitor [--watch]`: the swarm at a glance. Rates over the last complete minute from the
ledger's GET /metrics?window=minute, its error rate and P95 from GET /analytics/series (on a ledger
without it: from the router's observed outcomes); per provider, P95 and error rate from the router's
observed outcomes (GET /outcomes/stats); breaker states from the gateway (GET /admin/breakers); health from
the registry (GET /providers); budgets at 75 % or more (GET /budgets?scope=all); firing alerts
(GET /alerts?state=firing, when the ledger has alerts). A service that does not answer is named in
the view and the rest is still shown."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from services.cli.client import Api, ApiError, ServiceDown
from services.cli.exits import Exit
from services.cli.session import JsonFlag, money, session

NEAR_PERCENT = Decimal(75)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Read")(monitor)


def _try(api: Api, problems: list[str], service: str, path: str, **kw: Any) -> Any:
    try:
        return api.get(service, path, **kw)
    except (ServiceDown, ApiError) as exc:
        problems.append(exc.message)
        return None


def rates(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """Over the last complete minute (the window's last bucket is the current, partial one)."""
    if not metrics or len(metrics["buckets"]) < 2:
        return {}
    b = metrics["buckets"][-2]
    return {"minute": b["start"], "requests_per_s": round(b["requests"] / 60, 3), "usd_per_min": b["cost_usd"],
            "tokens_per_min": b["input_tokens"] + b["output_tokens"], "requests": b["requests"]}


def last_minute(api: Api, metrics: dict[str, Any] | None) -> dict[str, Any] | None:
    """Error rate and P95 of the last complete minute from the ledger's GET /analytics/series (None:
    a ledger without it)."""
    if not metrics or len(metrics["buckets"]) < 2:
        return None
    start, end = metrics["buckets"][-2]["start"], metrics["buckets"][-1]["start"]
    try:
        body = api.get("ledger", "/analytics/series", params={"grain": "minute", "since": start, "until": end},
                       missing_ok=True)
    except (ServiceDown, ApiError):
        return None
    if body is None:
        return None
    point = next((p for p in body.get("points", []) if p.get("start") == start), None)
    if point is None:
        return {"error_rate": None, "p95_ms": None, "quality_source": "ledger"}
    return {"error_rate": point.get("error_rate"), "p95_ms": (point.get("latency_ms") or {}).get("p95"),
            "quality_source": "ledger"}


def observed_quality(providers: list[dict[str, Any]]) -> dict[str, Any]:
    """Error rate and the worst P95 from the router's observed outcomes (its window, not a minute)."""
    samples = sum(p["samples"] for p in providers if p["error_rate"] is not None)
    errors = sum(p["samples"] * p["error_rate"] for p in providers if p["error_rate"] is not None)
    p95s = [p["p95_ms"] for p in providers if p["p95_ms"] is not None]
    return {"error_rate": round(errors / samples, 6) if samples else None, "p95_ms": max(p95s) if p95s else None,
            "quality_source": "router"}


def snapshot(api: Api) -> dict[str, Any]:
    problems: list[str] = []
    metrics = _try(api, problems, "ledger", "/metrics", params={"window": "minute"})
    outcomes = _try(api, problems, "router", "/outcomes/stats")
    registry = _try(api, problems, "router", "/providers")
    breakers = _try(api, problems, "gateway", "/admin/breakers", access="admin")
    budgets = _try(api, problems, "ledger", "/budgets", params={"scope": "all"})
    try:
        alerts = api.get("ledger", "/alerts", params={"state": "firing"}, missing_ok=True, access="admin")
    except (ServiceDown, ApiError):
        alerts = None  # the ledger's failure is already named above
    observed = (outcomes or {}).get("providers", {})
    states = (breakers or {}).get("breakers", {})
    names = sorted({p["name"] for p in (registry or {}).get("providers", [])} | set(observed) | set(states))
    health = {p["name"]: (p.get("health") or {}).get("status") for p in (registry or {}).get("providers", [])}
    spend = (metrics or {}).get("by_provider", {})
    providers = []
    for name in names:
        o = observed.get(name, {})
        providers.append({"provider": name, "health": health.get(name), "breaker": states.get(name, {}).get("state"),
                          "p95_ms": o.get("p95_ms"), "samples": o.get("samples", 0),
                          "error_rate": None if "success_rate" not in o else round(1 - o["success_rate"], 6),
                          "cost_usd_last_hour": (spend.get(name) or {}).get("cost_usd")})
    firing = alerts if isinstance(alerts, list) else (alerts or {}).get("alerts", [])
    return {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **rates(metrics),
            **(last_minute(api, metrics) or observed_quality(providers)),
            "providers": providers,
            "budgets_near_cap": [b for b in budgets or [] if Decimal(str(b.get("percent") or 0)) >= NEAR_PERCENT],
            "alerts_firing": firing if alerts is not None else None,
            "problems": problems}


def view(snap: dict[str, Any]) -> Group:
    top = Table.grid(padding=(0, 3))
    for _ in range(5):
        top.add_column()
    err, p95 = snap["error_rate"], snap["p95_ms"]
    top.add_row(f"[bold]{snap.get('requests_per_s', '-')}[/bold] req/s", f"[bold]{money(snap.get('usd_per_min'))}"
                f"[/bold]/min", f"[bold]{snap.get('tokens_per_min', '-')}[/bold] tokens/min",
                f"errors [bold]{'-' if err is None else f'{float(err):.1%}'}[/bold]",
                f"P95 [bold]{'-' if p95 is None else f'{p95:.0f} ms'}[/bold]")
    providers = Table(title="providers", title_justify="left", expand=True)
    for col in ("provider", "health", "breaker", "P95 ms", "errors", "samples", "spent, last hour"):
        providers.add_column(col)
    for p in snap["providers"]:
        breaker = p["breaker"] or "-"
        providers.add_row(escape(p["provider"]), p["health"] or "-",
                          f"[red]{breaker}[/red]" if breaker not in ("closed", "-") else breaker,
                          "-" if p["p95_ms"] is None else f"{p['p95_ms']:.0f}",
                          "-" if p["error_rate"] is None else f"{p['error_rate']:.1%}", str(p["samples"]),
                          money(p["cost_usd_last_hour"]))
    parts: list[Any] = [Panel(top, title=f"tollway, minute of {snap.get('minute', '-')}"), providers]
    if snap["budgets_near_cap"]:
        budgets = Table(title="budgets near their cap", title_justify="left", expand=True)
        for col in ("scope", "id", "spent", "budget", "used %", "level"):
            budgets.add_column(col)
        for b in snap["budgets_near_cap"]:
            budgets.add_row(b["scope"], escape(b["scope_id"]), money(b["spent_usd"]), money(b["budget_usd"]),
                            str(b.get("percent")), str(b.get("level")))
        parts.append(budgets)
    if snap["alerts_firing"]:
        parts.append(Panel("\n".join(escape(f"{a.get('severity')} {a.get('alert_id')}: {a.get('summary')},"
                                            f" now {a.get('value')}")
                                     for a in snap["alerts_firing"]), title="alerts firing", border_style="red"))
    for problem in snap["problems"]:
        parts.append(f"[red]{escape(problem)}[/red]")
    return Group(*parts)


def monitor(ctx: typer.Context,
            watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh until Ctrl-C.")] = False,
            interval: Annotated[float, typer.Option(help="--watch: seconds between refreshes.", min=0.5)] = 2.0,
            json_out: JsonFlag = False) -> int:
    """Live view: requests/s, $/min, tokens/min, error rate, P95, providers, budgets, alerts."""
    s = session(ctx, json_out)
    snap = snapshot(s.api)
    if s.json:
        s.line(snap)
        while watch:
            time.sleep(interval)
            s.line(snapshot(s.api))
    elif watch:
        with Live(view(snap), console=s.console, refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(interval)
                live.update(view(snapshot(s.api)))
    else:
        s.console.print(view(snap))
    return Exit.DOWN if any("does not answer" in p for p in snap["problems"]) else Exit.OK
