"""`tollway alerts list | ack ID | rules`: the ledger's alerts (GET /alerts?state=, POST
/alerts/{id}/ack, GET /alerts/rules; admin key; docs/alerts.md). A ledger older than alerting says
so (exit 1)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from services.cli.client import Api, CliError
from services.cli.session import JsonFlag, session

app = typer.Typer(help="Alerts: what is firing, acknowledging it, and the rules.", no_args_is_help=True)


def fetch(api: Api, path: str, **kw: Any) -> Any:
    body = api.request(kw.pop("method", "GET"), "ledger", path, missing_ok=True, **kw)
    if body is None:
        raise CliError(f"the ledger at {api.url('ledger')} has no alerts API ({path} is missing): it is older"
                       " than alerting")
    return body


def _items(body: Any, name: str) -> list[dict[str, Any]]:
    return body if isinstance(body, list) else body.get(name, [])


@app.command("list")
def list_(ctx: typer.Context,
          state: Annotated[str | None, typer.Option(help="Only firing, acknowledged or resolved.")] = None,
          json_out: JsonFlag = False) -> None:
    """Alerts, newest first, with their state and severity."""
    s = session(ctx, json_out)
    body = fetch(s.api, "/alerts", params={"state": state}, access="admin")
    items = _items(body, "alerts")
    keys = ["alert_id", "rule_id", "severity", "state", "value", "fired_at", "summary"]
    s.emit(body, lambda: s.table(f"{len(items)} alerts", keys, [[a.get(k) for k in keys] for a in items]))


@app.command()
def ack(ctx: typer.Context, alert_id: str,
        note: Annotated[str | None, typer.Option(help="Why, or who is on it (kept in its history).")] = None,
        json_out: JsonFlag = False) -> None:
    """Acknowledge a firing alert: it stays open until it resolves."""
    s = session(ctx, json_out)
    body = fetch(s.api, f"/alerts/{alert_id}/ack", method="POST", access="admin",
                 json_body={"note": note} if note else None)
    s.emit(body, lambda: s.say(f"acknowledged {alert_id}"))


@app.command()
def rules(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """The alert rules: metric, threshold, window, scope, severity, channels."""
    s = session(ctx, json_out)
    body = fetch(s.api, "/alerts/rules", access="admin")
    items = _items(body, "rules")
    keys = ["rule_id", "name", "metric", "operator", "threshold", "window", "filters", "severity", "channels",
            "enabled"]
    s.emit(body, lambda: s.table(f"{len(items)} rules", keys, [[_flat(r.get(k)) for k in keys] for r in items]))


def _flat(value: Any) -> Any:
    return ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
