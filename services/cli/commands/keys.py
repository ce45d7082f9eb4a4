"""`tollway keys create | list | show | revoke`: virtual keys in the ledger (POST /keys, GET /keys,
GET /keys/{key_id}, DELETE /keys/{key_id}). The secret is shown once, at creation."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from services.cli.exits import Exit
from services.cli.session import JsonFlag, session

app = typer.Typer(help="Create, list and revoke virtual keys (who calls, which tenant, which limits).",
                  no_args_is_help=True)

COLUMNS = ["key id", "prefix", "name", "user", "team", "org", "models", "expires", "active"]


def _row(k: dict[str, Any]) -> list[Any]:
    return [k["key_id"], k.get("prefix"), k.get("name"), k.get("user"), k.get("team"), k.get("org"),
            k.get("models") or "any", k.get("expires_at"), k.get("active")]


Opt = Annotated[str | None, typer.Option()]


@app.command()
def create(ctx: typer.Context,
           name: Annotated[str | None, typer.Option(help="A label for people.")] = None,
           user: Annotated[str | None, typer.Option(help="The user it belongs to.")] = None,
           team: Annotated[str | None, typer.Option(help="The team (budgets and reads per team).")] = None,
           org: Annotated[str | None, typer.Option(help="The org: its tenant, when set.")] = None,
           model: Annotated[list[str] | None, typer.Option(help="A model it may use (repeat; default any).")] = None,
           expires_in: Annotated[int | None, typer.Option(help="Seconds until it expires.", min=1)] = None,
           json_out: JsonFlag = False) -> int:
    """Create a key; its secret is printed once and never again."""
    s = session(ctx, json_out)
    body: dict[str, Any] = {k: v for k, v in (("name", name), ("user", user), ("team", team), ("org", org),
                                              ("models", model or None), ("expires_in_s", expires_in))
                            if v is not None}
    key = s.api.post("ledger", "/keys", body, access="admin")

    def human() -> None:
        s.table(None, COLUMNS, [_row(key)])
        s.say(f"secret (shown once, keep it now): {key['secret']}")

    s.emit(key, human)
    return Exit.OK


@app.command("list")
def list_(ctx: typer.Context, user: Opt = None, team: Opt = None, org: Opt = None, json_out: JsonFlag = False) -> None:
    """The keys (never their secrets), optionally of one user, team or org."""
    s = session(ctx, json_out)
    body = s.api.get("ledger", "/keys", params={"user": user, "team": team, "org": org}, access="admin")
    s.emit(body, lambda: s.table(f"{len(body['keys'])} keys", COLUMNS, [_row(k) for k in body["keys"]]))


@app.command()
def show(ctx: typer.Context, key_id: str, json_out: JsonFlag = False) -> None:
    """One key, with its limits and metadata."""
    s = session(ctx, json_out)
    key = s.api.get("ledger", f"/keys/{key_id}", access="admin")
    s.emit(key, lambda: s.table(key_id, ["field", "value"], [[k, v] for k, v in key.items()]))


@app.command()
def revoke(ctx: typer.Context, key_id: str, json_out: JsonFlag = False) -> None:
    """Revoke a key: gateways refuse it within moments."""
    s = session(ctx, json_out)
    body = s.api.delete("ledger", f"/keys/{key_id}", access="admin")
    s.emit(body, lambda: s.say(f"revoked {key_id}"))
