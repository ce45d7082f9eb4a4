"""`tollway budget set SCOPE ID AMOUNT | list | check | remove`: the ledger's budgets
(POST /budget, GET /budgets?scope=all, DELETE /budgets/{scope}/{scope_id})."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from services.cli.client import UsageError
from services.cli.exits import Exit
from services.cli.session import JsonFlag, Session, money, session

app = typer.Typer(help="Set, list and check spending caps (per run, key, team, org, ...).", no_args_is_help=True)

COLUMNS = ["scope", "id", "period", "budget $", "spent $", "held $", "remaining $", "used %", "level",
           "runs out (last hour's burn)"]


def _rows(budgets: list[dict[str, Any]]) -> list[list[Any]]:
    return [[b["scope"], b["scope_id"], b.get("period"), money(b["budget_usd"]), money(b["spent_usd"]),
             money(b.get("held_usd")), money(b.get("remaining_usd")), b.get("percent"), b.get("level"),
             ((b.get("runway") or {}).get("last_hour") or {}).get("runs_out_at")] for b in budgets]


def _all(s: Session) -> list[dict[str, Any]]:
    return s.api.get("ledger", "/budgets", params={"scope": "all"})


@app.command("set")
def set_(ctx: typer.Context,
         scope: Annotated[str, typer.Argument(help="run, key, user, team, org, provider, model or global.")],
         scope_id: Annotated[str, typer.Argument(metavar="ID", help="The run id, key id, user, team, ... name.")],
         amount: Annotated[str, typer.Argument(help="The cap in dollars, exact: 25 or 0.50.")],
         period: Annotated[str | None, typer.Option(
             help="once (never resets, the default), daily, weekly or monthly.")] = None,
         tz: Annotated[str | None, typer.Option(help="The period's time zone, e.g. Europe/Paris.")] = None,
         threshold: Annotated[list[int] | None, typer.Option(
             help="A percentage that raises an event (repeat; default 75, 90, 100).")] = None,
         json_out: JsonFlag = False) -> int:
    """Set (or change) a budget: requests that would go past it are refused with 402."""
    s = session(ctx, json_out)
    try:
        cap = Decimal(amount)
    except InvalidOperation:
        raise UsageError(f"AMOUNT must be dollars such as 25 or 0.50, not {amount!r}") from None
    body: dict[str, Any] = {"scope": scope, "scope_id": scope_id, "budget_usd": format(cap, "f")}
    body.update({k: v for k, v in (("period", period), ("tz", tz), ("thresholds", threshold)) if v})
    state = s.api.post("ledger", "/budget", body, access="admin")
    s.emit(state, lambda: s.say(f"{scope} {scope_id}: budget {money(state['budget_usd'])}, spent"
                                f" {money(state['spent_usd'])} ({state.get('percent')} %, level {state.get('level')})"))
    return Exit.OK


@app.command("list")
def list_(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Every budget you may see, with what is spent and held against it."""
    s = session(ctx, json_out)
    budgets = _all(s)
    s.emit(budgets, lambda: s.table(f"{len(budgets)} budgets", COLUMNS, _rows(budgets)))


@app.command()
def check(ctx: typer.Context,
          at: Annotated[float, typer.Option(help="Report budgets used at least this many percent.")] = 75.0,
          json_out: JsonFlag = False) -> int:
    """Budgets at or over --at percent; exit 6 if there is any (for scripts and cron)."""
    s = session(ctx, json_out)
    near = [b for b in _all(s) if Decimal(str(b.get("percent") or 0)) >= Decimal(str(at))]
    s.emit({"at_percent": at, "budgets": near}, lambda: s.table(
        f"{len(near)} budgets at or over {at:g} %", COLUMNS, _rows(near)) if near else s.say(
        f"no budget is at {at:g} % or more"))
    return Exit.CHECK if near else Exit.OK


@app.command()
def remove(ctx: typer.Context, scope: str, scope_id: Annotated[str, typer.Argument(metavar="ID")],
           json_out: JsonFlag = False) -> None:
    """Remove a budget (its receipts stay)."""
    s = session(ctx, json_out)
    body = s.api.delete("ledger", f"/budgets/{scope}/{scope_id}", access="admin")
    s.emit(body, lambda: s.say(f"removed the budget of {scope} {scope_id}"))
