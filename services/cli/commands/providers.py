"""`tollway providers register FILE | list | show NAME | remove NAME`: the router's registry
(POST /register, GET /providers, GET /providers/{name}, DELETE /providers/{name})."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from services.cli.client import ApiError, UsageError
from services.cli.documents import read_document
from services.cli.exits import Exit
from services.cli.session import JsonFlag, session
from services.common import jsonio

app = typer.Typer(help="Register, list, show and remove providers (the router's registry).", no_args_is_help=True)


def read_registrations(path: Path) -> list[dict[str, Any]]:
    """One registration, a list of them, or {"providers": [...]}, as JSON or YAML."""
    data = read_document(path)
    if isinstance(data, dict) and isinstance(data.get("providers"), list):
        data = data["providers"]
    items = data if isinstance(data, list) else [data]
    if not items or not all(isinstance(i, dict) for i in items):
        raise UsageError(f"{path} holds no provider registration (an object, a list, or {{\"providers\": [...]}})")
    return items


@app.command()
def register(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="JSON or YAML: one, a list, or"
                                                                            " {providers: [...]}.")],
             json_out: JsonFlag = False) -> int:
    """Register (or update) every provider in FILE. Exit 1 if any is refused (the others still go)."""
    s = session(ctx, json_out)
    results = []
    for item in read_registrations(file):
        name = item.get("name", "?")
        try:
            answer = s.api.post("router", "/register", item, access="admin")
            results.append({"name": name, "ok": True, "created": answer.get("created"), "provider": answer})
            if not s.json:
                s.say(f"{'registered' if answer.get('created') else 'updated'} {name}")
        except ApiError as exc:
            results.append({"name": name, "ok": False, "status": exc.status, "error": exc.body})
            if not s.json:
                s.say(f"[red]refused[/red] {name}: {exc.message}")
    if s.json:
        s.line({"results": results})
    return Exit.OK if all(r["ok"] for r in results) else Exit.FAILED


def _price(p: dict[str, Any], side: str) -> str:
    per_mtok = p.get(f"{side}_per_mtok")
    return "-" if per_mtok is None else f"${per_mtok}"


@app.command("list")
def list_(ctx: typer.Context,
          model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
          feature: Annotated[str | None, typer.Option(help="Only providers with this feature.")] = None,
          all_: Annotated[bool, typer.Option("--all", help="Include removed (inactive) providers.")] = False,
          json_out: JsonFlag = False) -> None:
    """List the registered providers."""
    s = session(ctx, json_out)
    body = s.api.get("router", "/providers", params={"model": model, "feature": feature,
                                                     "include_inactive": "true" if all_ else None})
    s.emit(body, lambda: s.table(f"{body['count']} providers", [
        "name", "model", "format", "in $/Mtok", "out $/Mtok", "context", "features", "health", "active"], [
        [p["name"], p["model"], p.get("api_format"), _price(p, "input"), _price(p, "output"), p.get("context_window"),
         p.get("features"), (p.get("health") or {}).get("status"), p.get("active", True)] for p in body["providers"]]))


@app.command()
def show(ctx: typer.Context, name: str, json_out: JsonFlag = False) -> None:
    """Show one provider, active or removed."""
    s = session(ctx, json_out)
    body = s.api.get("router", f"/providers/{name}")
    s.emit(body, lambda: s.table(name, ["field", "value"], [[k, jsonio.dumps(v).decode() if isinstance(
        v, dict | list) else v] for k, v in body.items()]))


@app.command()
def remove(ctx: typer.Context, name: str, json_out: JsonFlag = False) -> None:
    """Remove a provider (a soft delete: registering it again brings it back)."""
    s = session(ctx, json_out)
    body = s.api.delete("router", f"/providers/{name}", access="admin")
    s.emit(body, lambda: s.say(f"removed {name}"))
