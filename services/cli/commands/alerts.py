"""`tollway alerts list | ack ID | rules`: the ledger's alerts (GET /alerts, POST /alerts/{id}/ack,
GET /alerts/rules). A ledger without alerts says so (exit 1) rather than failing obscurely."""

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
    body = fetch(s.api, "/alerts", params={"state": state})
    items = _items(body, "alerts")
    keys = ["id", "rule", "severity", "state", "value", "threshold", "fired_at"]
    s.emit(body, lambda: s.table(f"{len(items)} alerts", keys, [[a.get(k) for k in keys] for a in items]))


@app.command()
def ack(ctx: typer.Context, alert_id: str, json_out: JsonFlag = False) -> None:
    """Acknowledge a firing alert (it stays until it resolves; no more reminders)."""
    s = session(ctx, json_out)
    body = fetch(s.api, f"/alerts/{alert_id}/ack", method="POST", access="admin", json_body={})
    s.emit(body, lambda: s.say(f"acknowledged {alert_id}"))


@app.command()
def rules(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """The alert rules: metric, threshold, window, scope, severity, channels."""
    s = session(ctx, json_out)
    body = fetch(s.api, "/alerts/rules", access="admin")
    items = _items(body, "rules")
    keys = ["id", "name", "metric", "operator", "threshold", "window", "severity"]
    s.emit(body, lambda: s.table(f"{len(items)} rules", keys, [[r.get(k) for k in keys] for r in items]))
