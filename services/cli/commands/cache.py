"""`tollway cache stats | clear`: the gateway's response cache (GET and DELETE /admin/cache)."""

from __future__ import annotations

from typing import Annotated

import typer

from services.cli.client import UsageError
from services.cli.session import JsonFlag, session

app = typer.Typer(help="The gateway's response cache: statistics, and dropping entries.", no_args_is_help=True)


@app.command()
def stats(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Entries, bytes, hits by kind, misses, evictions."""
    s = session(ctx, json_out)
    body = s.api.get("gateway", "/admin/cache", access="admin")
    s.emit(body, lambda: s.table("response cache", ["figure", "value"], [[k, v] for k, v in body.items()]))


@app.command()
def clear(ctx: typer.Context,
          key: Annotated[str | None, typer.Option(help="One cache key.")] = None,
          tenant: Annotated[str | None, typer.Option(help="Every entry of one tenant.")] = None,
          model: Annotated[str | None, typer.Option(help="Every entry of one model.")] = None,
          all_: Annotated[bool, typer.Option("--all", help="Everything.")] = False,
          json_out: JsonFlag = False) -> None:
    """Drop cached answers: by --key, --tenant, --model, or --all."""
    s = session(ctx, json_out)
    if not (key or tenant or model or all_):
        raise UsageError("say what to drop: --key, --tenant, --model or --all")
    body = s.api.delete("gateway", "/admin/cache", access="admin",
                        params={"key": key, "tenant": tenant, "model": model, "all": "true" if all_ else None})
    s.emit(body, lambda: s.say(f"dropped {body['dropped']} cached answers"))
