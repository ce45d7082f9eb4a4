"""`tollway limits list | set | remove | usage | active | violations | reset`: rate limits.
Published limits live in the ledger (POST /limits, GET /limits, DELETE /limits/{name}); where a
caller stands, who is near a limit, who was refused and starting a caller's counters afresh are
the gateway's (GET /admin/limits/usage, /active, /violations; POST /admin/limits/reset)."""

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


KeyIdOpt = Annotated[str | None, typer.Option(help="A virtual key's id.")]
WhoOpt = Annotated[str | None, typer.Option()]


@app.command()
def usage(ctx: typer.Context, key_id: KeyIdOpt = None, user: WhoOpt = None, team: WhoOpt = None, org: WhoOpt = None,
          ip: WhoOpt = None, provider: WhoOpt = None, json_out: JsonFlag = False) -> None:
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


@app.command()
def active(ctx: typer.Context,
           near: Annotated[float, typer.Option(help="At least this share used (0: every bucket holding a count).",
                                               min=0, max=1)] = 0.8,
           most: Annotated[int, typer.Option("--max", help="At most this many buckets.", min=1, max=1000)] = 100,
           json_out: JsonFlag = False) -> None:
    """Who is near a limit now, fullest first: the limit, whose bucket, used of capacity, reset."""
    s = session(ctx, json_out)
    body = s.api.get("gateway", "/admin/limits/active", params={"near": near, "max": most}, access="admin")
    done = "" if body["complete"] else f", {body['scanned']} looked at (not all)"
    s.emit(body, lambda: s.table(
        f"{len(body['buckets'])} buckets at {body['near']:.0%} or more ({body['scope']}{done})",
        ["limit", "dimension", "whose", "unit", "used", "remaining", "capacity", "resets in s"],
        [[b["name"], b["dimension"], b["value"], b.get("unit"), b["used"], b["remaining"], b["capacity"],
          b.get("reset_s")] for b in body["buckets"]]))


@app.command()
def reset(ctx: typer.Context,
          name: Annotated[str | None, typer.Argument(help="The limit (default: every limit of the dimension).")
                          ] = None,
          key_id: KeyIdOpt = None, user: WhoOpt = None, team: WhoOpt = None, org: WhoOpt = None, ip: WhoOpt = None,
          provider: WhoOpt = None,
          global_: Annotated[bool, typer.Option("--global", help="The global counters.")] = False,
          json_out: JsonFlag = False) -> None:
    """Start a limit afresh for one caller (a refused caller is admitted at once); nobody else's
    counters change. Exit 4 when no such limit applies to that caller on the gateway."""
    s = session(ctx, json_out)
    who: dict[str, Any] = {k: v for k, v in zip(WHO, (key_id, user, team, org, ip, provider), strict=True) if v}
    if global_:
        who["global"] = True
    if len(who) != 1:
        raise UsageError("say whose counters to reset: exactly one of --key-id, --user, --team, --org, --ip,"
                         " --provider or --global")
    body = s.api.post("gateway", "/admin/limits/reset", {**({"name": name} if name else {}), **who},
                      access="admin")
    s.emit(body, lambda: s.say(f"reset {', '.join(x['name'] for x in body['limits'])} on {body['dimension']}"
                               f" {body['value']}: {body['cleared']} counters cleared ({body['scope']})"))
