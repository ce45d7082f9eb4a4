"""`tollway limits list | set | remove | usage | violations`: rate limits. Published limits live in
the ledger (POST /limits, GET /limits, DELETE /limits/{name}); where a caller stands and who was
refused are the gateway's (GET /admin/limits/usage, GET /admin/limits/violations)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from services.cli.client import UsageError
from services.cli.session import JsonFlag, session

app = typer.Typer(help="Rate limits: publish, remove, and see usage and refusals.", no_args_is_help=True)

SPEC_COLUMNS = ["name", "dimension", "match", "algorithm", "limit", "unit", "window s", "burst"]


def _spec_row(spec: dict[str, Any]) -> list[Any]:
    return [spec["name"], spec["dimension"], spec.get("match"), spec.get("algorithm"), spec["limit"],
            spec.get("unit"), spec.get("window_s"), spec.get("burst")]


class Dimension(StrEnum):
    key = "key"
    user = "user"
    team = "team"
    org = "org"
    ip = "ip"
    provider = "provider"
    global_ = "global"


@app.command("list")
def list_(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """The limits published to every gateway (custom quotas included)."""
    s = session(ctx, json_out)
    body = s.api.get("ledger", "/limits", access="admin")
    s.emit(body, lambda: s.table(f"{len(body['limits'])} limits", SPEC_COLUMNS, [_spec_row(x) for x in body["limits"]]))


@app.command("set")
def set_(ctx: typer.Context,
         name: Annotated[str, typer.Argument(help="The limit's name (a custom quota reuses a general one's).")],
         dimension: Annotated[Dimension, typer.Argument(help="Whom it counts per.")],
         limit: Annotated[int, typer.Argument(help="How many requests (or tokens) per window.", min=1)],
         window: Annotated[int, typer.Option(help="Window in seconds.", min=1)] = 60,
         unit: Annotated[str, typer.Option(help="requests or tokens.")] = "requests",
         algorithm: Annotated[str | None, typer.Option(
             help="token_bucket, sliding_log, sliding_window or fixed_window.")] = None,
         burst: Annotated[int | None, typer.Option(help="A token bucket's capacity.", min=1)] = None,
         match: Annotated[str | None, typer.Option(help="Only for this one user, team, key, ...")] = None,
         expires_at: Annotated[str | None, typer.Option(help="Ends then (YYYY-MM-DDTHH:MM:SSZ).")] = None,
         json_out: JsonFlag = False) -> None:
    """Publish a limit (create or replace) to every gateway."""
    s = session(ctx, json_out)
    spec: dict[str, Any] = {"name": name, "dimension": dimension.value, "limit": limit, "window_s": window,
                            "unit": unit}
    spec.update({k: v for k, v in (("algorithm", algorithm), ("burst", burst), ("match", match),
                                   ("expires_at", expires_at)) if v is not None})
    body = s.api.post("ledger", "/limits", spec, access="admin")
    s.emit(body, lambda: s.table("limit set", SPEC_COLUMNS, [_spec_row(body)]))


@app.command()
def remove(ctx: typer.Context, name: str, dimension: Dimension,
           match: Annotated[str | None, typer.Option(help="The custom quota's value.")] = None,
           json_out: JsonFlag = False) -> None:
    """Remove a published limit (or one custom quota with --match)."""
    s = session(ctx, json_out)
    body = s.api.delete("ledger", f"/limits/{name}", params={"dimension": dimension.value, "match": match},
                        access="admin")
    s.emit(body, lambda: s.say(f"removed limit {name} on {dimension.value}" + (f" for {match}" if match else "")))


WHO = ("key_id", "user", "team", "org", "ip", "provider")


@app.command()
def usage(ctx: typer.Context,
          key_id: Annotated[str | None, typer.Option(help="A virtual key's id.")] = None,
          user: Annotated[str | None, typer.Option()] = None, team: Annotated[str | None, typer.Option()] = None,
          org: Annotated[str | None, typer.Option()] = None, ip: Annotated[str | None, typer.Option()] = None,
          provider: Annotated[str | None, typer.Option()] = None, json_out: JsonFlag = False) -> None:
    """Where one caller stands in every limit that applies to it (the gateway's counters)."""
    s = session(ctx, json_out)
    who = dict(zip(WHO, (key_id, user, team, org, ip, provider), strict=True))
    if not any(who.values()):
        raise UsageError("say whose usage: --key-id, --user, --team, --org, --ip or --provider")
    body = s.api.get("gateway", "/admin/limits/usage", params=who, access="admin")
    s.emit(body, lambda: s.table(f"usage of {body['subject']}", ["limit", "dimension", "unit", "used", "remaining",
                                                                 "capacity", "resets in s"],
                                 [[x["name"], x["dimension"], x.get("unit"), x["used"], x["remaining"],
                                   x["capacity"], x.get("reset_s")] for x in body["limits"]]))


@app.command()
def violations(ctx: typer.Context,
               day: Annotated[str | None, typer.Option(help="A UTC day, YYYY-MM-DD (default today).")] = None,
               most: Annotated[int, typer.Option("--max", help="Newest refusals to list.", min=1, max=1000)] = 20,
               json_out: JsonFlag = False) -> None:
    """Refusals per limit on a day, and the newest refusals: who, which limit, asked vs left."""
    s = session(ctx, json_out)
    body = s.api.get("gateway", "/admin/limits/violations", params={"day": day, "max": most}, access="admin")

    def human() -> None:
        s.table(f"{body['total']} refusals on {body['day']} ({body.get('scope')})", ["limit", "refusals"],
                [[k, v] for k, v in sorted(body["violations"].items())])
        if body["records"]:
            keys = sorted({k for r in body["records"] for k in r})
            s.table("newest refusals", keys, [[r.get(k) for k in keys] for r in body["records"]])

    s.emit(body, human)
